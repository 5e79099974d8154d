"""An async model's result writer DLQ messages decoded to the inference, its input, why, and the SNS event
that goes back, read again by the writer's own parser (pure, no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ops_samples import (
    BUCKET,
    ERROR_TOPIC,
    SUCCESS_TOPIC,
    dev_outputs_with_async,
    sagemaker_notice,
    sns_envelope,
    sqs_message,
    writer_invocation_record,
    writer_sns_event,
)

from lambdas.inference.domain import AsyncNotice, parse_async_notice
from ops.cli import main
from ops.dead_letters import Kind, Unreadable
from ops.outputs import parse_outputs
from ops.writer_letters import NoticeLetter, decode_notice

STACK = parse_outputs(dev_outputs_with_async(), "outputs.json")
WRITER = STACK.writer("summarizer")
INPUT = f"s3://{BUCKET}/documents/x.json"


def _decode(body: object, attributes: dict[str, str] | None = None) -> NoticeLetter | Unreadable:
    return decode_notice(sqs_message(body, attributes), WRITER)


def _redelivered_notice(letter: NoticeLetter) -> AsyncNotice | str:
    """The notice the writer reads from the event a redrive sends: one SNS record's Message."""
    (record,) = letter.redelivery["Records"]
    assert record["EventSource"] == "aws:sns"
    return parse_async_notice(record["Sns"]["Message"])


def test_on_failure_record_of_the_writer_gives_inference_input_reason_and_its_sns_event_back():
    event = writer_sns_event(sagemaker_notice("documents/x.json"))
    letter = _decode(writer_invocation_record(event))
    assert isinstance(letter, NoticeLetter)
    assert letter.kind is Kind.LAMBDA_ON_FAILURE
    assert letter.notice.inference_id == "6b7615ad52245f70a004cb4c53f28d3e8175dbe9"
    assert letter.notice.input_location == INPUT
    assert (letter.invocation_status, letter.topic_arn) == ("Completed", SUCCESS_TOPIC)
    assert letter.reason == (
        "RetriesExhausted after 3 attempts: NoticeNotProcessedError: "
        "6b7615ad52245f70a004cb4c53f28d3e8175dbe9: PublishBatch failed: InternalError"
    )
    assert letter.redelivery == event  # the SNS event as Lambda gave it to the writer
    assert _redelivered_notice(letter) == letter.notice


def test_sns_subscription_dead_letter_goes_back_as_the_sns_event_lambda_would_have_received():
    notice = sagemaker_notice("documents/x.json", completed=False)
    letter = _decode(sns_envelope(notice, ERROR_TOPIC), {"ErrorCode": "403"})
    assert isinstance(letter, NoticeLetter)
    assert letter.kind is Kind.SNS_SUBSCRIPTION
    assert letter.reason == "SNS could not deliver it to the function (ErrorCode=403)"
    assert (letter.invocation_status, letter.notice.input_location) == ("Failed", INPUT)
    (record,) = letter.redelivery["Records"]
    assert (record["Sns"]["Type"], record["Sns"]["TopicArn"]) == ("Notification", ERROR_TOPIC)
    assert _redelivered_notice(letter) == parse_async_notice(json.dumps(notice))


def test_a_raw_notification_goes_back_on_the_topic_its_status_was_published_on():
    completed = _decode(sagemaker_notice("documents/a.json"))
    failed = _decode(sagemaker_notice("documents/b.json", completed=False))
    assert isinstance(completed, NoticeLetter) and isinstance(failed, NoticeLetter)
    assert completed.kind is failed.kind is Kind.SNS_SUBSCRIPTION
    assert completed.redelivery["Records"][0]["Sns"]["TopicArn"] == SUCCESS_TOPIC
    assert failed.redelivery["Records"][0]["Sns"]["TopicArn"] == ERROR_TOPIC
    assert _redelivered_notice(failed) == failed.notice


def test_an_invocation_record_of_another_function_is_unreadable():
    other = "arn:aws:lambda:us-east-1:123456789012:function:inference-documents-1234567"
    event = writer_sns_event(sagemaker_notice("documents/x.json"))
    decoded = _decode(writer_invocation_record(event, function=other))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == (
        f"an invocation record of function {other}:$LATEST, not of model 'summarizer''s result writer"
    )


def test_an_invocation_record_whose_payload_is_not_one_sns_record_is_unreadable():
    event = writer_sns_event(sagemaker_notice("documents/x.json"))
    event["Records"].append(event["Records"][0])
    decoded = _decode(writer_invocation_record(event))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == "the invocation record's requestPayload is not an SNS event of one record"


def test_a_notification_of_another_topic_is_unreadable():
    other = "arn:aws:sns:us-east-1:123456789012:model-other-success"
    decoded = _decode(sns_envelope(sagemaker_notice("documents/x.json"), other))
    assert isinstance(decoded, Unreadable)
    assert (
        decoded.why == f"a notification of topic {other}, not of model 'summarizer''s success or error topic"
    )


def test_a_message_the_writer_would_drop_is_unreadable_with_the_writers_reason():
    notice = sagemaker_notice("documents/x.json")
    del notice["inferenceId"]
    decoded = _decode(sns_envelope(notice, SUCCESS_TOPIC))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == "not a SageMaker async notice (no inferenceId)"


def test_a_notice_of_another_endpoint_is_unreadable():
    notice = sagemaker_notice("documents/x.json")
    notice["requestParameters"]["endpointName"] = "someone-elses-endpoint"
    decoded = _decode(sns_envelope(notice, SUCCESS_TOPIC))
    assert isinstance(decoded, Unreadable)
    assert "a notice of endpoint someone-elses-endpoint, not of model 'summarizer''s" in decoded.why


def test_a_body_that_is_not_json_or_no_known_shape_is_unreadable():
    not_json = _decode("hello")
    unknown = _decode({"hello": "world"})
    assert isinstance(not_json, Unreadable) and isinstance(unknown, Unreadable)
    assert not_json.why == "body is not a JSON object: hello"
    assert unknown.why == "not a shape the result writer's DLQ receives (keys: hello)"
    assert not_json.sent_at_ms == 1735689600000


# -- bad input: refused before any AWS call ---------------------------------------------------------------
def _ops(tmp_path: Path, *args: str) -> Result:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(dev_outputs_with_async()), encoding="utf-8")
    return CliRunner().invoke(main, ["--outputs", str(outputs), *args], catch_exceptions=False)


@pytest.mark.parametrize("command", ["dlq", "redrive"])
def test_model_that_is_not_async_exits_2_naming_the_async_models(tmp_path: Path, command: str) -> None:
    result = _ops(tmp_path, command, "--model", "text-classifier")
    assert result.exit_code == 2
    assert "model 'text-classifier' is not async" in result.output
    assert "this stack's async models: summarizer" in result.output


def test_route_and_model_together_or_redrive_with_neither_exit_2(tmp_path: Path) -> None:
    both = _ops(tmp_path, "dlq", "--route", "documents", "--model", "summarizer")
    neither = _ops(tmp_path, "redrive")
    assert (both.exit_code, neither.exit_code) == (2, 2)
    assert "--route and --model name different DLQs" in both.output
    assert "give --route ROUTE (its DLQ) or --model MODEL (its result writer's DLQ)" in neither.output
