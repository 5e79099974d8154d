"""`python -m ops` against the deployed stack in the local run: the CLI talks to AWS only through boto3.

One dev-stack deployment (LocalCloud + moto) for the module. Failures are injected into each kind of DLQ the
stack has: the SQS route DLQ (SQS redrive after 5 receives), Lambda's on-failure destination (every async
retry throttled), an SNS subscription dead letter and an EventBridge target dead letter (the same events,
as SNS and EventBridge write them), and the async summarizer's result writer DLQ (the writer cannot publish).
Verdicts come from `localrun/delivery_contract.py`.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from local_cloud_helpers import deployed, dev_config, route, text_payload, upload

from lambdas.inference.contract import (
    OUTCOME_PUBLISHED_ATTRIBUTE,
    STATUS_COMPLETED,
    STATUS_FAILED,
    TABLE_PARTITION_KEY,
)
from localrun.delivery_contract import DELIVERED, fates
from localrun.emulator import LocalCloud
from localrun.program import PROJECT_NAME
from localrun.services.sns import SnsFaults
from localrun.standin_model import EndpointFaults
from ops.cli import main
from ops.planning import PUBLISHES_STORED

ROUTES = ("uploads", "batch", "data", "events")


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed() as cloud:
        yield cloud


@pytest.fixture(scope="module")
def outputs_file(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ops") / "outputs.json"
    path.write_text(json.dumps(cloud.outputs, indent=2), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def empty_dead_letter_queues_afterwards(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.endpoint.faults = EndpointFaults()
    cloud.sns_faults.faults = SnsFaults()
    sqs = cloud.client("sqs")
    dlq_urls = [details["dlq_url"] for details in cloud.outputs["routes"].values()] + [
        model["result_writer_dlq_url"]
        for model in cloud.outputs["models"].values()
        if model["mode"] == "async"
    ]
    for url in dlq_urls:  # PurgeQueue allows one call a minute: delete instead
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def ops(outputs_file: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--outputs", str(outputs_file), *args], catch_exceptions=False)


def ops_json(outputs_file: Path, *args: str) -> dict:
    result = ops(outputs_file, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def dead_letters(cloud: LocalCloud, route_name: str) -> list[dict]:
    return cloud.queue_messages(route(cloud, route_name)["dlq_url"])


def fail_every_attempt(cloud: LocalCloud, uploads: list[tuple[str, str]]) -> list[str]:
    """Upload with the endpoint throttling every call: each event ends in its route's DLQ."""
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=1.0)
    uris = [upload(cloud, name, key, text_payload("great and friendly")) for name, key in uploads]
    cloud.run_until_idle()
    cloud.endpoint.faults = EndpointFaults()
    return uris


def successful_writes(cloud: LocalCloud, uri: str) -> int:
    return sum(
        1
        for c in cloud.recorder.calls
        if c.operation == "PutItem"
        and c.error_code is None
        and c.params["Item"][TABLE_PARTITION_KEY]["S"] == uri
    )


def outcomes_published(cloud: LocalCloud, uri: str) -> int:
    count = 0
    for text in cloud.published(cloud.outputs["notifications_topic_arn"]):
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            continue
        count += isinstance(message, dict) and message.get(TABLE_PARTITION_KEY) == uri
    return count


def as_sns_subscription_dead_letter(cloud: LocalCloud, route_name: str, uri: str) -> None:
    """Replace the route's invocation record for `uri` by the message SNS dead-letters for the same event."""
    sqs, details = cloud.client("sqs"), route(cloud, route_name)
    record = _take(cloud, route_name, uri)
    envelope = dict(record["requestPayload"]["Records"][0]["Sns"])
    envelope.pop("MessageAttributes", None)
    sqs.send_message(QueueUrl=details["dlq_url"], MessageBody=json.dumps(envelope))


def as_eventbridge_target_dead_letter(cloud: LocalCloud, route_name: str, uri: str) -> None:
    """Replace the route's invocation record for `uri` by the message EventBridge dead-letters for it."""
    sqs, details = cloud.client("sqs"), route(cloud, route_name)
    event = _take(cloud, route_name, uri)["requestPayload"]
    attributes = {
        "RULE_ARN": details["rule_arn"],
        "TARGET_ARN": details["function_arn"],
        "ERROR_CODE": "SDK_CLIENT_ERROR",
        "ERROR_MESSAGE": "Lambda was unable to process the request (injected)",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "2",
    }
    sqs.send_message(
        QueueUrl=details["dlq_url"],
        MessageBody=json.dumps(event),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def _take(cloud: LocalCloud, route_name: str, uri: str) -> dict:
    sqs, details = cloud.client("sqs"), route(cloud, route_name)
    taken = None
    for message in sqs.receive_message(QueueUrl=details["dlq_url"], MaxNumberOfMessages=10)["Messages"]:
        if taken is None and uri.split("/", 3)[3] in message["Body"]:
            sqs.delete_message(QueueUrl=details["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
            taken = json.loads(message["Body"])
        else:  # the others stay receivable
            sqs.change_message_visibility(
                QueueUrl=details["dlq_url"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    assert taken is not None, f"no dead letter for {uri}"
    return taken


def test_redrive_empties_every_kind_of_dlq_and_each_file_ends_as_one_item_and_one_outcome(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    uris = fail_every_attempt(
        cloud,
        [
            ("batch", "redrive-sqs.txt"),
            ("data", "redrive-on-failure.json"),
            ("uploads", "redrive-on-failure.txt"),
            ("uploads", "redrive-subscription.txt"),
            ("events", "redrive-on-failure.txt"),
            ("events", "redrive-target.txt"),
        ],
    )
    as_sns_subscription_dead_letter(cloud, "uploads", uris[3])
    as_eventbridge_target_dead_letter(cloud, "events", uris[5])
    kinds = {
        name: sorted(s["kind"] for s in entry["samples"])
        for entry in ops_json(outputs_file, "dlq")
        for name in [entry["route"]]
        if name in ROUTES
    }
    assert kinds == {
        "batch": ["sqs-redrive"],
        "data": ["lambda-on-failure"],
        "uploads": ["lambda-on-failure", "sns-subscription"],
        "events": ["eventbridge-target", "lambda-on-failure"],
    }

    for name in ROUTES:
        summary = ops_json(outputs_file, "redrive", "--route", name)
        assert summary["failures"] == [] and summary["skipped"] == {}, summary
    cloud.run_until_idle()

    assert {u: f.verdict for u, f in fates(cloud, uris).items()} == dict.fromkeys(uris, DELIVERED)
    items = cloud.results()
    assert {u: items[u]["status"] for u in uris} == dict.fromkeys(uris, STATUS_COMPLETED)
    assert {u: successful_writes(cloud, u) for u in uris} == dict.fromkeys(uris, 1)
    assert {u: outcomes_published(cloud, u) for u in uris} == dict.fromkeys(uris, 1)
    assert {name: dead_letters(cloud, name) for name in ROUTES} == {name: [] for name in ROUTES}


def test_dlq_reports_count_oldest_age_and_the_decoded_failure(cloud: LocalCloud, outputs_file: Path) -> None:
    (uri,) = fail_every_attempt(cloud, [("data", "inspected.json")])
    (entry,) = ops_json(outputs_file, "dlq", "--route", "data")
    assert entry["messages"] == 1
    assert entry["oldest_sampled_age_seconds"] is not None and entry["oldest_sampled_age_seconds"] >= 0
    (sample,) = entry["samples"]
    assert sample["objects"] == [uri]
    assert sample["reason"].startswith("RetriesExhausted after 3 attempts: ")
    assert "ThrottlingException" in sample["reason"]
    assert len(dead_letters(cloud, "data")) == 1  # looking deletes nothing


def test_redrive_dry_run_sends_and_deletes_nothing(cloud: LocalCloud, outputs_file: Path) -> None:
    (uri,) = fail_every_attempt(cloud, [("data", "dry-run.json")])
    before = [m["MessageId"] for m in dead_letters(cloud, "data")]
    summary = ops_json(outputs_file, "redrive", "--route", "data", "--dry-run")
    cloud.run_until_idle()
    assert summary["counts"] == {"would redeliver": 1}
    assert [m["MessageId"] for m in dead_letters(cloud, "data")] == before
    assert uri not in cloud.results()


def test_redrive_keep_redelivers_deletes_nothing_and_a_second_redrive_changes_nothing(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    (uri,) = fail_every_attempt(cloud, [("uploads", "kept.txt")])
    kept = ops_json(outputs_file, "redrive", "--route", "uploads", "--keep")
    cloud.run_until_idle()
    assert kept["counts"] == {"redelivered": 1}
    assert len(dead_letters(cloud, "uploads")) == 1
    first = cloud.results()[uri]

    # The same event again (idempotent writes: the item is conditional on the S3 sequencer).
    again = ops_json(outputs_file, "redrive", "--route", "uploads")
    cloud.run_until_idle()
    assert again["counts"] == {"redelivered": 1, "deleted": 1}
    assert cloud.results()[uri] == first
    assert successful_writes(cloud, uri) == 1
    assert dead_letters(cloud, "uploads") == []


def test_redrive_skips_a_message_in_an_unexpected_shape_and_leaves_it_in_the_dlq(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    dlq_url = route(cloud, "data")["dlq_url"]
    cloud.client("sqs").send_message(QueueUrl=dlq_url, MessageBody="not an event")
    summary = ops_json(outputs_file, "redrive", "--route", "data")
    assert summary["skipped"] == {"body is not a JSON object: not an event": 1}
    assert summary["counts"] == {}
    assert [m["Body"] for m in dead_letters(cloud, "data")] == ["not an event"]


@pytest.mark.parametrize("route_name", ROUTES)
def test_reprocess_backfills_objects_without_results_and_a_second_run_writes_nothing(
    cloud: LocalCloud, outputs_file: Path, route_name: str
) -> None:
    key = "backfill.json" if route_name == "data" else "backfill.txt"
    uri = upload(cloud, route_name, key, text_payload("great and friendly"))
    cloud.run_until_idle()
    cloud.client("dynamodb").delete_item(
        TableName=cloud.outputs["results_table_name"], Key={TABLE_PARTITION_KEY: {"S": uri}}
    )
    prefix = uri.split("/", 3)[3]

    first = ops_json(outputs_file, "reprocess", "--route", route_name, "--prefix", prefix)
    cloud.run_until_idle()
    assert first["planned"] == {"no result yet": 1, "sent": 1}, first
    item = cloud.results()[uri]
    assert item["status"] == STATUS_COMPLETED
    assert item["version_id"] and item["sequencer"]
    writes = successful_writes(cloud, uri)

    second = ops_json(outputs_file, "reprocess", "--route", route_name, "--prefix", prefix)
    cloud.run_until_idle()
    assert second["planned"] == {"same object version: re-scored only by a new model version": 1, "sent": 1}
    assert successful_writes(cloud, uri) == writes
    assert cloud.results()[uri] == item


def test_reprocess_dry_run_sends_nothing(cloud: LocalCloud, outputs_file: Path) -> None:
    uri = upload(cloud, "batch", "dry-reprocess.txt", "great")
    cloud.run_until_idle()
    cloud.client("dynamodb").delete_item(
        TableName=cloud.outputs["results_table_name"], Key={TABLE_PARTITION_KEY: {"S": uri}}
    )
    summary = ops_json(outputs_file, "reprocess", "--route", "batch", "--prefix", "batch/dry-", "--dry-run")
    cloud.run_until_idle()
    assert summary["planned"] == {"no result yet": 1}
    assert uri not in cloud.results()


def test_reprocess_from_an_s3_inventory_manifest_scores_the_current_objects_it_lists(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    # GIVEN an object without a result, and an S3 Inventory report of it in another bucket (the documented
    # layout: manifest.json naming the gzipped CSV data file; the key URL-encoded, a delete marker row).
    uri = upload(cloud, "batch", "inventoried review.txt", "great and friendly")
    cloud.run_until_idle()
    table = cloud.outputs["results_table_name"]
    cloud.client("dynamodb").delete_item(TableName=table, Key={TABLE_PARTITION_KEY: {"S": uri}})
    bucket, key = cloud.outputs["bucket_name"], uri.split("/", 3)[3]
    version = cloud.s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    s3, destination = cloud.client("s3"), "inventory-destination"
    s3.create_bucket(Bucket=destination)
    data_key = f"inventory/{bucket}/all/data/rows.csv.gz"
    rows = (
        f'"{bucket}","batch/inventoried%20review.txt","{version}","true","false"\n'
        f'"{bucket}","batch/deleted.txt","v-marker","true","true"\n'
    )
    s3.put_object(Bucket=destination, Key=data_key, Body=gzip.compress(rows.encode()))
    manifest = {
        "sourceBucket": bucket,
        "destinationBucket": f"arn:aws:s3:::{destination}",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker",
        "files": [{"key": data_key, "size": 1, "MD5checksum": "0" * 32}],
    }
    manifest_key = f"inventory/{bucket}/all/2025-01-31T00-00Z/manifest.json"
    s3.put_object(Bucket=destination, Key=manifest_key, Body=json.dumps(manifest).encode())

    summary = ops_json(
        outputs_file, "reprocess", "--route", "batch", "--manifest", f"s3://{destination}/{manifest_key}"
    )
    cloud.run_until_idle()

    assert summary["objects"] == 1 and summary["planned"] == {"no result yet": 1, "sent": 1}, summary
    assert cloud.results()[uri]["status"] == STATUS_COMPLETED
    assert cloud.results()[uri]["version_id"] == version


def test_reprocess_from_a_manifest_of_another_bucket_exits_2(cloud: LocalCloud, outputs_file: Path) -> None:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="other-inventory")
    manifest = {
        "sourceBucket": "someone-elses",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key",
        "files": [],
    }
    s3.put_object(Bucket="other-inventory", Key="manifest.json", Body=json.dumps(manifest).encode())
    result = ops(
        outputs_file, "reprocess", "--route", "batch", "--manifest", "s3://other-inventory/manifest.json"
    )
    assert result.exit_code == 2
    assert "it inventories bucket 'someone-elses', not this stack's" in result.output


def test_results_lists_the_table_filtered_as_json(cloud: LocalCloud, outputs_file: Path) -> None:
    uri = upload(cloud, "batch", "listed.txt", "great and friendly")
    cloud.run_until_idle()
    listed = ops_json(outputs_file, "results", "--route", "batch", "--prefix", "batch/listed")
    assert [(i["pk"], i["status"]) for i in listed] == [(uri, STATUS_COMPLETED)]


def test_unknown_route_exits_2_naming_the_routes(outputs_file: Path) -> None:
    result = ops(outputs_file, "redrive", "--route", "nope")
    assert result.exit_code == 2
    assert (
        "unknown route 'nope'; this stack's routes: batch, data, documents, events, images, stream, uploads"
        in result.output
    )


def test_outputs_of_another_project_exit_2_before_any_aws_call(tmp_path: Path) -> None:
    other = tmp_path / "outputs.json"
    other.write_text(json.dumps({"vpc_id": "vpc-123"}), encoding="utf-8")
    result = ops(other, "dlq")
    assert result.exit_code == 2
    assert "is not the stack output of ai-event-pipeline" in result.output


def test_since_that_is_not_a_date_exits_2(outputs_file: Path) -> None:
    result = ops(outputs_file, "reprocess", "--route", "batch", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since 'yesterday' is not an ISO date" in result.output


# -- the async summarizer's result writer: notices it could not finish, redriven to it ----------------------
def final_outcomes(cloud: LocalCloud, uri: str) -> int:
    """Outcomes of `uri` with a final status on the notifications topic."""
    finals = 0
    for text in cloud.published(cloud.outputs["notifications_topic_arn"]):
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            continue
        finals += (
            isinstance(message, dict)
            and message.get(TABLE_PARTITION_KEY) == uri
            and message.get("status") in (STATUS_COMPLETED, STATUS_FAILED)
        )
    return finals


def test_result_writer_dlq_is_decoded_and_redriven_to_one_published_final_outcome(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    # GIVEN a summarized document whose result writer stored the result but could not publish its outcome
    summarizer = cloud.outputs["models"]["summarizer"]
    cloud.sns_faults.faults = SnsFaults(
        publish_batch_down_for=frozenset({summarizer["result_writer_function_name"]})
    )
    uri = upload(
        cloud, "documents", "writer-redrive.json", text_payload("The writer could not publish this.")
    )
    cloud.run_until_idle()
    cloud.sns_faults.faults = SnsFaults()
    stored = cloud.results()[uri]
    assert (stored["status"], final_outcomes(cloud, uri)) == (STATUS_COMPLETED, 0)

    # WHEN the operator looks at the writer's DLQ, tries a dry run, then redrives it
    (entry,) = ops_json(outputs_file, "dlq", "--model", "summarizer")
    dry = ops_json(outputs_file, "redrive", "--model", "summarizer", "--dry-run")
    cloud.run_until_idle()
    left = len(cloud.queue_messages(summarizer["result_writer_dlq_url"]))
    summary = ops_json(outputs_file, "redrive", "--model", "summarizer")
    cloud.run_until_idle()

    # THEN the notice was decoded, sent back once and deleted; the outcome is published exactly once
    assert (entry["model"], entry["messages"]) == ("summarizer", 1)
    (sample,) = entry["samples"]
    assert (sample["kind"], sample["input"], sample["inference_id"]) == (
        "lambda-on-failure",
        uri,
        stored["inference_id"],
    )
    assert sample["reason"].startswith("RetriesExhausted after 3 attempts: NoticeNotProcessedError: ")
    assert "PublishBatch failed" in sample["reason"]
    assert sample["on_redrive"] == PUBLISHES_STORED
    assert (dry["planned"], dry["counts"], left) == ({PUBLISHES_STORED: 1}, {"would redeliver": 1}, 1)
    assert summary["counts"] == {"redelivered": 1, "deleted": 1}, summary
    assert (summary["skipped"], summary["failures"]) == ({}, [])
    item = cloud.results()[uri]
    assert item["status"] == STATUS_COMPLETED and item[OUTCOME_PUBLISHED_ATTRIBUTE]
    assert final_outcomes(cloud, uri) == 1
    assert cloud.queue_messages(summarizer["result_writer_dlq_url"]) == []


def test_redrive_of_a_model_that_is_not_async_exits_2_naming_the_async_models(outputs_file: Path) -> None:
    result = ops(outputs_file, "redrive", "--model", "text-classifier")
    assert result.exit_code == 2
    assert "model 'text-classifier' is not async (mode 'serverless')" in result.output
    assert "this stack's async models: summarizer" in result.output


# -- the kinesis route: dead-lettered batches re-read from the stream ------------------------------------
def put_stream_records(cloud: LocalCloud, records: list[dict]) -> list[str]:
    """PutRecords on the stream route's stream, one partition key (one shard, in order), as a producer."""
    answer = cloud.client("kinesis").put_records(
        StreamName=route(cloud, "stream")["stream_name"],
        Records=[{"Data": json.dumps(r).encode(), "PartitionKey": "ops-producer"} for r in records],
    )
    assert answer["FailedRecordCount"] == 0
    return [entry["SequenceNumber"] for entry in answer["Records"]]


def stream_key(cloud: LocalCloud, record_id: str) -> str:
    return f"kinesis://{route(cloud, 'stream')['stream_name']}/{record_id}"


def dead_letter_a_poison_record(cloud: LocalCloud, tag: str) -> str:
    """Three records, the middle one crashing the model: bisection isolates it, its batch is dead-lettered
    and the others complete. The fault is removed afterwards; returns the poison record's results key."""
    cloud.endpoint.faults = EndpointFaults(crash_on_text=f"poison pill {tag}")
    put_stream_records(
        cloud,
        [
            {"id": f"{tag}-0", "text": "great and friendly"},
            {"id": f"{tag}-1", "text": f"poison pill {tag}"},
            {"id": f"{tag}-2", "text": "great and friendly"},
        ],
    )
    cloud.run_until_idle()
    cloud.endpoint.faults = EndpointFaults()
    uri = stream_key(cloud, f"{tag}-1")
    assert uri not in cloud.results() and len(dead_letters(cloud, "stream")) == 1
    return uri


def dead_letter_sequence_number(cloud: LocalCloud) -> str:
    (message,) = dead_letters(cloud, "stream")
    return json.loads(message["Body"])["KinesisBatchInfo"]["startSequenceNumber"]


def test_dlq_decodes_a_kinesis_batch_to_shard_sequence_range_and_reason(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    dead_letter_a_poison_record(cloud, "inspect")
    (entry,) = ops_json(outputs_file, "dlq", "--route", "stream")
    (sample,) = entry["samples"]
    assert sample["kind"] == "kinesis-on-failure"
    assert sample["shard"].startswith("shardId-") and sample["records"] == 1
    assert sample["reason"].startswith("RetryAttemptsExhausted after ")


def test_redrive_of_a_kinesis_batch_completes_its_record_and_empties_the_dlq(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    uri = dead_letter_a_poison_record(cloud, "fixed")
    summary = ops_json(outputs_file, "redrive", "--route", "stream")
    assert summary["counts"] == {"redelivered": 1, "deleted": 1}, summary
    assert summary["failures"] == [] and summary["skipped"] == {}
    assert cloud.results()[uri]["status"] == STATUS_COMPLETED
    assert dead_letters(cloud, "stream") == []


def test_redrive_of_a_kinesis_batch_a_second_time_changes_nothing(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    uri = dead_letter_a_poison_record(cloud, "twice")
    kept = ops_json(outputs_file, "redrive", "--route", "stream", "--keep")
    assert kept["counts"] == {"redelivered": 1}
    first = cloud.results()[uri]

    again = ops_json(outputs_file, "redrive", "--route", "stream")  # the same sequence number again
    assert again["counts"] == {"redelivered": 1, "deleted": 1}
    assert cloud.results()[uri] == first
    assert successful_writes(cloud, uri) == 1
    assert dead_letters(cloud, "stream") == []


def test_redrive_of_a_kinesis_batch_that_fails_again_keeps_the_message_and_exits_1(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    uri = dead_letter_a_poison_record(cloud, "still")
    cloud.endpoint.faults = EndpointFaults(crash_on_text="poison pill still")
    result = ops(outputs_file, "redrive", "--route", "stream", "--json")
    assert result.exit_code == 1, result.output
    (failure,) = json.loads(result.output)["failures"]
    sequence_number = dead_letter_sequence_number(cloud)
    assert failure.endswith(f": the function failed the batch again from sequence number {sequence_number}")
    assert uri not in cloud.results()
    assert len(dead_letters(cloud, "stream")) == 1


def test_redrive_dry_run_of_a_kinesis_batch_invokes_and_deletes_nothing(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    uri = dead_letter_a_poison_record(cloud, "dry")
    summary = ops_json(outputs_file, "redrive", "--route", "stream", "--dry-run")
    cloud.run_until_idle()
    assert summary["counts"] == {"would redeliver": 1}
    assert uri not in cloud.results()
    assert len(dead_letters(cloud, "stream")) == 1


def test_redrive_skips_a_kinesis_batch_expired_from_the_stream_and_keeps_it(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    # A batch older than every record the shard still holds: what remains once retention has trimmed it.
    (oldest, *_) = put_stream_records(cloud, [{"id": "expiry-probe", "text": "great"}])
    cloud.run_until_idle()
    details = route(cloud, "stream")
    shard = cloud.client("kinesis").list_shards(StreamARN=details["stream_arn"])["Shards"][0]["ShardId"]
    gone = "0"  # below the first sequence number the shard gave out
    record = {
        "requestContext": {"functionArn": details["function_arn"], "condition": "RecordAgeExceeded"},
        "responseContext": {"statusCode": 200},
        "version": "1.0",
        "KinesisBatchInfo": {
            "shardId": shard, "startSequenceNumber": gone, "endSequenceNumber": gone, "batchSize": 1,
            "streamArn": details["stream_arn"],
        },
    }  # fmt: skip
    assert int(gone) < int(oldest)
    cloud.client("sqs").send_message(QueueUrl=details["dlq_url"], MessageBody=json.dumps(record))
    summary = ops_json(outputs_file, "redrive", "--route", "stream")
    assert summary["skipped"] == {"expired from the stream": 1}
    assert summary["counts"] == {}
    assert len(dead_letters(cloud, "stream")) == 1


def test_reprocess_of_a_kinesis_route_exits_2_pointing_to_redrive(outputs_file: Path) -> None:
    result = ops(outputs_file, "reprocess", "--route", "stream")
    assert result.exit_code == 2
    assert "route 'stream' is a kinesis route" in result.output
    assert "ops redrive --route stream" in result.output


# -- re-scoring: last in the module, since the functions cold-start again after a redeploy -----------------
def with_text_model(model_id: str) -> dict[str, str]:
    """The dev config with the text classifier's container serving another model (a new model version)."""
    config = dev_config()
    models = json.loads(config[f"{PROJECT_NAME}:models"])
    models["text-classifier"]["environment"]["HF_MODEL_ID"] = model_id
    return {**config, f"{PROJECT_NAME}:models": json.dumps(models)}


def test_reprocess_after_a_model_change_re_scores_under_the_new_version_and_a_second_run_writes_nothing(
    cloud: LocalCloud, outputs_file: Path
) -> None:
    # GIVEN an object on an sqs route scored by the text classifier
    uri = upload(cloud, "batch", "rescored.txt", "great and friendly")
    cloud.run_until_idle()
    first = cloud.results()[uri]
    prefix = uri.split("/", 3)[3]
    # WHEN the model changes (`pulumi up` with another HF_MODEL_ID) and the route is reprocessed
    cloud.redeploy(config=with_text_model("siebert/sentiment-roberta-large-english"))
    try:
        new_version = cloud.outputs["models"]["text-classifier"]["model_version"]
        outputs_file.write_text(json.dumps(cloud.outputs, indent=2), encoding="utf-8")
        rescoring = ops_json(outputs_file, "reprocess", "--route", "batch", "--prefix", prefix)
        cloud.run_until_idle()
        rescored, writes = cloud.results()[uri], successful_writes(cloud, uri)
        again = ops_json(outputs_file, "reprocess", "--route", "batch", "--prefix", prefix)
        cloud.run_until_idle()
    finally:  # the module's other tests run against the dev config
        cloud.redeploy(config=dev_config())
        outputs_file.write_text(json.dumps(cloud.outputs, indent=2), encoding="utf-8")

    # THEN the same object version's event re-scores the item under the new model version, once
    same = {"same object version: re-scored only by a new model version": 1, "sent": 1}
    assert new_version != first["model_version"]
    assert rescoring["planned"] == same, rescoring
    assert (rescored["status"], rescored["model_version"]) == (STATUS_COMPLETED, new_version)
    assert (rescored["version_id"], rescored["sequencer"]) == (first["version_id"], first["sequencer"])
    assert again["planned"] == same, again
    assert successful_writes(cloud, uri) == writes
    assert cloud.results()[uri] == rescored
