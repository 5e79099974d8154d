"""Pure normalisation of every event shape that reaches an inference function (S3 notifications, direct or
through SNS, SQS or both; EventBridge events; Kinesis records) into SourceRecords of object references."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.data_classes.event_bridge_event import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEvent, SNSEventRecord, SNSMessage
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent

from .domain import (
    ObjectRef,
    RouteScope,
    decode_notification_key,
    is_folder_marker,
    iso_utc,
    kinesis_record_uri,
    object_uri,
    record_id,
    sequence_number_order,
)

# The S3 documentation recommends an equal-to check on the notification's major version.
SUPPORTED_EVENT_MAJOR_VERSION = "2"
CREATED_EVENT_PREFIX = "ObjectCreated:"
EVENTBRIDGE_S3_SOURCE = "aws.s3"
EVENTBRIDGE_OBJECT_CREATED = "Object Created"
S3_TEST_EVENT = "s3:TestEvent"
# The route trigger (contract.ENV_ROUTE_VIA) whose event source mapping reads partial batch responses.
SQS_TRIGGER = "sqs"
# The route trigger whose event source mapping reads a stream (and its partial batch responses).
KINESIS_TRIGGER = "kinesis"
# SQS body → SNS envelope → S3 notification is the deepest nesting any route produces.
MAX_NESTING = 2


class Source(StrEnum):
    """Which trigger delivered the event (the same code runs on every route)."""

    SQS = "sqs"
    KINESIS = "kinesis"
    SNS = "sns"
    S3 = "s3"
    EVENTBRIDGE = "eventbridge"
    S3_TEST = "s3_test"
    UNKNOWN = "unknown"

    @property
    def is_batch(self) -> bool:
        """True for triggers that take a partial batch response instead of an exception."""
        return self in (Source.SQS, Source.KINESIS)


@dataclass(frozen=True)
class Skip:
    """Part of an event that is deliberately not processed (acknowledged, logged, never a failure)."""

    reason: str
    object_uri: str | None = None


@dataclass(frozen=True)
class Refusal:
    """An object-created event for an object outside the function's bucket or route filter: never read."""

    reason: str
    object_uri: str


@dataclass(frozen=True)
class SourceRecord:
    """One record of the incoming event and what it asks for."""

    record_id: str
    refs: tuple[ObjectRef, ...] = ()
    skips: tuple[Skip, ...] = ()
    # Unrecognisable parts: retrying cannot fix them, so the record goes to its route's DLQ.
    problems: tuple[str, ...] = ()
    # Objects this function must not read: the record fails like an unrecognisable one, so a misrouted event
    # (a wrong notification, subscription or rule, or a forged message) ends in the DLQ, where an operator
    # sees it, instead of writing a result for another route's object.
    refusals: tuple[Refusal, ...] = ()

    @property
    def permanent_failures(self) -> tuple[str, ...]:
        """Why this record fails whatever happens to its objects (empty when nothing does)."""
        return self.problems + tuple(f"{r.object_uri}: {r.reason}" for r in self.refusals)


@dataclass(frozen=True)
class NormalisedEvent:
    """An incoming event as records of object references."""

    source: Source
    records: tuple[SourceRecord, ...] = field(default_factory=tuple)
    # Set when the event as a whole is not something any route delivers.
    problem: str | None = None


def normalise_event(event: Any, route: RouteScope) -> NormalisedEvent:
    """Detect the event's trigger and normalise each of its records for the function serving `route`; an SQS
    batch reaching a function no queue feeds is a problem of the whole event (README: The results item)."""
    normalised = _normalise_any_event(event, route)
    if normalised.source is Source.SQS and route.via not in ("", SQS_TRIGGER):
        return NormalisedEvent(
            Source.SQS,
            problem=f"an SQS batch reached the function of {route.via} route {route.name!r}, which no queue "
            "feeds (its partial batch response would be read by no one)",
        )
    return normalised


def _normalise_any_event(event: Any, route: RouteScope) -> NormalisedEvent:
    if not isinstance(event, dict):
        return NormalisedEvent(
            Source.UNKNOWN, problem=f"event is a {type(event).__name__}, not a JSON object"
        )
    records = event.get("Records")
    if isinstance(records, list):
        return _normalise_records_event(event, records, route)
    if _is_eventbridge(event):
        return NormalisedEvent(
            Source.EVENTBRIDGE, (_normalise_document(event, route, _eventbridge_id(event)),)
        )
    if event.get("Event") == S3_TEST_EVENT:
        return NormalisedEvent(Source.S3_TEST, (_test_event_record(event, "s3-test-event"),))
    return NormalisedEvent(
        Source.UNKNOWN,
        problem=f"not an S3, SNS, SQS or EventBridge event (top-level keys: {sorted(event)[:8]})",
    )


def _normalise_records_event(event: dict, records: list, route: RouteScope) -> NormalisedEvent:  # noqa: PLR0911 - one return per trigger
    if not records:
        return NormalisedEvent(Source.UNKNOWN, problem="event has an empty Records list")
    first = records[0] if isinstance(records[0], dict) else {}
    origin = first.get("eventSource") or first.get("EventSource")
    if origin == "aws:sqs":
        return NormalisedEvent(
            Source.SQS,
            tuple(
                _normalise_message(rec.get("body"), route, str(rec.get("messageId") or f"Records[{index}]"))
                for index, rec in enumerate(SQSEvent(event).records)
            ),
        )
    if origin == "aws:kinesis":
        if route.via != KINESIS_TRIGGER:
            # Only a kinesis route's mapping reads the partial batch response, and only its role may read a
            # stream: for any other function this is no event it could be sent.
            return NormalisedEvent(
                Source.UNKNOWN,
                problem=f"records from 'aws:kinesis' reach only a kinesis route's function (route "
                f"{route.name!r} is {route.via or 'not'} a kinesis route)",
            )
        return NormalisedEvent(
            Source.KINESIS,
            tuple(_kinesis_record(record, route, index) for index, record in enumerate(records)),
        )
    if origin == "aws:sns":
        return NormalisedEvent(
            Source.SNS,
            tuple(_sns_record(rec, route, index) for index, rec in enumerate(SNSEvent(event).records)),
        )
    if origin == "aws:s3":
        return NormalisedEvent(
            Source.S3,
            tuple(_s3_record(record, route, f"Records[{index}]") for index, record in enumerate(records)),
        )
    return NormalisedEvent(Source.UNKNOWN, problem=f"records from {origin!r} are not S3 notifications")


def _sns_record(record: SNSEventRecord, route: RouteScope, index: int) -> SourceRecord:
    envelope = record.get("Sns")
    if not isinstance(envelope, dict):
        return SourceRecord(f"Records[{index}]", problems=("SNS record has no Sns envelope",))
    message = SNSMessage(envelope)
    return _normalise_message(
        message.get("Message"), route, str(message.get("MessageId") or f"Records[{index}]")
    )


def _normalise_message(message: Any, route: RouteScope, record_id: str) -> SourceRecord:
    """An SQS body or SNS Message: a JSON string holding one of the supported documents."""
    if not isinstance(message, str) or not message.strip():
        return SourceRecord(record_id, problems=("message body is empty",))
    try:
        document = json.loads(message)
    except ValueError:
        return SourceRecord(record_id, problems=(f"message body is not JSON: {_preview(message)}",))
    return _normalise_document(document, route, record_id)


def _normalise_document(  # noqa: PLR0911 - one early return per recognised or rejected shape
    document: Any, route: RouteScope, record_id: str, depth: int = 0
) -> SourceRecord:
    if not isinstance(document, dict):
        return SourceRecord(record_id, problems=(f"message is JSON but not an object: {_preview(document)}",))
    if isinstance(document.get("Records"), list):
        parts = [_s3_record(record, route, record_id) for record in document["Records"]]
        if not parts:
            return SourceRecord(record_id, problems=("S3 notification has no records",))
        return _merge(record_id, parts)
    if document.get("Event") == S3_TEST_EVENT:
        return _test_event_record(document, record_id)
    if document.get("Type") == "Notification" and "Message" in document and "TopicArn" in document:
        if depth >= MAX_NESTING:
            return SourceRecord(record_id, problems=("SNS envelope nested too deeply",))
        inner = document["Message"]
        try:
            inner_document = json.loads(inner) if isinstance(inner, str) else inner
        except ValueError:
            return SourceRecord(record_id, problems=(f"SNS message is not JSON: {_preview(inner)}",))
        return _normalise_document(inner_document, route, record_id, depth + 1)
    if _is_eventbridge(document):
        return _eventbridge_record(EventBridgeEvent(document), route, record_id)
    return SourceRecord(record_id, problems=(f"not an S3 notification (keys: {sorted(document)[:8]})",))


def _s3_record(raw: Any, route: RouteScope, record_id: str) -> SourceRecord:  # noqa: PLR0911 - one return per verdict
    if not isinstance(raw, dict):
        return SourceRecord(record_id, problems=("S3 record is not an object",))
    record = S3EventRecord(raw)
    if record.get("eventSource") != "aws:s3":
        return SourceRecord(
            record_id, problems=(f"record from {record.get('eventSource')!r} is not from S3",)
        )
    version = str(record.get("eventVersion") or "")
    if version.split(".", maxsplit=1)[0] != SUPPORTED_EVENT_MAJOR_VERSION:
        return SourceRecord(record_id, problems=(f"unsupported S3 eventVersion {version!r}",))
    try:
        event_name = record.event_name
        bucket = record.s3.bucket.name
        obj = record.s3.get_object
        raw_key = obj.key
    except (KeyError, TypeError, AttributeError) as err:
        return SourceRecord(record_id, problems=(f"S3 record lacks {err}",))
    if not isinstance(event_name, str) or not isinstance(bucket, str) or not bucket:
        return SourceRecord(record_id, problems=("S3 record has no eventName or bucket name",))
    if not isinstance(raw_key, str) or not raw_key:
        return SourceRecord(record_id, problems=("S3 record has no object key",))
    key = decode_notification_key(raw_key)
    uri = object_uri(bucket, key)
    # S3 omits the `s3:` prefix; some producers (and AWS's Go samples) add it.
    event_name = event_name.removeprefix("s3:")
    if not event_name.startswith(CREATED_EVENT_PREFIX):
        return SourceRecord(record_id, skips=(Skip(f"{event_name} is not an object-created event", uri),))
    # glacierEventData only accompanies s3:ObjectRestore:Completed (S3 "Event message structure"): a restored
    # copy of an object already processed, not a new object.
    if record.get("glacierEventData") or record.get("restoreEventData"):
        return SourceRecord(record_id, skips=(Skip("Glacier restore completion is not a new object", uri),))
    ref = ObjectRef(
        bucket=bucket,
        key=key,
        version_id=_optional_str(obj.get("versionId")),
        etag=_optional_str(obj.get("eTag")),
        size=_optional_int(obj.get("size")),
        sequencer=_optional_str(obj.get("sequencer")),
        event_time=_optional_str(record.get("eventTime")),
        route=route.name,
    )
    return _created(record_id, ref, route)


def _eventbridge_record(event: EventBridgeEvent, route: RouteScope, record_id: str) -> SourceRecord:
    source, detail_type = event.get("source"), event.get("detail-type")
    if source != EVENTBRIDGE_S3_SOURCE:
        return SourceRecord(
            record_id, problems=(f"EventBridge event {source!r}/{detail_type!r} is not an S3 notification",)
        )
    detail = event.get("detail")
    try:
        bucket = detail["bucket"]["name"]
        obj = detail["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError) as err:
        return SourceRecord(record_id, problems=(f"EventBridge S3 event lacks detail field {err}",))
    if not isinstance(bucket, str) or not bucket or not isinstance(raw_key, str) or not raw_key:
        return SourceRecord(record_id, problems=("EventBridge S3 event has no bucket name or object key",))
    key = decode_notification_key(raw_key)
    uri = object_uri(bucket, key)
    if detail_type != EVENTBRIDGE_OBJECT_CREATED:
        return SourceRecord(
            record_id, skips=(Skip(f"EventBridge {detail_type!r} is not an object-created event", uri),)
        )
    ref = ObjectRef(
        bucket=bucket,
        key=key,
        version_id=_optional_str(obj.get("version-id")),
        etag=_optional_str(obj.get("etag")),
        size=_optional_int(obj.get("size")),
        sequencer=_optional_str(obj.get("sequencer")),
        event_time=_optional_str(event.get("time")),
        route=route.name,
        fallback_key=raw_key if raw_key != key else None,
    )
    return _created(record_id, ref, route)


def _created(record_id: str, ref: ObjectRef, route: RouteScope) -> SourceRecord:
    """An object-created event: refused outside the route, skipped for a folder marker, else to process."""
    admitted = route.admit(ref)
    if admitted is None:
        reason = f"outside this function's route ({route.describe()})"
        return SourceRecord(record_id, refusals=(Refusal(reason, ref.uri),))
    # The S3 console's "Create folder" writes an empty object named `<folder>/`: it holds nothing to score.
    if _every_key(admitted, lambda key: is_folder_marker(key, admitted.size)):
        return SourceRecord(
            record_id, skips=(Skip("folder marker (an empty key ending in '/')", admitted.uri),)
        )
    if _every_key(admitted, route.is_own_result):
        reason = "a large result this pipeline wrote (LARGE_RESULTS_PREFIX), not an input"
        return SourceRecord(record_id, skips=(Skip(reason, admitted.uri),))
    return SourceRecord(record_id, refs=(admitted,))


def _every_key(ref: ObjectRef, test: Callable[[str], bool]) -> bool:
    """Whether `test` holds for every key the pipeline may read for `ref` (decoded, and any fallback)."""
    return test(ref.key) and (ref.fallback_key is None or test(ref.fallback_key))


def _kinesis_record(raw: Any, route: RouteScope, index: int) -> SourceRecord:  # noqa: PLR0911 - one return per verdict
    """A Kinesis record: its data is the input (it is never read from S3), its sequence number its id in the
    partial batch response, its stream (from eventSourceARN) must be the route's."""
    if not isinstance(raw, dict) or not isinstance(raw.get("kinesis"), dict):
        return SourceRecord(f"Records[{index}]", problems=("Kinesis record has no kinesis payload",))
    record = KinesisStreamRecord(raw)
    payload = record.kinesis
    sequence_number = payload.get("sequenceNumber")
    if not isinstance(sequence_number, str) or sequence_number_order(sequence_number) is None:
        return SourceRecord(
            f"Records[{index}]", problems=(f"Kinesis record has no sequence number ({sequence_number!r})",)
        )
    partition_key = payload.get("partitionKey")
    source_arn = raw.get("eventSourceARN")
    if not isinstance(partition_key, str) or not partition_key:
        return SourceRecord(sequence_number, problems=("Kinesis record has no partition key",))
    if not isinstance(source_arn, str) or ":stream/" not in source_arn:
        return SourceRecord(sequence_number, problems=(f"Kinesis record has no stream ARN ({source_arn!r})",))
    stream = source_arn.split(":stream/", 1)[1]
    try:
        data = base64.b64decode(payload.get("data") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        return SourceRecord(sequence_number, problems=("Kinesis record data is not base64",))
    ref = ObjectRef(
        bucket="",
        key="",
        version_id=None,
        etag=None,
        size=len(data),
        sequencer=sequence_number,
        event_time=_arrival_time(payload.get("approximateArrivalTimestamp")),
        route=route.name,
        data=data,
        record_uri=kinesis_record_uri(stream, partition_key, sequence_number, record_id(data)),
        order=sequence_number_order(sequence_number),
    )
    if route.stream and stream != route.stream:
        reason = f"outside this function's route (stream {route.stream!r})"
        return SourceRecord(sequence_number, refusals=(Refusal(reason, ref.uri),))
    return SourceRecord(sequence_number, refs=(ref,))


def _arrival_time(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return iso_utc(datetime.fromtimestamp(value, UTC))


def _test_event_record(document: dict, record_id: str) -> SourceRecord:
    bucket = document.get("Bucket")
    return SourceRecord(record_id, skips=(Skip(f"{S3_TEST_EVENT} for bucket {bucket!r} acknowledged"),))


def _is_eventbridge(document: dict) -> bool:
    return "detail-type" in document and "source" in document and "detail" in document


def _eventbridge_id(event: dict) -> str:
    return str(event.get("id") or "eventbridge-event")


def _merge(record_id: str, parts: list[SourceRecord]) -> SourceRecord:
    return SourceRecord(
        record_id,
        refs=tuple(ref for part in parts for ref in part.refs),
        skips=tuple(skip for part in parts for skip in part.skips),
        problems=tuple(problem for part in parts for problem in part.problems),
        refusals=tuple(refusal for part in parts for refusal in part.refusals),
    )


def _optional_str(value: Any) -> str | None:
    # versionId may be absent, empty or null: all mean "no version".
    return value if isinstance(value, str) and value else None


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _preview(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
