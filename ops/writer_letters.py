"""An async model's result writer DLQ messages, decoded (pure): which inference, which input, why, and the SNS
event that goes back.

The result writer (infra/compute.py `ResultWriter`) is subscribed to the model's SageMaker success and error
topics; its DLQ collects two kinds of message:

- `sns-subscription`: a notification SNS could not deliver to the function (subscription redrive policy; SNS
  Developer Guide, "Amazon SNS dead-letter queues",
  https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html). Its body is the SNS envelope of
  SageMaker's notification, or with raw message delivery the notification JSON itself.
- `lambda-on-failure`: Lambda's invocation record when the writer failed every retry (e.g. it could not
  publish the outcome): `requestContext`, `requestPayload` (the SNS event, one record), `responseContext`,
  `responsePayload` (see `ops.dead_letters`).

Either goes back to the writer as the SNS event Lambda would have received. SageMaker's notification
(SageMaker Developer Guide, "Check prediction results",
https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-check-predictions.html) is read by the
writer's own parser (`domain.parse_async_notice`): a message it would drop, or one of another function,
topic or endpoint, is `Unreadable` and stays in the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.inference.domain import AsyncNotice, parse_async_notice

from .dead_letters import Kind, Unreadable, invocation_reason, preview, received, sns_lambda_event, sns_reason
from .outputs import ResultWriter


@dataclass(frozen=True)
class NoticeLetter:
    """A decoded result writer DLQ message: SageMaker's notice, why it is here, and the event to send back."""

    message_id: str
    kind: Kind
    reason: str
    notice: AsyncNotice
    topic_arn: str
    redelivery: dict[str, Any]  # the SNS event to invoke the writer with
    sent_at_ms: int | None = None

    @property
    def invocation_status(self) -> str:
        """SageMaker's `invocationStatus`: Completed (the success topic) or Failed (the error topic)."""
        return "Completed" if self.notice.succeeded else "Failed"


def decode_notice(  # noqa: PLR0911 - one return per verdict
    message: dict[str, Any], writer: ResultWriter
) -> NoticeLetter | Unreadable:
    """Decode one SQS ReceiveMessage entry from `writer`'s DLQ."""
    got = received(message)
    message_id, sent_at, document = got.message_id, got.sent_at_ms, got.document
    if not isinstance(document, dict):
        return Unreadable(message_id, f"body is not a JSON object: {preview(got.body)}", sent_at)
    if "requestContext" in document and "requestPayload" in document:
        classified = _invocation_record(document, writer)
    elif document.get("Type") == "Notification" and "TopicArn" in document and "Message" in document:
        classified = Kind.SNS_SUBSCRIPTION, sns_reason(got.attributes), document, sns_lambda_event(document)
    elif "inferenceId" in document or "invocationStatus" in document:
        # Raw message delivery: the body is SageMaker's notification; its status says which topic it came on.
        completed = document.get("invocationStatus") == "Completed"
        topic = writer.success_topic_arn if completed else writer.error_topic_arn
        envelope = {"Type": "Notification", "TopicArn": topic, "Message": got.body}
        classified = Kind.SNS_SUBSCRIPTION, sns_reason(got.attributes), envelope, sns_lambda_event(envelope)
    else:
        keys = ", ".join(sorted(document)[:8])
        return Unreadable(message_id, f"not a shape the result writer's DLQ receives (keys: {keys})", sent_at)
    if isinstance(classified, str):
        return Unreadable(message_id, classified, sent_at)
    kind, reason, envelope, redelivery = classified

    topic_arn = str(envelope.get("TopicArn") or "")
    if topic_arn not in writer.topic_arns:
        why = (
            f"a notification of topic {topic_arn or '?'}, "
            f"not of model {writer.model!r}'s success or error topic"
        )
        return Unreadable(message_id, why, sent_at)
    text = envelope.get("Message")
    notice = parse_async_notice(text) if isinstance(text, str) else "no Message"
    if isinstance(notice, str):
        return Unreadable(message_id, f"not a SageMaker async notice ({notice})", sent_at)
    endpoint = _endpoint_name(text)
    if writer.endpoint_name and endpoint and endpoint != writer.endpoint_name:
        why = f"a notice of endpoint {endpoint}, not of model {writer.model!r}'s ({writer.endpoint_name})"
        return Unreadable(message_id, why, sent_at)
    return NoticeLetter(message_id, kind, reason, notice, topic_arn, redelivery, sent_at)


Classified = tuple[Kind, str, dict[str, Any], dict[str, Any]]


def _invocation_record(record: dict[str, Any], writer: ResultWriter) -> Classified | str:
    """(kind, reason, SNS envelope, event to send back) of a Lambda on-failure record, or why not."""
    context = record.get("requestContext") if isinstance(record.get("requestContext"), dict) else {}
    function_arn = str(context.get("functionArn") or "")
    if function_arn and not writer.is_function(function_arn):
        return (
            f"an invocation record of function {function_arn}, not of model {writer.model!r}'s result writer"
        )
    payload = record.get("requestPayload")
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or len(records) != 1 or not isinstance(records[0], dict):
        return "the invocation record's requestPayload is not an SNS event of one record"
    envelope = records[0].get("Sns")
    if not isinstance(envelope, dict):
        return "the invocation record's requestPayload is not an SNS event of one record"
    return Kind.LAMBDA_ON_FAILURE, invocation_reason(context, record), envelope, payload


def _endpoint_name(text: str) -> str | None:
    """requestParameters.endpointName of a notification that `parse_async_notice` accepted."""
    endpoint = (json.loads(text).get("requestParameters") or {}).get("endpointName")
    return endpoint if isinstance(endpoint, str) else None
