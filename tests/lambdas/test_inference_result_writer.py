"""The result writer against moto: SageMaker's notice in, the final item and exactly one outcome out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from conftest import TABLE, load_app
from inference_fakes import BUCKET, LambdaContext, sns_event

from lambdas.inference import adapters, contract
from lambdas.inference.domain import ObjectRef, in_progress_item

WRITER_MODULE = contract.RESULT_WRITER_HANDLER.rsplit(".", 1)[0]
OUTPUT_PREFIX = "async-inference/summarizer/output/"
KEY = "documents/report.json"
URI = f"s3://{BUCKET}/{KEY}"
INFERENCE_ID = "inference-1"


def load_writer(topic_arn: str) -> ModuleType:
    """A fresh instance of the result writer module, imported with its function's environment."""
    env = {
        contract.ENV_RESULTS_TABLE: TABLE,
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: topic_arn,
        contract.ENV_ASYNC_OUTPUT_URI: f"s3://{BUCKET}/{OUTPUT_PREFIX}",
        contract.ENV_MODEL_NAME: "summarizer",
    }
    return load_app(env, WRITER_MODULE)


def notice(inference_id: str = INFERENCE_ID, *, failed: bool = False) -> dict[str, Any]:
    """SageMaker's notification of one inference of URI (the fields of its documented example)."""
    message: dict[str, Any] = {
        "awsRegion": "us-east-1",
        "invocationStatus": "Failed" if failed else "Completed",
        "requestParameters": {"endpointName": "e", "inputLocation": URI},
        "inferenceId": inference_id,
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if failed:
        message["failureReason"] = "ClientError: Received client error (400) from model"
    else:
        message["responseParameters"] = {"outputLocation": f"s3://{BUCKET}/{OUTPUT_PREFIX}out-1.out"}
    return message


@pytest.fixture
def writer(world, aws_clients) -> ModuleType:
    """The writer, its submitted in_progress item and its output object in the moto world."""
    ref = ObjectRef(BUCKET, KEY, "v1", None, 100, "0A", None, "documents")
    item = in_progress_item(ref, "e", datetime(2026, 1, 1, tzinfo=UTC), INFERENCE_ID)
    adapters.put_result(world.dynamodb, TABLE, item)
    world.put(f"{OUTPUT_PREFIX}out-1.out", json.dumps([{"summary_text": "short"}]).encode())
    module = load_writer(world.topic_arn)
    module.clients = {name: aws_clients[name] for name in ("s3", "dynamodb", "sns")}
    return module


def test_a_completed_notice_writes_the_completed_item_and_publishes_one_outcome(writer, world):
    writer.handler(sns_event(notice()), LambdaContext())
    item = world.item(KEY)
    assert (item["status"], item["prediction"]) == (contract.STATUS_COMPLETED, [{"summary_text": "short"}])
    assert item[contract.OUTCOME_PUBLISHED_ATTRIBUTE]
    assert [json.loads(o["Message"])["status"] for o in world.outcomes()] == [contract.STATUS_COMPLETED]


def test_a_failed_notice_ends_failed_with_sagemakers_reason(writer, world):
    writer.handler(sns_event(notice(failed=True)), LambdaContext())
    item = world.item(KEY)
    assert item["status"] == contract.STATUS_FAILED
    assert "Received client error (400)" in item[contract.RESULT_DETAIL_ATTRIBUTE]


def test_a_duplicate_notice_changes_nothing_and_publishes_nothing(writer, world):
    writer.handler(sns_event(notice()), LambdaContext())
    before, _ = world.item(KEY), world.outcomes()
    writer.handler(sns_event(notice()), LambdaContext())
    assert world.item(KEY) == before
    assert world.outcomes() == []


def test_a_duplicate_notice_of_an_outcome_not_marked_published_publishes_it_once(writer, world):
    writer.handler(sns_event(notice()), LambdaContext())
    world.outcomes()
    world.dynamodb.update_item(  # as if the function stopped between its publish and its mark
        TableName=TABLE,
        Key={contract.TABLE_PARTITION_KEY: {"S": URI}},
        UpdateExpression="REMOVE #p",
        ExpressionAttributeNames={"#p": contract.OUTCOME_PUBLISHED_ATTRIBUTE},
    )
    writer.handler(sns_event(notice()), LambdaContext())
    writer.handler(sns_event(notice()), LambdaContext())
    assert len(world.outcomes()) == 1
    assert world.item(KEY)[contract.OUTCOME_PUBLISHED_ATTRIBUTE]


def test_a_notice_for_an_unknown_inference_id_changes_nothing(writer, world):
    before = world.item(KEY)
    writer.handler(sns_event(notice("another-inference")), LambdaContext())
    assert world.item(KEY) == before
    assert world.outcomes() == []


def test_a_message_that_is_not_a_sagemaker_notice_changes_nothing_and_publishes_nothing(writer, world):
    before = world.item(KEY)
    answer = writer.handler(sns_event({"hello": "not a notice"}, "plain text"), LambdaContext())
    assert answer == {"published": 0}
    assert world.item(KEY) == before
    assert world.outcomes() == []
