"""The benchmark fakes answer like the AWS APIs the handler calls, and count every call by operation."""

import json

import pytest

from benchmarks.fakes import FakeAws, Latencies

NO_LATENCY = Latencies(0, 0, 0, 0, 0)
NO_ASYNC_LATENCY = Latencies(0, 0, 0, 0, 0, 0)
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:notifications"


@pytest.fixture(scope="module")
def shared_fake() -> FakeAws:
    return FakeAws(NO_LATENCY)  # one set of boto3 clients for the module: creating them is the slow part


@pytest.fixture
def fake(shared_fake: FakeAws) -> FakeAws:
    shared_fake.reset_counters()
    return shared_fake


def test_fakes_count_each_call_by_operation(fake: FakeAws) -> None:
    fake.put_object("bucket", "a.txt", b"text")
    clients = fake.clients()

    clients.s3.get_object(Bucket="bucket", Key="a.txt")
    clients.s3.get_object(Bucket="bucket", Key="a.txt")
    clients.sagemaker_runtime.invoke_endpoint(EndpointName="model", Body=b'{"inputs": "x"}')
    clients.dynamodb.put_item(TableName="results", Item={"pk": {"S": "s3://bucket/a.txt"}})
    clients.sns.publish_batch(TopicArn=TOPIC_ARN, PublishBatchRequestEntries=[{"Id": "0", "Message": "m"}])

    assert dict(fake.calls) == {"GetObject": 2, "InvokeEndpoint": 1, "PutItem": 1, "PublishBatch": 1}


def test_fake_get_object_returns_the_stored_body_and_its_metadata(fake: FakeAws) -> None:
    stored = fake.put_object("bucket", "a.txt", b"some text")

    response = fake.clients().s3.get_object(Bucket="bucket", Key="a.txt", VersionId=stored.version_id)

    assert (response["Body"].read(), response["ContentLength"], response["ETag"], response["VersionId"]) == (
        b"some text",
        9,
        stored.etag,
        stored.version_id,
    )


def test_fake_get_object_reports_a_missing_key_as_no_such_key(fake: FakeAws) -> None:
    s3 = fake.clients().s3

    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="bucket", Key="never-written.txt")


def test_fake_invoke_endpoint_answers_one_prediction_per_listed_input(fake: FakeAws) -> None:
    body = json.dumps({"inputs": ["one", "two", "three"]})

    response = fake.clients().sagemaker_runtime.invoke_endpoint(EndpointName="model", Body=body)

    predictions = json.loads(response["Body"].read())
    assert [sorted(p) for p in predictions] == [["label", "score"]] * 3
    assert fake.invoke_inputs == [3]


def test_fake_publish_batch_refuses_more_than_ten_entries(fake: FakeAws) -> None:
    entries = [{"Id": str(index), "Message": "m"} for index in range(11)]
    sns = fake.clients().sns

    with pytest.raises(sns.exceptions.TooManyEntriesInBatchRequestException):
        sns.publish_batch(TopicArn=TOPIC_ARN, PublishBatchRequestEntries=entries)


def test_critical_path_bound_is_one_call_of_each_kind_with_every_input_in_the_invoke() -> None:
    latencies = Latencies(
        get_object=0.03,
        invoke_endpoint=0.08,
        invoke_endpoint_per_input=0.002,
        put_item=0.01,
        publish_batch=0.015,
    )

    assert latencies.critical_path(10) == pytest.approx(0.03 + 0.08 + 0.02 + 0.01 + 0.015)


def test_async_submit_bound_is_put_invoke_async_publish_in_sequence():
    latencies = Latencies(0.03, 0.08, 0.002, 0.01, 0.015, 0.02)
    assert latencies.async_submit_path() == pytest.approx(0.01 + 0.02 + 0.015)


def test_fake_invoke_endpoint_async_answers_the_locations_and_ends_the_inference_later():
    fake = FakeAws(NO_ASYNC_LATENCY, async_inference_seconds=0)
    runtime = fake.clients().sagemaker_runtime
    response = runtime.invoke_endpoint_async(
        EndpointName="summarizer", InputLocation="s3://bench-ingest/documents/a.json", InferenceId="abc"
    )
    assert fake.wait_async(5)
    (submission,) = fake.async_submissions
    bucket, _, key = response["OutputLocation"].removeprefix("s3://").partition("/")
    assert (response["InferenceId"], submission.succeeds) == ("abc", True)
    assert (bucket, key) in fake.objects  # the output, written by the timer
    assert response["OutputLocation"].startswith("s3://bench-ingest/async-inference/summarizer/output/")


def test_fake_async_inference_longer_than_its_invocation_timeout_fails_at_the_timeout():
    fake = FakeAws(NO_ASYNC_LATENCY, async_inference_seconds=3600)
    try:
        fake.clients().sagemaker_runtime.invoke_endpoint_async(
            EndpointName="summarizer", InputLocation="s3://b/documents/a.json", InvocationTimeoutSeconds=900
        )
        (submission,) = fake.async_submissions
        assert not submission.succeeds
        assert submission.due_at - submission.accepted_at == pytest.approx(900)
    finally:
        fake.cancel_async()

