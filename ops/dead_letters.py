"""Dead-letter queue messages, decoded (pure): what failed, why, and the event that goes back.

One route DLQ collects up to three kinds of message (infra/messaging.py `RouteChannel`):

- `sqs-redrive` (sqs routes): SQS moved the route queue's message after `maxReceiveCount` receives; the body
  is the S3 notification as S3 sent it. Goes back to the route's queue.
- `lambda-on-failure` (sns, lambda, eventbridge routes): Lambda's invocation record of an asynchronous
  invocation that failed every retry: `requestContext` (`condition`, `approximateInvokeCount`,
  `functionArn`), `requestPayload` (the original event), `responseContext`, `responsePayload` (the error)
  (Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html). The event goes back
  to the function as an asynchronous invocation.
- `sns-subscription` (sns routes): a message the topic could not deliver to the function (subscription
  redrive policy; SNS Developer Guide, "Amazon SNS dead-letter queues",
  https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html). Its body is the SNS message
  envelope, or the raw message; it goes back to the function as the SNS event Lambda would have received.
- `eventbridge-target` (eventbridge routes): an event the rule could not deliver to its target; the body is
  the event and the message attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`,
  `EXHAUSTED_RETRY_CONDITION`, `RETRY_ATTEMPTS` say why (EventBridge User Guide, "Using dead-letter queues
  to process undelivered events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
  The event goes back to the target, the function.
- `kinesis-on-failure` (kinesis routes): the event source mapping gave up on a batch (retries exhausted, or
  records too old) and sent its metadata, not its records: `requestContext` (`condition`,
  `approximateInvokeCount`, `functionArn`), `responseContext`, `version`, `timestamp` and `KinesisBatchInfo`
  (`shardId`, `startSequenceNumber`, `endSequenceNumber`, `approximateArrivalOfFirstRecord`,
  `approximateArrivalOfLastRecord`, `batchSize`, `streamArn`) (Lambda Developer Guide, "Retain discarded
  batch records for a Kinesis Data Streams event source in Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html). A redrive re-reads
  those records from the stream while it still keeps them (`ops/stream_batches.py`).

Anything else is `Unreadable`, with the reason: the CLI counts it as skipped and leaves it in the queue.
An async model's result writer has a DLQ of its own, decoded by `ops/writer_letters.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lambdas.inference.domain import RouteScope, sequence_number_order
from lambdas.inference.events import normalise_event

from .outputs import Route

EVENTBRIDGE_ATTRIBUTES = (
    "RULE_ARN",
    "TARGET_ARN",
    "ERROR_CODE",
    "ERROR_MESSAGE",
    "EXHAUSTED_RETRY_CONDITION",
    "RETRY_ATTEMPTS",
)
# Where each kind may appear (RouteChannel's DLQ senders per route kind).
KINDS_BY_VIA = {
    "sqs": ("sqs-redrive",),
    "sns": ("lambda-on-failure", "sns-subscription"),
    "lambda": ("lambda-on-failure",),
    "eventbridge": ("lambda-on-failure", "eventbridge-target"),
    "kinesis": ("kinesis-on-failure",),
}
REASON_LIMIT = 300


class Kind(StrEnum):
    SQS_REDRIVE = "sqs-redrive"
    LAMBDA_ON_FAILURE = "lambda-on-failure"
    SNS_SUBSCRIPTION = "sns-subscription"
    EVENTBRIDGE_TARGET = "eventbridge-target"
    KINESIS_ON_FAILURE = "kinesis-on-failure"


@dataclass(frozen=True)
class StreamBatch:
    """A dead-lettered Kinesis batch: where its records are in the stream (`KinesisBatchInfo`)."""

    stream_arn: str
    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    batch_size: int
    first_arrival: str | None = None
    last_arrival: str | None = None

    @property
    def sequence_range(self) -> str:
        if self.start_sequence_number == self.end_sequence_number:
            return self.start_sequence_number
        return f"{self.start_sequence_number}..{self.end_sequence_number}"

    def holds(self, sequence_number: str) -> bool:
        """Whether a record of this shard with `sequence_number` is one of the batch's."""
        order = sequence_number_order(sequence_number)
        first = sequence_number_order(self.start_sequence_number) or ""
        last = sequence_number_order(self.end_sequence_number) or ""
        return order is not None and first <= order <= last

    def is_past(self, sequence_number: str) -> bool:
        """Whether a record of this shard comes after the batch's last one."""
        order = sequence_number_order(sequence_number)
        return order is not None and order > (sequence_number_order(self.end_sequence_number) or "")


@dataclass(frozen=True)
class DeadLetter:
    """A decoded DLQ message and what a redrive sends back."""

    message_id: str
    kind: Kind
    reason: str
    # The objects the event names inside the route (what a redrive would process), and outside it.
    object_uris: tuple[str, ...]
    refused_uris: tuple[str, ...]
    # sqs-redrive: the message body to send to the route queue; else the event to invoke the function with.
    redelivery: str | dict[str, Any]
    sent_at_ms: int | None = None
    # kinesis-on-failure: the batch to re-read from the stream (the message holds no record).
    batch: StreamBatch | None = None

    @property
    def redeliverable(self) -> bool:
        """Only an event naming objects of this route (or a batch of its stream) is sent back: the function
        would refuse anything else again, straight back into the DLQ."""
        return bool(self.object_uris) or self.batch is not None

    @property
    def why_not_redeliverable(self) -> str:
        if self.refused_uris:
            return f"names objects outside the route: {', '.join(self.refused_uris)}"
        return "names no object (the function would refuse it again)"


@dataclass(frozen=True)
class Unreadable:
    """A DLQ message in a shape none of the route's senders writes."""

    message_id: str
    why: str
    sent_at_ms: int | None = None


@dataclass(frozen=True)
class Received:
    """The parts of an SQS ReceiveMessage entry every DLQ decoder reads."""

    message_id: str
    sent_at_ms: int | None
    body: Any
    attributes: dict[str, Any]  # message attributes: name -> string value
    document: Any  # the body parsed as JSON (None when it is not JSON)


def received(message: dict[str, Any]) -> Received:
    body = message.get("Body")
    try:
        document = json.loads(body) if isinstance(body, str) else None
    except json.JSONDecodeError:
        document = None
    return Received(
        message_id=str(message.get("MessageId", "?")),
        sent_at_ms=_int((message.get("Attributes") or {}).get("SentTimestamp")),
        body=body,
        attributes={
            name: value.get("StringValue")
            for name, value in (message.get("MessageAttributes") or {}).items()
            if isinstance(value, dict)
        },
        document=document,
    )


def decode(  # noqa: PLR0911 - one return per verdict
    message: dict[str, Any], route: Route, bucket: str
) -> DeadLetter | Unreadable:
    """Decode one SQS ReceiveMessage entry from `route`'s DLQ."""
    got = received(message)
    message_id, sent_at, attributes, document = got.message_id, got.sent_at_ms, got.attributes, got.document
    if not isinstance(document, dict):
        return Unreadable(message_id, f"body is not a JSON object: {preview(got.body)}", sent_at)
    if "KinesisBatchInfo" in document:
        return _kinesis_batch_record(message_id, document, route, sent_at)

    decoded = _classify(document, attributes, route)
    if isinstance(decoded, str):
        return Unreadable(message_id, decoded, sent_at)
    kind, reason, event, redelivery = decoded
    if kind.value not in KINDS_BY_VIA[route.via]:
        return Unreadable(
            message_id, f"a {kind.value} message, which a {route.via} route's DLQ never receives", sent_at
        )
    scope = RouteScope(name=route.name, bucket=bucket, prefix=route.prefix, suffix=route.suffix)
    normalised = normalise_event(event, scope)
    if normalised.problem:
        return Unreadable(message_id, normalised.problem, sent_at)
    uris = tuple(ref.uri for record in normalised.records for ref in record.refs)
    refused = tuple(r.object_uri for record in normalised.records for r in record.refusals)
    problems = [p for record in normalised.records for p in record.problems]
    if not uris and not refused and problems:
        return Unreadable(message_id, "; ".join(problems), sent_at)
    return DeadLetter(message_id, kind, reason, uris, refused, redelivery, sent_at)


Classified = tuple[Kind, str, dict[str, Any], str | dict[str, Any]]


def _classify(  # noqa: PLR0911 - one return per message shape
    document: dict[str, Any], attributes: dict[str, Any], route: Route
) -> Classified | str:
    if "requestContext" in document and "requestPayload" in document:
        return _invocation_record(document, route)
    if any(name in attributes for name in EVENTBRIDGE_ATTRIBUTES):
        return Kind.EVENTBRIDGE_TARGET, _eventbridge_reason(attributes), document, document
    if document.get("Type") == "Notification" and "TopicArn" in document and "Message" in document:
        return (
            Kind.SNS_SUBSCRIPTION,
            sns_reason(attributes),
            sns_lambda_event(document),
            sns_lambda_event(document),
        )
    if isinstance(document.get("Records"), list):
        if route.via == "sqs":
            reason = "the function failed it on every receive; SQS moved it after maxReceiveCount"
            return Kind.SQS_REDRIVE, reason, document, json.dumps(document)
        if route.via == "sns":
            # Raw message delivery: the body is the message itself (the S3 notification).
            envelope = {"Type": "Notification", "TopicArn": route.topic_arn, "Message": json.dumps(document)}
            return Kind.SNS_SUBSCRIPTION, sns_reason(attributes), document, sns_lambda_event(envelope)
        return (
            f"an S3 notification, which a {route.via} route's DLQ receives only inside an invocation record"
        )
    if "detail-type" in document and "detail" in document:
        return Kind.EVENTBRIDGE_TARGET, _eventbridge_reason(attributes), document, document
    return f"not a shape any DLQ sender writes (keys: {', '.join(sorted(document)[:8])})"


def _not_our_function(context: dict[str, Any], route: Route) -> str | None:
    function_arn = str(context.get("functionArn") or "")
    # functionArn carries the qualifier (`:$LATEST` or a version): the record's function is ours or not.
    if function_arn and not (
        function_arn == route.function_arn or function_arn.startswith(route.function_arn + ":")
    ):
        return f"an invocation record of function {function_arn}, not of route {route.name!r}'s function"
    return None


def _kinesis_batch_record(  # noqa: PLR0911 - one return per refusal
    message_id: str, record: dict[str, Any], route: Route, sent_at: int | None
) -> DeadLetter | Unreadable:
    """A Kinesis mapping's on-failure record: the batch's place in the stream, and why it was given up."""
    if route.via != "kinesis":
        why = f"a kinesis-on-failure message, which a {route.via} route's DLQ never receives"
        return Unreadable(message_id, why, sent_at)
    context = record.get("requestContext") if isinstance(record.get("requestContext"), dict) else {}
    if problem := _not_our_function(context, route):
        return Unreadable(message_id, problem, sent_at)
    info = record["KinesisBatchInfo"]
    if not isinstance(info, dict):
        return Unreadable(message_id, "KinesisBatchInfo is not an object", sent_at)
    stream_arn = str(info.get("streamArn") or "")
    if stream_arn != route.stream_arn:
        why = f"a batch of stream {stream_arn or '?'}, not of route {route.name!r}'s stream"
        return Unreadable(message_id, why, sent_at)
    start, end = info.get("startSequenceNumber"), info.get("endSequenceNumber")
    start_order, end_order = sequence_number_order(start), sequence_number_order(end)
    if start_order is None or end_order is None or start_order > end_order:
        return Unreadable(message_id, f"KinesisBatchInfo has no sequence range ({start!r}..{end!r})", sent_at)
    shard_id, size = info.get("shardId"), _int(info.get("batchSize"))
    if not isinstance(shard_id, str) or not shard_id or size is None or size < 1:
        return Unreadable(message_id, "KinesisBatchInfo lacks its shardId or batchSize", sent_at)
    batch = StreamBatch(
        stream_arn=stream_arn,
        shard_id=shard_id,
        start_sequence_number=str(start),
        end_sequence_number=str(end),
        batch_size=size,
        first_arrival=info.get("approximateArrivalOfFirstRecord"),
        last_arrival=info.get("approximateArrivalOfLastRecord"),
    )
    # The record holds no records and no response payload: only whether the function raised.
    reason = invocation_reason(context, record)
    return DeadLetter(message_id, Kind.KINESIS_ON_FAILURE, reason, (), (), record, sent_at, batch=batch)


def _invocation_record(record: dict[str, Any], route: Route) -> Classified | str:
    context = record.get("requestContext") if isinstance(record.get("requestContext"), dict) else {}
    if problem := _not_our_function(context, route):
        return problem
    payload = record.get("requestPayload")
    if not isinstance(payload, dict):
        return "the invocation record's requestPayload is not an event object"
    return Kind.LAMBDA_ON_FAILURE, invocation_reason(context, record), payload, payload


def invocation_reason(context: dict[str, Any], record: dict[str, Any]) -> str:
    """Why Lambda gave an invocation up: its condition, attempts, and the function's error."""
    condition = context.get("condition") or "failed"
    attempts = context.get("approximateInvokeCount")
    reason = f"{condition}" + (f" after {attempts} attempts" if attempts else "")
    error = _function_error(record.get("responsePayload"), record.get("responseContext"))
    if error:
        reason += f": {error}"
    return _cut(reason)


def _function_error(payload: Any, context: Any) -> str:
    if isinstance(payload, dict) and (payload.get("errorType") or payload.get("errorMessage")):
        return f"{payload.get('errorType') or 'Error'}: {payload.get('errorMessage') or ''}".strip()
    if isinstance(payload, str) and payload:
        return payload
    if isinstance(context, dict) and context.get("functionError"):
        return f"function error ({context['functionError']})"
    return ""


def _eventbridge_reason(attributes: dict[str, Any]) -> str:
    code, message = attributes.get("ERROR_CODE"), attributes.get("ERROR_MESSAGE")
    reason = f"{code or 'undelivered'}" + (f": {message}" if message else "")
    if attributes.get("EXHAUSTED_RETRY_CONDITION"):
        reason += f" ({attributes['EXHAUSTED_RETRY_CONDITION']})"
    if attributes.get("RETRY_ATTEMPTS") is not None:
        reason += f", {attributes['RETRY_ATTEMPTS']} retries"
    return _cut(reason)


def sns_reason(attributes: dict[str, Any]) -> str:
    details = ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()) if v)
    return _cut("SNS could not deliver it to the function" + (f" ({details})" if details else ""))


def sns_lambda_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda gives a function subscribed to a topic, for one SNS message envelope."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": envelope.get("SubscriptionArn")
                or f"{envelope.get('TopicArn')}:redrive",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": envelope.get("MessageId"),
                    "TopicArn": envelope.get("TopicArn"),
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope.get("Timestamp"),
                    "MessageAttributes": envelope.get("MessageAttributes") or {},
                },
            }
        ]
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _cut(text: str) -> str:
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def preview(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
