"""Async routes, pure parts: the deterministic InferenceId, SageMaker's notice and the final result."""

from __future__ import annotations

import json

from lambdas.inference.contract import STATUS_COMPLETED, STATUS_FAILED
from lambdas.inference.domain import (
    AsyncNotice,
    ObjectRef,
    async_final_result,
    async_inference_id,
    parse_async_notice,
)

REF = ObjectRef("b", "documents/a.json", "v1", None, 10, "0A", None, "documents")
NOTICE = {
    "awsRegion": "us-east-1",
    "invocationStatus": "Completed",
    "requestParameters": {"endpointName": "e", "inputLocation": "s3://b/documents/a.json"},
    "responseParameters": {"outputLocation": "s3://b/async-inference/m/output/x.out"},
    "inferenceId": "abc",
    "eventSource": "aws:sagemaker",
    "eventName": "InferenceResult",
}


def test_the_same_event_and_model_version_submit_the_same_inference_id():
    assert async_inference_id(REF, "v") == async_inference_id(REF, "v")


def test_another_model_version_submits_another_inference_id():
    assert async_inference_id(REF, "v1") != async_inference_id(REF, "v2")


def test_a_completed_notice_names_its_input_and_output():
    notice = parse_async_notice(json.dumps(NOTICE))
    assert notice == AsyncNotice(
        "abc", "s3://b/documents/a.json", True, "s3://b/async-inference/m/output/x.out"
    )


def test_a_failed_notice_carries_sagemakers_reason_into_a_failed_result():
    notice = parse_async_notice(
        json.dumps({**NOTICE, "invocationStatus": "Failed", "failureReason": "ClientError: 500"})
    )
    assert isinstance(notice, AsyncNotice)
    result = async_final_result(notice, None, None)
    assert (result.status, result.detail) == (STATUS_FAILED, "ClientError: 500")


def test_a_message_without_an_inference_id_is_not_a_notice():
    assert parse_async_notice(json.dumps({**NOTICE, "inferenceId": None})) == "no inferenceId"


def test_a_large_output_stays_in_s3_and_the_result_holds_its_uri():
    notice = parse_async_notice(json.dumps(NOTICE))
    assert isinstance(notice, AsyncNotice)
    result = async_final_result(notice, None, 10_000_000)
    assert (result.status, result.prediction_uri) == (STATUS_COMPLETED, notice.output_location)


def test_an_async_route_may_admit_objects_up_to_sagemakers_async_input_limit():
    from lambdas.inference import contract  # noqa: PLC0415
    from lambdas.inference.settings import load_settings  # noqa: PLC0415

    env = {
        contract.ENV_RESULTS_TABLE: "t",
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:n",
        contract.ENV_ENDPOINT_NAME: "e",
        contract.ENV_BUCKET_NAME: "b",
        contract.ENV_ROUTE_NAME: "documents",
        contract.ENV_MAX_PAYLOAD_BYTES: str(contract.ASYNC_MAX_PAYLOAD_BYTES),
        contract.ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS: "900",
    }
    assert load_settings(env).max_payload_bytes == contract.ASYNC_MAX_PAYLOAD_BYTES


class _Submissions:
    """sagemaker-runtime whose InvokeEndpointAsync records each request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def invoke_endpoint_async(self, **request: object) -> dict:
        self.requests.append(request)
        return {"InferenceId": request["InferenceId"]}


def _submit(size: int, limit: int) -> tuple[list, _Submissions, dict]:
    from inference_fakes import FakeTable, FakeTopic, settings  # noqa: PLC0415

    from lambdas.inference import async_submit  # noqa: PLC0415
    from lambdas.inference.pipeline import Clients  # noqa: PLC0415

    ref = ObjectRef("b", "documents/a.json", "v1", None, size, "0A", None, "documents")
    runtime, table = _Submissions(), FakeTable()
    clients = Clients(s3=None, sagemaker_runtime=runtime, dynamodb=table, sns=FakeTopic())
    config = settings(max_payload_bytes=limit, async_invocation_timeout_seconds=900, payload_format="json")
    outcomes = async_submit.process([ref], clients, config)
    return outcomes, runtime, table.items


def test_an_object_larger_than_the_async_limit_is_rejected_and_not_submitted():
    outcomes, runtime, items = _submit(size=11, limit=10)
    (item,) = items.values()
    assert (item["status"]["S"], item["reason"]["S"]) == ("rejected", "too_large")
    assert runtime.requests == []
    assert outcomes[0].published


def test_an_object_within_the_async_limit_is_submitted_in_progress():
    _, runtime, items = _submit(size=10, limit=10)
    (item,) = items.values()
    assert item["status"]["S"] == "in_progress"
    assert [r["InputLocation"] for r in runtime.requests] == ["s3://b/documents/a.json"]
