"""Lambda's Kinesis event source mapping, emulated: read each shard in order, invoke with a batch,
checkpoint, retry, bisect, and send what is given up on to the on-failure destination.

moto's own Kinesis → Lambda path invokes the function inside PutRecord, one record at a time, and ignores
the answer; the mapping's creator (`services/lambda_.py`) detaches it and this poller reads the stream with
the function's role, as Lambda does (Lambda Developer Guide, "How Lambda processes records from Kinesis
Data Streams" and "Configuring partial batch response with Kinesis Data Streams and Lambda"):

- on its first poll a mapping describes the stream and lists its shards (`DescribeStream`,
  `DescribeStreamSummary`, `ListShards`); each poll reads, per shard, from its checkpoint
  (`GetShardIterator` AFTER_SEQUENCE_NUMBER, or the mapping's starting position) up to the batch size
  (`GetRecords`), so the records of one shard reach the function in sequence order, one batch at a time;
- a batch that succeeds moves the checkpoint past its last record; with `ReportBatchItemFailures`, a
  response naming sequence numbers moves it to just before the lowest (an empty, null or unknown
  identifier fails the whole batch, as Lambda does), and the rest is retried;
- a failed remainder (or a function error) is split in two when `BisectBatchOnFunctionError` is on and it
  holds more than one record (a split uses no retry); otherwise it is retried until
  `MaximumRetryAttempts` (-1: forever), then an invocation record with `KinesisBatchInfo` (shard, first and
  last sequence number, batch size, stream) is sent with the role to the on-failure destination and the
  shard moves past it.

Not emulated (the program's settings are reported at deploy): `ParallelizationFactor` above 1 (one batch per
shard at a time), the batching window, `MaximumRecordAgeInSeconds` (records are read as soon as the pipeline
is otherwise idle, so none ages on the simulated clock), retry backoff (a retry is the next poll), resharding.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend

from ..calls import CallRecorder
from ..trace import Trace
from .runtime import LambdaRuntime, queue_url_from_arn

UNLIMITED = -1


@dataclass
class Batch:
    """Records of one shard to deliver together, and how often they were retried."""

    records: list[dict[str, Any]]
    attempts: int = 0  # invocations that failed (splits do not count)
    invocations: int = 0


@dataclass
class ShardState:
    shard_id: str
    checkpoint: str | None = None  # the last sequence number done with (None: the starting position)
    pending: list[Batch] = field(default_factory=list)  # retries and bisected halves, in shard order


@dataclass
class StreamMapping:
    uuid: str
    function_name: str
    stream_arn: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    bisect: bool
    max_retries: int
    on_failure: str | None
    shards: dict[str, ShardState] = field(default_factory=dict)
    described: bool = False


@dataclass
class StreamBatchOutcome:
    """One invocation of a stream batch: which records, on which shard, and what failed."""

    mapping_uuid: str
    shard_id: str
    sequence_numbers: list[str]
    failed_from: str | None  # the first sequence number to retry (None: the batch succeeded)
    function_error: str | None


class KinesisEventSourcePoller:
    """Polls every Kinesis event source mapping; one `poll()` runs at most one batch per shard."""

    def __init__(self, runtime: LambdaRuntime, recorder: CallRecorder, trace: Trace) -> None:
        self.runtime = runtime
        self.recorder = recorder
        self.trace = trace
        self.mappings: dict[str, StreamMapping] = {}
        self.batches: list[StreamBatchOutcome] = []
        self.dead_lettered: list[dict[str, Any]] = []  # the on-failure records sent

    def poll(self) -> bool:
        """Deliver one batch per shard of every enabled mapping; True if any function was invoked."""
        self._discover()
        invoked = False
        for mapping in list(self.mappings.values()):
            kinesis = self.runtime.role_client(mapping.function_name, "kinesis")
            if not mapping.described:
                self._describe(mapping, kinesis)
            for shard in mapping.shards.values():
                batch = shard.pending.pop(0) if shard.pending else self._read(mapping, shard, kinesis)
                if batch is not None:
                    self._deliver(mapping, shard, batch)
                    invoked = True
        return invoked

    # -- mappings -----------------------------------------------------------------------
    def _discover(self) -> None:
        backend = lambda_backend(self.runtime.account, self.runtime.region)
        for esm in backend._event_source_mappings.values():
            if esm.uuid in self.mappings or esm.event_source_arn.split(":")[2] != "kinesis":
                continue
            if not esm.enabled:
                continue
            destination = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
            retries = esm.max_retry_attempts
            self.mappings[esm.uuid] = StreamMapping(
                uuid=esm.uuid,
                function_name=esm.function_arn.rsplit(":", 1)[-1],
                stream_arn=esm.event_source_arn,
                batch_size=int(esm.batch_size),
                starting_position=esm.starting_position or "TRIM_HORIZON",
                report_batch_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
                bisect=bool(esm.bisect_on_error),
                max_retries=UNLIMITED if retries is None else int(retries),
                on_failure=destination,
            )

    def _describe(self, mapping: StreamMapping, kinesis: Any) -> None:
        with self.recorder.acting_for_function():
            kinesis.describe_stream_summary(StreamARN=mapping.stream_arn)
            kinesis.describe_stream(StreamARN=mapping.stream_arn)
            shards = kinesis.list_shards(StreamARN=mapping.stream_arn)["Shards"]
        mapping.shards = {s["ShardId"]: ShardState(s["ShardId"]) for s in shards}
        mapping.described = True

    # -- one shard ----------------------------------------------------------------------
    def _read(self, mapping: StreamMapping, shard: ShardState, kinesis: Any) -> Batch | None:
        position: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": shard.checkpoint}
            if shard.checkpoint is not None
            else {"ShardIteratorType": mapping.starting_position}
        )
        with self.recorder.acting_for_function():
            iterator = kinesis.get_shard_iterator(
                StreamARN=mapping.stream_arn, ShardId=shard.shard_id, **position
            )["ShardIterator"]
            records = kinesis.get_records(
                StreamARN=mapping.stream_arn, ShardIterator=iterator, Limit=mapping.batch_size
            )["Records"]
        if not records:
            if shard.checkpoint is None and mapping.starting_position == "LATEST":
                shard.checkpoint = None  # LATEST: nothing yet; a later put is read from here on
            return None
        return Batch([self._event_record(mapping, shard, r) for r in records])

    def _event_record(
        self, mapping: StreamMapping, shard: ShardState, record: dict[str, Any]
    ) -> dict[str, Any]:
        """One record of the event Lambda sends (the AWS sample events' shape)."""
        arrival = record.get("ApproximateArrivalTimestamp")
        stamp = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival or 0)
        function = self.runtime.function(mapping.function_name)
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode("ascii"),
                "approximateArrivalTimestamp": round(stamp, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard.shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": function.role,
            "awsRegion": self.runtime.region,
            "eventSourceARN": mapping.stream_arn,
        }

    def _deliver(self, mapping: StreamMapping, shard: ShardState, batch: Batch) -> None:
        stream = mapping.stream_arn.rsplit("/", 1)[-1]
        numbers = [r["kinesis"]["sequenceNumber"] for r in batch.records]
        batch.invocations += 1
        result = self.runtime.invoke_sync(
            mapping.function_name,
            {"Records": batch.records},
            source=f"kinesis:{stream}/{shard.shard_id}",
            attempt=batch.attempts + 1,
        )
        failed_from = numbers[0] if not result.ok else self._first_failed(mapping, result.payload, numbers)
        self.batches.append(
            StreamBatchOutcome(mapping.uuid, shard.shard_id, numbers, failed_from, result.error_type)
        )
        if failed_from is None:
            shard.checkpoint = numbers[-1]
            return
        index = numbers.index(failed_from)
        if index:
            shard.checkpoint = numbers[index - 1]
        remainder = Batch(batch.records[index:], batch.attempts, batch.invocations)
        if mapping.bisect and len(remainder.records) > 1:
            half = len(remainder.records) // 2
            shard.pending[:0] = [
                Batch(remainder.records[:half], remainder.attempts),
                Batch(remainder.records[half:], remainder.attempts),
            ]
            return
        remainder.attempts += 1
        if mapping.max_retries != UNLIMITED and remainder.attempts > mapping.max_retries:
            self._give_up(mapping, shard, remainder, "RetryAttemptsExhausted", result)
            shard.checkpoint = remainder.records[-1]["kinesis"]["sequenceNumber"]
            return
        shard.pending.insert(0, remainder)

    def _first_failed(self, mapping: StreamMapping, payload: Any, numbers: list[str]) -> str | None:
        """The lowest sequence number the response names (None: complete success)."""
        if not mapping.report_batch_item_failures or not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        named = []
        for failure in failures if isinstance(failures, list) else [None]:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in numbers:
                return numbers[0]  # Lambda treats a malformed or unknown identifier as a failed batch
            named.append(identifier)
        return min(named, key=numbers.index)

    def _give_up(
        self, mapping: StreamMapping, shard: ShardState, batch: Batch, condition: str, result: Any
    ) -> None:
        """Send the batch's invocation record to the on-failure destination with the function's role."""
        first, last = batch.records[0]["kinesis"], batch.records[-1]["kinesis"]
        function = self.runtime.function(mapping.function_name)
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if not result.ok else {}),
            },
            "version": "1.0",
            "timestamp": _iso(self.runtime.clock.now()),
            "KinesisBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["sequenceNumber"],
                "endSequenceNumber": last["sequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["approximateArrivalTimestamp"]),
                "approximateArrivalOfLastRecord": _iso(last["approximateArrivalTimestamp"]),
                "batchSize": len(batch.records),
                "streamArn": mapping.stream_arn,
            },
        }
        stream = mapping.stream_arn.rsplit("/", 1)[-1]
        if mapping.on_failure is None:
            self.trace.record(
                [], f"kinesis:{stream}", f"batch discarded ({condition}, no on-failure destination)"
            )
            return
        with self.recorder.acting_for_function():
            self.runtime.role_client(mapping.function_name, "sqs").send_message(
                QueueUrl=queue_url_from_arn(mapping.on_failure), MessageBody=json.dumps(record)
            )
        self.dead_lettered.append(record)
        self.trace.record(
            [], f"sqs:{mapping.on_failure.rsplit(':', 1)[-1]}", f"on-failure destination ({condition})"
        )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
