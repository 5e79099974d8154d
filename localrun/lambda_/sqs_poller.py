"""Lambda's SQS event source mapping, emulated: poll, invoke with a batch, delete what succeeded.

moto's own SQS → Lambda path invokes the function inside SendMessage, one message at
a time, and treats any error as a failure of everything; the local run detaches moto's
mapping from the queue (`_take_over` below) and polls like Lambda does:

- `ReceiveMessage` with the function's role (Lambda polls with the execution role)
  up to the mapping's batch size, all system and message attributes;
- one synchronous invocation with an AWS-shaped SQS event;
- a function error fails the whole batch; with `ReportBatchItemFailures`, only the
  listed `itemIdentifier`s fail (an unknown or empty identifier fails the whole
  batch, as Lambda does); everything else is deleted with `DeleteMessageBatch`;
- failed messages stay invisible for the queue's visibility timeout and are received
  again; moto moves a message to the queue's DLQ on the receive after its receive
  count reached `maxReceiveCount` (the redrive policy), as SQS does.

Time: visibility timeouts are minutes long. When nothing else can run, the emulator
advances its clock (`clock.py`) to the moment the first in-flight message becomes
visible again, and `shift_sqs_timers` moves every moto SQS timer back by the same
amount — the same effect as waiting, recorded as a simulated wait. The pipeline is idle
only when no polled queue holds a message at all (`seconds_until_receivable`).
Not emulated: the batching window is not waited for (the poller takes what is visible
when the pipeline is otherwise idle), and batches run one at a time (so
`ScalingConfig.MaximumConcurrency` is never reached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.core.utils import unix_time_millis
from moto.sqs.models import sqs_backends

from ..calls import CallRecorder
from ..patches import Patch
from ..trace import Trace, objects_in_event
from .runtime import LambdaRuntime, queue_url_from_arn

RECEIVE_MAX_MESSAGES = 10  # SQS ReceiveMessage returns at most 10 messages per call
_LAMBDA_SQS_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
)


@dataclass
class EventSourceMapping:
    """The parts of a mapping the poller honours."""

    uuid: str
    function_name: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True
    queue_checked: bool = False


@dataclass
class BatchOutcome:
    """One polled batch: what was received, what the function reported, what was deleted."""

    mapping_uuid: str
    message_ids: list[str]
    failed_ids: list[str]
    function_error: str | None


class SqsEventSourcePoller:
    """Polls every SQS event source mapping; one `poll()` runs at most one batch per mapping."""

    def __init__(self, runtime: LambdaRuntime, recorder: CallRecorder, trace: Trace) -> None:
        self.runtime = runtime
        self.recorder = recorder
        self.trace = trace
        self.mappings: dict[str, EventSourceMapping] = {}
        self.batches: list[BatchOutcome] = []
        self.dead_lettered: list[str] = []  # message ids SQS moved to a dead-letter queue
        self._awaiting_redelivery: dict[
            str, tuple[str, list[str], str]
        ] = {}  # id -> (queue arn, uris, receives)

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.awslambda.models.LambdaBackend",
                "create_event_source_mapping",
                wrap=self._wrap_create,
                reason="every SQS mapping moto creates is taken over by this poller",
            )
        ]

    def _wrap_create(self, original: Callable[..., Any]) -> Callable[..., Any]:
        poller = self

        def create_event_source_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> Any:
            mapping = original(backend, spec)
            if mapping.event_source_arn.split(":")[2] == "sqs":
                poller._take_over(mapping)
            return mapping

        return create_event_source_mapping

    def _take_over(self, mapping: Any) -> None:
        # moto registers the mapping on the queue and invokes inside SendMessage; detach it.
        self._queue(mapping.event_source_arn).lambda_event_source_mappings.pop(mapping.function_arn, None)
        self.mappings[mapping.uuid] = EventSourceMapping(
            uuid=mapping.uuid,
            function_name=mapping.function_arn.rsplit(":", 1)[-1],
            queue_arn=mapping.event_source_arn,
            batch_size=int(mapping.batch_size or 10),
            report_batch_item_failures="ReportBatchItemFailures" in (mapping.function_response_types or []),
            enabled=bool(mapping.enabled),
        )

    def poll(self) -> bool:
        """Receive and process one batch per enabled mapping; True if any message was received."""
        received_any = False
        for mapping in list(self.mappings.values()):
            if mapping.enabled and self._poll_mapping(mapping):
                received_any = True
        return received_any

    def seconds_until_receivable(self) -> float | None:
        """Seconds until a message of a polled queue can be received (0.0: now); None if all are empty."""
        # Idle means no message left at all in an enabled mapping's queue: visible, delayed or in flight. A
        # message that is visible already still counts: it may have become visible after the last poll found
        # nothing, and moto notices only on the next ReceiveMessage. The clock and comparisons are moto's
        # (Message.visible / .delayed), so "receivable" here means the next ReceiveMessage returns it.
        now_ms = unix_time_millis()
        waits = []
        for mapping in self.mappings.values():
            if not mapping.enabled:
                continue
            queue = self._queue(mapping.queue_arn)
            # FIFO: SQS holds a group back while one of its messages is in flight (that one is counted).
            held = {m.group_id for m in queue._messages if m.group_id and now_ms <= m.visible_at}
            for message in queue._messages:
                receivable = now_ms > message.visible_at and now_ms >= message.delayed_until
                if receivable and queue.fifo_queue and message.group_id in held:
                    continue
                ready_at = max(message.visible_at, message.delayed_until)
                # Never 0.0 unless receivable: moto's clock ticks in microseconds.
                waits.append(0.0 if receivable else max(ready_at - now_ms, 0.001) / 1000)
        return min(waits, default=None)

    # -- one batch --------------------------------------------------------------------
    def _poll_mapping(self, mapping: EventSourceMapping) -> bool:
        sqs = self.runtime.role_client(mapping.function_name, "sqs")
        queue_url = queue_url_from_arn(mapping.queue_arn)
        messages: list[dict[str, Any]] = []
        with self.recorder.acting_for_function():
            if not mapping.queue_checked:
                # Lambda reads the queue's attributes (with the role) when it starts polling a mapping.
                sqs.get_queue_attributes(
                    QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
                )
                mapping.queue_checked = True
            while len(messages) < mapping.batch_size:
                response = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(RECEIVE_MAX_MESSAGES, mapping.batch_size - len(messages)),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                    WaitTimeSeconds=0,
                )
                if not response.get("Messages"):
                    break
                messages.extend(response["Messages"])
        self._trace_redrives(mapping, {m["MessageId"] for m in messages})
        if not messages:
            return False

        queue_name = mapping.queue_arn.rsplit(":", 1)[-1]
        for message in messages:
            receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            self.trace.record(
                objects_in_event(message["Body"]), f"sqs:{queue_name}", f"received (receive #{receives})"
            )
        event = {"Records": [self._record(mapping, m) for m in messages]}
        result = self.runtime.invoke_sync(mapping.function_name, event, source=f"sqs:{queue_name}")
        ids = [m["MessageId"] for m in messages]
        failed = set(ids) if not result.ok else self._failed_item_ids(mapping, result.payload, ids)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        with self.recorder.acting_for_function():
            for start in range(0, len(succeeded), RECEIVE_MAX_MESSAGES):
                chunk = succeeded[start : start + RECEIVE_MAX_MESSAGES]
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                    ],
                )
        for message in messages:
            uris = objects_in_event(message["Body"])
            if message["MessageId"] in failed:
                self.trace.record(uris, f"sqs:{queue_name}", "batch item failure: stays on the queue")
                receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
                self._awaiting_redelivery[message["MessageId"]] = (mapping.queue_arn, uris, receives)
            else:
                self.trace.record(uris, f"sqs:{queue_name}", "deleted after success")
        self.batches.append(BatchOutcome(mapping.uuid, ids, sorted(failed), result.error_type))
        return True

    def _trace_redrives(self, mapping: EventSourceMapping, received: set[str]) -> None:
        """Record failed messages SQS has since moved to the dead-letter queue (moto does it on receive)."""
        queue = self._queue(mapping.queue_arn)
        present = {m.id for m in queue._messages}
        dead_letter_arn = (queue.redrive_policy or {}).get("deadLetterTargetArn", "")
        for message_id, (queue_arn, uris, receives) in list(self._awaiting_redelivery.items()):
            if queue_arn != mapping.queue_arn or message_id in received or message_id in present:
                continue
            del self._awaiting_redelivery[message_id]
            self.dead_lettered.append(message_id)
            self.trace.record(
                uris,
                f"sqs:{dead_letter_arn.rsplit(':', 1)[-1]}",
                f"moved by the redrive policy after {receives} receives (dead-letter queue)",
            )
        for message_id in received:
            self._awaiting_redelivery.pop(message_id, None)

    def _record(self, mapping: EventSourceMapping, message: dict[str, Any]) -> dict[str, Any]:
        """One record of the SQS event Lambda builds from a received message."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                k: v for k, v in message.get("Attributes", {}).items() if k in _LAMBDA_SQS_ATTRIBUTES
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": value.get("StringListValues", []),
                    "binaryListValues": value.get("BinaryListValues", []),
                    "dataType": value.get("DataType"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": mapping.queue_arn,
            "awsRegion": self.runtime.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    @staticmethod
    def _failed_item_ids(mapping: EventSourceMapping, payload: Any, ids: list[str]) -> set[str]:
        """Which messages failed, read from a successful invocation's response."""
        if not mapping.report_batch_item_failures:
            return set()
        if payload is None:
            return set()
        failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
        if failures is None:
            return set() if isinstance(payload, dict) else set(ids)
        if not isinstance(failures, list):
            return set(ids)
        failed = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in ids:
                # Lambda treats a malformed or unknown identifier as a failure of the whole batch.
                return set(ids)
            failed.add(identifier)
        return failed

    def _queue(self, queue_arn: str) -> Any:
        _, _, _, region, account, name = queue_arn.split(":")
        return sqs_backends[account][region].get_queue(name)


def shift_sqs_timers(account: str, region: str, seconds: float) -> None:
    """Move every moto SQS timer `seconds` into the past: the queues see that much time pass."""
    shift_ms = seconds * 1000
    for queue in sqs_backends[account][region].queues.values():
        for message in queue._messages:
            message.visible_at -= shift_ms
            message.delayed_until -= shift_ms
            message.sent_timestamp -= shift_ms
            if message.approximate_first_receive_timestamp:
                message.approximate_first_receive_timestamp -= shift_ms
