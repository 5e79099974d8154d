"""`python -m ops` against the local cloud over HTTP: the CLI reaches the stack only through
`AWS_ENDPOINT_URL`, and the outputs file the local cloud writes (`.localcloud/outputs.json`).

GIVEN `python -m localrun.local_cloud` running as its own process (as tests/e2e/test_e2e_local_cloud.py
starts it), an upload on the sqs route scored, and its event dead-lettered — the local cloud injects no
faults and a real exhaustion of receives takes minutes of wall clock, so the test writes the dead letter
itself over HTTP as SQS moves it after maxReceiveCount (the original S3 notification as the body, here
rebuilt from the object and its stored sequencer) and removes the result the live upload wrote, so only the
redrive can write it again — WHEN `ops dlq`, `ops redrive` and `ops results --json` run with
`AWS_ENDPOINT_URL` pointing at the server, THEN `dlq` reports the dead-lettered object, `redrive` puts it
back and it ends as exactly one completed item, and `results` lists it.

The scenario runs once, in the module fixture; each test reads one of its outcomes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from test_e2e_local_cloud import LocalCloudProcess

from lambdas.inference.contract import STATUS_COMPLETED, TABLE_PARTITION_KEY
from ops.cli import main
from ops.s3_events import ObjectVersion, s3_notification

RESULT_TIMEOUT = 20  # wall clock: a redriven event's item must be completed by then
ROUTE = "batch"  # an sqs route: its DLQ holds the queue's own messages


def _item(cloud: LocalCloudProcess, uri: str) -> dict[str, Any]:
    raw = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["results_table_name"],
        Key={TABLE_PARTITION_KEY: {"S": uri}},
        ConsistentRead=True,
    )
    return {k: TypeDeserializer().deserialize(v) for k, v in raw.get("Item", {}).items()}


def _wait_for_completed(cloud: LocalCloudProcess, uri: str) -> dict[str, Any]:
    deadline = time.monotonic() + RESULT_TIMEOUT
    while time.monotonic() < deadline:
        if (item := _item(cloud, uri)).get("status") == STATUS_COMPLETED:
            return item
        time.sleep(0.2)
    raise AssertionError(f"{uri} not completed within {RESULT_TIMEOUT} s (wall clock): {_item(cloud, uri)}")


def _ops(cloud: LocalCloudProcess, *args: str) -> Any:
    env = {
        "AWS_ENDPOINT_URL": cloud.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
    }
    outputs = str(cloud.state_dir / "outputs.json")
    result = CliRunner(env=env).invoke(main, ["--outputs", outputs, *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _dead_letter(cloud: LocalCloudProcess, uri: str, item: dict[str, Any]) -> None:
    """The event of `uri` into the route's DLQ as SQS moves it, and the live result removed."""
    outputs = cloud.outputs
    bucket, key = outputs["bucket_name"], uri.split("/", 3)[3]
    head = cloud.client("s3").head_object(Bucket=bucket, Key=key)
    obj = ObjectVersion(
        bucket, key, head["VersionId"], head["ETag"], head["ContentLength"], head["LastModified"]
    )
    body = json.dumps(s3_notification(obj, item["sequencer"], outputs["region"]))
    cloud.client("sqs").send_message(QueueUrl=outputs["routes"][ROUTE]["dlq_url"], MessageBody=body)
    cloud.client("dynamodb").delete_item(
        TableName=outputs["results_table_name"], Key={TABLE_PARTITION_KEY: {"S": uri}}
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    cloud = LocalCloudProcess.start(tmp_path_factory.mktemp("localcloud"))
    try:
        outputs = cloud.outputs
        key = f"{outputs['routes'][ROUTE]['prefix']}dead-lettered-over-http.txt"
        uri = f"s3://{outputs['bucket_name']}/{key}"
        cloud.client("s3").put_object(Bucket=outputs["bucket_name"], Key=key, Body=b"Great and friendly")
        _dead_letter(cloud, uri, _wait_for_completed(cloud, uri))
        state: dict[str, Any] = {"uri": uri, "before_redrive": _item(cloud, uri)}
        state["dlq"] = _ops(cloud, "dlq", "--route", ROUTE)
        state["redrive"] = _ops(cloud, "redrive", "--route", ROUTE)
        state["item"] = _wait_for_completed(cloud, uri)
        state["results"] = _ops(cloud, "results", "--route", ROUTE, "--prefix", key)
        state["dlq_after"] = _ops(cloud, "dlq", "--route", ROUTE)
        yield state
    finally:
        # Killed, not stopped: its clean SIGTERM shutdown is test_e2e_local_cloud's, and takes seconds.
        cloud.process.kill()
        cloud.process.wait()


def test_ops_dlq_over_http_reports_the_dead_lettered_object(scenario):
    (entry,) = scenario["dlq"]
    assert entry["messages"] == 1
    (sample,) = entry["samples"]
    assert (sample["kind"], sample["objects"]) == ("sqs-redrive", [scenario["uri"]])


def test_ops_redrive_over_http_puts_it_back_and_it_ends_as_one_completed_item(scenario):
    assert scenario["before_redrive"] == {}  # only the redrive can have written the item
    assert scenario["redrive"].get("failures", []) == [], scenario["redrive"]
    assert scenario["item"]["status"] == STATUS_COMPLETED
    (entry,) = scenario["dlq_after"]
    assert entry["messages"] == 0


def test_ops_results_over_http_lists_the_item_once(scenario):
    assert [(i["pk"], i["status"]) for i in scenario["results"]] == [(scenario["uri"], STATUS_COMPLETED)]
