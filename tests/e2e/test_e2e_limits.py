"""AWS size limits at the service edge (localrun/limits.py): exactly at the limit accepted, one byte over
refused with AWS's error; and the pipeline's own largest messages stay within them.

Without `LimitEnforcer` (remove `*self.limits.patches()` in emulator.py, or the stand-in's
`check_invoke_endpoint_body` call) every "one over" below is accepted by moto, except SQS, which moto
itself enforces (that test guards moto's behaviour across upgrades).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from local_cloud_helpers import deployed, dev_routes_only, route, upload

from localrun.emulator import LocalCloud
from localrun.limits import LIMITS, sns_message_size


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed(dev_routes_only("uploads", "batch")) as c:  # the dev routes these tests use
        yield c


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_s3_key_of_1024_bytes_is_stored_and_1025_is_refused(cloud: LocalCloud) -> None:
    bucket, prefix = cloud.outputs["bucket_name"], route(cloud, "uploads")["prefix"]
    stem = prefix + "é" * 200  # two UTF-8 bytes each: the limit is bytes, not characters
    at_limit = stem + "k" * (1024 - len(stem.encode("utf-8")))
    assert len(at_limit.encode("utf-8")) == 1024
    cloud.s3.put_object(Bucket=bucket, Key=at_limit, Body=b"great")
    assert cloud.s3.head_object(Bucket=bucket, Key=at_limit)["ContentLength"] == 5
    for call in (
        lambda: cloud.s3.put_object(Bucket=bucket, Key=at_limit + "k", Body=b"great"),
        lambda: cloud.s3.create_multipart_upload(Bucket=bucket, Key=at_limit + "k"),
        lambda: cloud.s3.copy_object(
            Bucket=bucket, Key=at_limit + "k", CopySource={"Bucket": bucket, "Key": at_limit}
        ),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo) == ("KeyTooLongError", 400)
        assert excinfo.value.response["Error"]["Message"] == "Your key is too long"
    cloud.s3.delete_object(Bucket=bucket, Key=at_limit)  # its notification is not run: nothing else sees it


def test_lambda_async_payload_at_limit_is_queued_and_one_byte_over_is_refused(cloud: LocalCloud) -> None:
    limit = LIMITS["lambda_async_payload"].max_bytes
    lam = cloud.client("lambda")
    name = lam.list_functions()["Functions"][0]["FunctionName"]
    filler = limit - len(json.dumps({"pad": ""}))
    at_limit = json.dumps({"pad": "x" * filler})
    assert len(at_limit) == limit
    queued = len(cloud.runtime.queue)
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=at_limit)["StatusCode"] == 202
    del cloud.runtime.queue[queued:]  # accepted is all this test needs; the junk event is not run
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"pad": "x" * (filler + 1)}))
    assert _error(excinfo) == ("RequestEntityTooLargeException", 413)
    assert f"(limit {limit} bytes)" in excinfo.value.response["Error"]["Message"]
    assert len(cloud.runtime.queue) == queued


def _topic(cloud: LocalCloud) -> tuple[object, str]:
    sns = cloud.client("sns")
    return sns, sns.create_topic(Name="limits-probe")["TopicArn"]  # no subscribers: the pipeline sees nothing


def test_sns_publish_counts_utf8_bytes_and_attributes(cloud: LocalCloud) -> None:
    sns, topic = _topic(cloud)
    limit = LIMITS["sns_message"].max_bytes
    attributes = {"status": {"DataType": "String", "StringValue": "COMPLETED"}}
    attribute_bytes = len("status") + len("String") + len("COMPLETED")
    sns.publish(TopicArn=topic, Message="a" * (limit - attribute_bytes), MessageAttributes=attributes)
    sns.publish(TopicArn=topic, Message="a" * limit)
    for message, attrs in (
        ("a" * (limit - attribute_bytes + 1), attributes),  # moto counts the body only
        ("é" * (limit // 2) + "a", {}),  # moto counts characters, not bytes
    ):
        with pytest.raises(ClientError) as excinfo:
            sns.publish(TopicArn=topic, Message=message, MessageAttributes=attrs)
        assert _error(excinfo) == ("InvalidParameter", 400)
        assert "Message too long" in excinfo.value.response["Error"]["Message"]


def test_sns_publish_batch_total_at_limit_is_published_and_one_byte_over_is_refused(
    cloud: LocalCloud,
) -> None:
    sns, topic = _topic(cloud)
    limit = LIMITS["sns_batch"].max_bytes
    entries = [{"Id": str(i), "Message": "a" * (limit // 10)} for i in range(10)]
    entries[0]["Message"] += "a" * (limit - 10 * (limit // 10))
    assert sum(len(e["Message"]) for e in entries) == limit
    assert len(sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)["Successful"]) == 10
    entries[0]["Message"] += "a"
    with pytest.raises(ClientError) as excinfo:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert _error(excinfo) == ("BatchRequestTooLong", 400)


def test_sqs_message_at_the_queue_maximum_is_sent_and_one_byte_over_is_refused_by_moto(
    cloud: LocalCloud,
) -> None:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="limits-probe")["QueueUrl"]
    maximum = int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"][
            "MaximumMessageSize"
        ]
    )
    assert maximum == LIMITS["sqs_message"].max_bytes
    sqs.send_message(QueueUrl=url, MessageBody="a" * maximum)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="a" * (maximum + 1))
    assert _error(excinfo) == ("InvalidParameterValue", 400)
    assert f"shorter than {maximum} bytes" in excinfo.value.response["Error"]["Message"]


def test_serverless_endpoint_takes_a_4_mb_body_and_refuses_one_byte_more(cloud: LocalCloud) -> None:
    runtime = cloud.client("sagemaker-runtime")
    name = cloud.outputs["models"]["text-classifier"]["endpoint_name"]  # a model that takes JSON text
    limit = LIMITS["invoke_endpoint_serverless"].max_bytes
    filler = limit - len(json.dumps({"inputs": ""}))
    at_limit = json.dumps({"inputs": "great " * (filler // 6) + "x" * (filler % 6)})
    assert len(at_limit) == limit
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=at_limit)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as excinfo:
        runtime.invoke_endpoint(EndpointName=name, ContentType="application/json", Body=at_limit + " ")
    assert _error(excinfo) == ("ValidationError", 400)
    assert excinfo.value.response["Error"]["Message"].endswith("has oversize body.")


def test_pipeline_largest_messages_stay_within_the_limits(cloud: LocalCloud) -> None:
    """Ten objects with near-limit keys on the SQS route: one batch of ten outcomes, nothing refused."""
    cloud.limits.refused.clear()
    prefix = route(cloud, "batch")["prefix"]
    names = [f"{i}-" + "n" * (1024 - len(prefix) - 2 - len(".txt")) + ".txt" for i in range(10)]
    uris = [upload(cloud, "batch", name, "great " * 2000) for name in names]
    cloud.run_until_idle()
    results = cloud.results()
    assert all(uri in results for uri in uris)
    assert cloud.limits.refused == {}
    published = cloud.published(cloud.outputs["notifications_topic_arn"])
    assert len(published) >= 10
    assert max(sns_message_size(m, {}) for m in published) > 1024  # the near-limit keys are in them
