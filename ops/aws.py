"""The AWS side of the CLI, thin: boto3 clients by the standard credential chain and `AWS_ENDPOINT_URL`
(botocore reads it, so the same commands run against the local cloud), and the few calls each command
makes. Decisions live in the pure modules; this module only moves messages and events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.inference.contract import TABLE_PARTITION_KEY

from .dead_letters import DeadLetter, Kind, StreamBatch, Unreadable, decode
from .outputs import ResultWriter, Route, Stack
from .s3_events import ObjectVersion
from .stream_batches import StreamRecord
from .writer_letters import NoticeLetter, decode_notice

# SQS ReceiveMessage returns at most 10 messages per call (SQS API Reference, ReceiveMessage).
RECEIVE_BATCH = 10
# Long enough for a redrive to redeliver a batch before SQS shows its messages again; every message the run
# does not delete is made visible again at the end (ChangeMessageVisibility to 0).
HOLD_SECONDS = 300
# The states of a message move task that end it (SQS API Reference, ListMessageMoveTasks).
MOVE_TASK_DONE = ("COMPLETED", "CANCELLED", "FAILED")
INVOKE_ACCEPTED = 202  # Lambda Invoke, InvocationType=Event: 202 when the event is queued
INVOKE_DONE = 200  # Lambda Invoke, InvocationType=RequestResponse: 200, with FunctionError if it raised
# GetRecords returns at most 10,000 records a call (Kinesis API Reference, GetRecords, `Limit`); a read of a
# batch stops at the first record past it, at the shard's tip (MillisBehindLatest 0), at the end of a closed
# shard (no NextShardIterator), or after this many calls (GetRecords may answer empty before the records).
GET_RECORDS_LIMIT = 10_000
MAX_EMPTY_READS = 20


class Clients:
    """One boto3 session for the stack's region; clients made on first use."""

    def __init__(self, region: str) -> None:
        self.session = boto3.session.Session(region_name=region)
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]


class Pacer:
    """At most `rate` operations per second (None: no limit); clock and sleep are injectable."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass
class Held:
    """A received DLQ message, with its decoding."""

    message: dict[str, Any]
    decoded: DeadLetter | NoticeLetter | Unreadable


@dataclass
class QueueLook:
    url: str
    visible: int
    in_flight: int
    held: list[Held] = field(default_factory=list)

    def oldest_age_seconds(self, now: datetime) -> float | None:
        sent = [h.decoded.sent_at_ms for h in self.held if h.decoded.sent_at_ms is not None]
        return (now.timestamp() * 1000 - min(sent)) / 1000 if sent else None


def queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)), int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def receive(sqs: Any, url: str, hold_seconds: int = HOLD_SECONDS) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=RECEIVE_BATCH,
        VisibilityTimeout=hold_seconds,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make held messages visible again at once (visibility timeout 0), ten per request."""
    for start in range(0, len(messages), RECEIVE_BATCH):
        chunk = messages[start : start + RECEIVE_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ],
        )


Decoder = Callable[[dict[str, Any]], DeadLetter | NoticeLetter | Unreadable]


def each_message(sqs: Any, url: str, decoder: Decoder, limit: int | None) -> Iterator[Held]:
    """Every message of a DLQ once (up to `limit`), held invisible until the caller releases or deletes it."""
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        messages = receive(sqs, url)
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            release(sqs, url, messages)
            return
        for message in fresh:
            if limit is not None and len(seen) >= limit:
                release(sqs, url, [message])
                continue
            seen.add(message["MessageId"])
            yield Held(message, decoder(message))


def look_at(sqs: Any, url: str, decoder: Decoder, sample: int) -> QueueLook:
    """Counts and up to `sample` decoded messages of a DLQ; nothing is deleted."""
    visible, in_flight = queue_counts(sqs, url)
    held = list(each_message(sqs, url, decoder, sample)) if visible else []
    release(sqs, url, [h.message for h in held])
    return QueueLook(url, visible, in_flight, held)


def each_dead_letter(sqs: Any, route: Route, bucket: str, limit: int | None) -> Iterator[Held]:
    """Every message of a route's DLQ once (see `each_message`)."""
    return each_message(sqs, route.dlq_url, lambda m: decode(m, route, bucket), limit)


def look(sqs: Any, route: Route, bucket: str, sample: int) -> QueueLook:
    """Counts and up to `sample` decoded messages of a route's DLQ; nothing is deleted."""
    return look_at(sqs, route.dlq_url, lambda m: decode(m, route, bucket), sample)


def each_notice_letter(sqs: Any, writer: ResultWriter, limit: int | None) -> Iterator[Held]:
    """Every message of an async model's result writer DLQ once (see `each_message`)."""
    return each_message(sqs, writer.dlq_url, lambda m: decode_notice(m, writer), limit)


def look_at_writer(sqs: Any, writer: ResultWriter, sample: int) -> QueueLook:
    """Counts and up to `sample` decoded messages of a result writer's DLQ; nothing is deleted."""
    return look_at(sqs, writer.dlq_url, lambda m: decode_notice(m, writer), sample)


def redeliver(clients: Clients, route: Route, letter: DeadLetter) -> None:
    """Send a dead letter back through the route's own function; raises if not accepted."""
    if letter.kind is Kind.SQS_REDRIVE:
        clients.sqs.send_message(QueueUrl=route.queue_url, MessageBody=letter.redelivery)
        return
    invoke(clients, route, json.dumps(letter.redelivery))


def redeliver_notice(clients: Clients, writer: ResultWriter, letter: NoticeLetter) -> None:
    """Send a result writer's dead letter back to the writer, as its SNS event; raises if not accepted."""
    invoke_function(clients, writer.function_name, json.dumps(letter.redelivery))


def invoke(clients: Clients, route: Route, payload: str) -> None:
    invoke_function(clients, route.function_name, payload)


def invoke_function(clients: Clients, function_name: str, payload: str) -> None:
    """An asynchronous invoke (InvocationType Event); raises unless Lambda accepted it (202)."""
    answer = clients.__getattr__("lambda").invoke(
        FunctionName=function_name, InvocationType="Event", Payload=payload.encode("utf-8")
    )
    if answer.get("StatusCode") != INVOKE_ACCEPTED:
        raise RuntimeError(f"Lambda answered {answer.get('StatusCode')} to an asynchronous invoke")


class StreamUnreadable(Exception):
    """The batch's shard cannot be read (stream or shard gone, or the sequence number refused)."""


def read_stream_batch(kinesis: Any, batch: StreamBatch) -> Iterator[StreamRecord]:
    """The shard's records from the batch's first sequence number until just past its last.

    GetShardIterator AT_SEQUENCE_NUMBER starts at that record itself (Kinesis API Reference,
    GetShardIterator, https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html);
    `stream_batches.collect` keeps the batch's records and counts the ones the stream no longer holds.
    """
    try:
        iterator = kinesis.get_shard_iterator(
            StreamARN=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=batch.start_sequence_number,
        )["ShardIterator"]
    except ClientError as err:
        error = err.response.get("Error", {})
        if error.get("Code") in ("ResourceNotFoundException", "InvalidArgumentException"):
            raise StreamUnreadable(f"{error.get('Code')}: {error.get('Message', '')}".strip()) from err
        raise
    empty = 0
    while iterator and empty < MAX_EMPTY_READS:
        page = kinesis.get_records(
            StreamARN=batch.stream_arn,
            ShardIterator=iterator,
            Limit=min(batch.batch_size + 1, GET_RECORDS_LIMIT),
        )
        for raw in page.get("Records", []):
            record = _stream_record(raw)
            yield record
            if batch.is_past(record.sequence_number):
                return
        if not page.get("Records"):
            if page.get("MillisBehindLatest", 0) == 0:
                return
            empty += 1
        iterator = page.get("NextShardIterator")


def _stream_record(raw: dict[str, Any]) -> StreamRecord:
    arrival = raw.get("ApproximateArrivalTimestamp")
    epoch = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival or 0)
    return StreamRecord(str(raw["SequenceNumber"]), str(raw["PartitionKey"]), bytes(raw["Data"]), epoch)


def invoke_and_wait(clients: Clients, route: Route, event: dict[str, Any]) -> tuple[str | None, Any]:
    """Invoke the route's function synchronously (RequestResponse), so its partial batch response can be
    read; (FunctionError or None, the decoded response payload). Raises if Lambda did not run it."""
    answer = clients.__getattr__("lambda").invoke(
        FunctionName=route.function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode("utf-8"),
    )
    if answer.get("StatusCode") != INVOKE_DONE:
        raise RuntimeError(f"Lambda answered {answer.get('StatusCode')} to a synchronous invoke")
    body = answer["Payload"].read() if answer.get("Payload") is not None else b""
    try:
        payload = json.loads(body) if body else None
    except json.JSONDecodeError:
        payload = body.decode("utf-8", "replace")
    return answer.get("FunctionError"), payload


def send_to_entry(clients: Clients, route: Route, payload: str) -> None:
    """An event into the route's own entry: its queue, its topic, or its function."""
    if route.via == "sqs":
        clients.sqs.send_message(QueueUrl=route.queue_url, MessageBody=payload)
    elif route.via == "sns":
        clients.sns.publish(TopicArn=route.topic_arn, Message=payload)
    else:
        invoke(clients, route, payload)


def start_move_task(sqs: Any, route: Route, rate: int | None) -> str | None:
    """StartMessageMoveTask from the DLQ back to the route queue; None when the endpoint lacks it."""
    params: dict[str, Any] = {"SourceArn": route.dlq_arn, "DestinationArn": route.queue_arn}
    if rate:
        params["MaxNumberOfMessagesPerSecond"] = rate
    try:
        return sqs.start_message_move_task(**params)["TaskHandle"]
    except ClientError as err:
        # "500"/"501": botocore names an error by its HTTP status when the body is no AWS error document
        # (observed with moto's server, which answers an HTML 500 page: it lacks the API). Moving the
        # messages one by one instead is the same redrive, only slower, so falling back is safe either way.
        if err.response.get("Error", {}).get("Code") in (
            "UnsupportedOperation",
            "InvalidAction",
            "500",
            "501",
        ):
            return None
        raise
    # An SQS-compatible endpoint without the API (moto raises NotImplementedError in-process).
    except NotImplementedError:
        return None


def move_task_status(sqs: Any, route: Route) -> dict[str, Any]:
    tasks = sqs.list_message_move_tasks(SourceArn=route.dlq_arn, MaxResults=1).get("Results", [])
    return tasks[0] if tasks else {"Status": "COMPLETED"}


def current_objects(s3: Any, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
    """The current version of every object under `prefix` (ListObjectVersions: real version ids)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if version.get("IsLatest"):
                yield _object(bucket, version)


def head_object(s3: Any, bucket: str, key: str, version_id: str | None) -> ObjectVersion | None:
    params = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    try:
        head = s3.head_object(**params)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion", "403"):
            return None
        raise
    return ObjectVersion(
        bucket, key, head.get("VersionId"), head["ETag"], int(head["ContentLength"]), head["LastModified"]
    )


class ObjectUnreadable(Exception):
    """GetObject refused (no such bucket or key, access denied): an input the operator named is wrong."""


def object_bytes(s3: Any, bucket: str, key: str) -> bytes:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        error = err.response.get("Error", {})
        raise ObjectUnreadable(f"{error.get('Code')}: {error.get('Message', '')}".strip()) from err


def _object(bucket: str, version: dict[str, Any]) -> ObjectVersion:
    modified = version["LastModified"]
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return ObjectVersion(
        bucket, version["Key"], version.get("VersionId"), version["ETag"], int(version["Size"]), modified
    )


_DESERIALIZER = TypeDeserializer()


def item(dynamodb: Any, table: str, uri: str) -> dict[str, Any] | None:
    raw = dynamodb.get_item(TableName=table, Key={TABLE_PARTITION_KEY: {"S": uri}}, ConsistentRead=True)
    return {k: _DESERIALIZER.deserialize(v) for k, v in raw["Item"].items()} if "Item" in raw else None


def items(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            yield {k: _DESERIALIZER.deserialize(v) for k, v in raw.items()}


def account_of(route: Route) -> str:
    return route.function_arn.split(":")[4]


AWS_ERRORS = (ClientError, BotoCoreError)


def check_stack_reachable(clients: Clients, stack: Stack) -> None:
    """DescribeTable: outputs of a stack that is not deployed here fail now, not midway."""
    clients.dynamodb.describe_table(TableName=stack.table)
