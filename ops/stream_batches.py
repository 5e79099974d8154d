"""A dead-lettered Kinesis batch, redriven (pure): which re-read records are the batch's, the event the
event source mapping delivers for them, and what the function's answer means.

A kinesis route's DLQ holds the batch's place in the stream, not its records (`dead_letters.StreamBatch`).
A redrive reads them again from the shard (GetShardIterator AT_SEQUENCE_NUMBER at the first sequence
number, GetRecords until past the last; `aws.read_stream_batch`) and invokes the route's function with the
event Lambda's mapping would have sent ("Using Lambda with Kinesis Data Streams", sample event,
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html). Same sequence numbers, so the same
results keys and the same conditional writes: a record already scored changes nothing. Records the stream
no longer keeps (past its retention, `kinesis.retentionHours`) cannot be redriven; they are counted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .dead_letters import StreamBatch

EXPIRED = "expired from the stream"


@dataclass(frozen=True)
class StreamRecord:
    """One record as GetRecords returns it (data as bytes, arrival as seconds since the epoch)."""

    sequence_number: str
    partition_key: str
    data: bytes
    arrival_epoch: float


@dataclass(frozen=True)
class ReRead:
    """The batch's records the stream still holds, in shard order, and how many it no longer does."""

    records: tuple[StreamRecord, ...]
    expired: int

    @property
    def why_kept(self) -> str | None:
        """Why the DLQ message stays even after a successful redelivery (None: nothing is missing)."""
        if not self.expired:
            return None
        if not self.records:
            return EXPIRED
        total = self.expired + len(self.records)
        return f"{self.expired} of {total} records {EXPIRED} (the rest redelivered; message kept)"


def collect(batch: StreamBatch, read: Iterable[StreamRecord]) -> ReRead:
    """The records of `read` (a shard read from the batch's first sequence number on) that are the batch's.

    Records before the first sequence number (a reader that started at the trim horizon instead) and after
    the last are not the batch's; fewer than `batchSize` left means the rest were trimmed from the stream.
    """
    seen: dict[str, StreamRecord] = {}
    for record in read:
        if batch.holds(record.sequence_number):
            seen.setdefault(record.sequence_number, record)
    kept = tuple(seen.values())
    return ReRead(kept, max(0, batch.batch_size - len(kept)))


def kinesis_event(
    batch: StreamBatch, records: Iterable[StreamRecord], region: str, role_arn: str | None
) -> dict[str, Any]:
    """The event the route's event source mapping delivers for `records` of the batch's shard."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": record.sequence_number,
                    "data": base64.b64encode(record.data).decode("ascii"),
                    "approximateArrivalTimestamp": round(record.arrival_epoch, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{batch.shard_id}:{record.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role_arn or "",
                "awsRegion": region,
                "eventSourceARN": batch.stream_arn,
            }
            for record in records
        ]
    }


def invocation_failure(function_error: str | None, payload: Any) -> str | None:
    """Why a RequestResponse invocation with a Kinesis event did not complete the batch (None: it did).

    The function reports a Kinesis batch's failed records as `batchItemFailures` naming the first failed
    sequence number (Lambda Developer Guide, "Configuring partial batch response with Kinesis Data Streams
    and Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html);
    a function error sets the Invoke response's FunctionError (Lambda API Reference, Invoke,
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
    """
    if function_error:
        detail = ""
        if isinstance(payload, dict) and (payload.get("errorType") or payload.get("errorMessage")):
            detail = f": {payload.get('errorType') or 'Error'}: {payload.get('errorMessage') or ''}".rstrip()
        return f"function error ({function_error}){detail}"
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not failures:
        return None
    named = (
        [f.get("itemIdentifier") for f in failures if isinstance(f, dict)]
        if isinstance(failures, list)
        else []
    )
    first = named[0] if named and named[0] else "?"
    return f"the function failed the batch again from sequence number {first}"
