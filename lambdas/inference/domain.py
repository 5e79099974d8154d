"""Pure domain logic: object references and the route they must belong to, S3 sequencer ordering, model
payloads, backoff for throttled model calls, results items and outcome messages. No boto3 and no I/O, so all
of it is tested without mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any
from urllib.parse import unquote_plus

from .contract import (
    MESSAGE_ATTRIBUTE_ROUTE,
    MESSAGE_ATTRIBUTE_STATUS,
    REASON_EMPTY_OBJECT,
    REASON_MALFORMED_JSON,
    REASON_NOT_TEXT,
    REASON_PREDICTION_TOO_LARGE,
    RESULT_ATTRIBUTES,
    SEQUENCER_ORDER_ATTRIBUTE,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_REJECTED,
    TABLE_PARTITION_KEY,
)


@dataclass(frozen=True)
class ObjectRef:
    """One object version that an event says was created, with the key already URL-decoded."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int | None
    sequencer: str | None
    event_time: str | None
    route: str
    # The key exactly as the event carried it, when that differs from `key`; tried if `key` does not exist
    # (AWS's own EventBridge samples disagree on whether detail.object.key is URL-encoded).
    fallback_key: str | None = None

    @property
    def uri(self) -> str:
        """The object's URI, which is also its results-table partition key."""
        return object_uri(self.bucket, self.key)


def object_uri(bucket: str, key: str) -> str:
    """`s3://<bucket>/<decoded key>`."""
    return f"s3://{bucket}/{key}"


def decode_notification_key(raw_key: str) -> str:
    """Decode an S3 notification key: form-encoded, so `+` is a space and `%2B` a plus."""
    return unquote_plus(raw_key)


# --- the route a function serves ------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteScope:
    """The objects one function serves: its route's name, its bucket, and the route's S3 key filter."""

    name: str
    bucket: str
    prefix: str = ""  # empty matches every key, as an absent S3 filter rule does
    suffix: str = ""
    via: str = ""  # the route's trigger (sns, sqs, lambda, eventbridge); empty: not known

    def matches(self, bucket: str, key: str) -> bool:
        """Whether the object `key` (decoded, as S3 names it) in `bucket` belongs to this route."""
        # An S3 filter rule is "a specific string of characters at the beginning [or] at the end of the object
        # key name" (S3 API Reference, FilterRule): the decoded key, compared exactly. An event the bucket's
        # own filter would not have sent is refused, whichever channel delivered it.
        return bucket == self.bucket and key.startswith(self.prefix) and key.endswith(self.suffix)

    def admit(self, ref: ObjectRef) -> ObjectRef | None:
        """`ref` narrowed to the keys of it this route may read, or None if it may read none of them."""
        # An EventBridge ref names two candidate keys (decoded, and as given); the pipeline may read either,
        # so each must be in the route. The one outside it is dropped rather than read.
        decoded = self.matches(ref.bucket, ref.key)
        as_given = ref.fallback_key is not None and self.matches(ref.bucket, ref.fallback_key)
        if decoded:
            return ref if as_given or ref.fallback_key is None else replace(ref, fallback_key=None)
        if as_given:
            return replace(ref, key=ref.fallback_key, fallback_key=None)
        return None

    def describe(self) -> str:
        """The scope as an operator reads it in a log line."""
        return f"bucket {self.bucket!r}, prefix {self.prefix!r}, suffix {self.suffix!r}"


def is_folder_marker(key: str, size: int | None) -> bool:
    """A "folder" the S3 console creates: an empty object whose key ends in `/` (its size may be unknown)."""
    return key.endswith("/") and not size


# --- sequencer ordering ---------------------------------------------------------------------------------
# S3 "Event message structure"
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
# "The sequencers can be of different lengths. So, to compare these values, first right pad the shorter
# value with zeros, and then do a lexicographical comparison." Right-padding every sequencer to one fixed
# width (and one letter case) makes any two padded values compare correctly as plain strings, which is what
# DynamoDB's `<` does in the conditional write. S3 sequencers are ~16-18 hex digits; 64 leaves ample room.
SEQUENCER_WIDTH = 64
_HEX = re.compile(r"[0-9A-Fa-f]+")


def sequencer_order(sequencer: str | None) -> str | None:
    """The comparable form of an S3 sequencer, or None if it is absent or not a hexadecimal string."""
    if not sequencer or len(sequencer) > SEQUENCER_WIDTH or not _HEX.fullmatch(sequencer):
        return None
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")


# --- model payloads -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """What processing concluded for one object: a status from the contract, a reason, a prediction."""

    status: str
    reason: str | None = None
    prediction: Any = None


@dataclass(frozen=True)
class Payload:
    """A request body for the model; `text` is set when the body is exactly {"inputs": "<text>"}."""

    body: bytes
    text: str | None = None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def build_payload(key: str, data: bytes) -> Payload | Result:
    """Turn an object's bytes into a model request, or a `rejected` Result saying why it cannot be one."""
    try:
        # A byte-order mark is encoding metadata, not content (and json.loads refuses it).
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Result(STATUS_REJECTED, REASON_NOT_TEXT)
    if not text:
        # Nothing to score (0 bytes, or only a byte-order mark): a model would answer noise, or an error.
        return Result(STATUS_REJECTED, REASON_EMPTY_OBJECT)
    if not key.lower().endswith(".json"):
        return text_payload(text)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return Result(STATUS_REJECTED, REASON_MALFORMED_JSON)
    if isinstance(document, dict) and document.keys() == {"inputs"} and isinstance(document["inputs"], str):
        return Payload(body=text.encode("utf-8"), text=document["inputs"])
    return Payload(body=text.encode("utf-8"))


def text_payload(text: str) -> Payload:
    """The request for one text input."""
    return Payload(body=_compact_json({"inputs": text}).encode("utf-8"), text=text)


def batch_body(texts: Sequence[str]) -> bytes:
    """The request for several text inputs in one call; the model answers with a list in the same order."""
    return _compact_json({"inputs": list(texts)}).encode("utf-8")


def text_request_bytes(text: str) -> int:
    """Bytes `text` adds to a batched request body."""
    return len(_compact_json(text).encode("utf-8")) + 1


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- throttled model calls ------------------------------------------------------------------------------
# "Full Jitter" from the AWS Architecture Blog, "Exponential Backoff And Jitter" (Marc Brooker,
# https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/): sleep a uniformly random time
# between 0 and min(cap, base * 2**attempt). Of the schemes compared there it spreads competing callers best,
# which is what a serverless endpoint throttling every caller above its MaxConcurrency needs.
THROTTLE_BACKOFF_BASE_SECONDS = 0.2
THROTTLE_BACKOFF_CAP_SECONDS = 10.0


def full_jitter_delay(
    attempt: int,
    fraction: float,
    base: float = THROTTLE_BACKOFF_BASE_SECONDS,
    cap: float = THROTTLE_BACKOFF_CAP_SECONDS,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first), `fraction` drawn from [0, 1)."""
    # The exponent is bounded so a long run of retries cannot overflow the float.
    return fraction * min(cap, base * 2 ** min(attempt, 32))


def leaves_room(remaining: float, delay: float, needed: float) -> bool:
    """Whether waiting `delay` seconds still leaves `needed` of the `remaining` seconds."""
    return remaining - delay >= needed


# --- predictions ----------------------------------------------------------------------------------------
# DynamoDB numbers carry up to 38 significant digits, exponents between -130 and +125.
_DYNAMODB_DIGITS = Context(prec=38)
_DYNAMODB_MIN_EXPONENT, _DYNAMODB_MAX_EXPONENT = -130, 125


def parse_prediction(body: bytes) -> Any:
    """The model's response as JSON (floats as Decimal, as DynamoDB needs), or its text if it is not JSON."""
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=str)
    except ValueError:
        return body.decode("utf-8", errors="replace")
    return _storable(value)


def _storable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = _DYNAMODB_DIGITS.create_decimal(value)
        if number.is_zero():
            return Decimal(0)
        if not _DYNAMODB_MIN_EXPONENT <= number.adjusted() <= _DYNAMODB_MAX_EXPONENT:
            # Outside DynamoDB's number range: keep the value, as text, rather than lose the result.
            return str(value)
        return number
    return value


# DynamoDB items are limited to 400 KB; keep the prediction well inside that next to the other attributes.
MAX_PREDICTION_BYTES = 300_000


def completed_result(prediction: Any) -> Result:
    """`completed` with the prediction, or `failed`/prediction_too_large when it cannot be stored."""
    if len(_compact_json(to_jsonable(prediction)).encode("utf-8")) > MAX_PREDICTION_BYTES:
        return Result(STATUS_FAILED, REASON_PREDICTION_TOO_LARGE)
    return Result(STATUS_COMPLETED, prediction=prediction)


def split_batched_prediction(prediction: Any, count: int) -> list[Any] | None:
    """Per-input predictions from a batched response, or None if it is not a list of `count` items."""
    if isinstance(prediction, list) and len(prediction) == count:
        return prediction
    return None


# --- results items and outcome messages ---------------------------------------------------------------
@dataclass(frozen=True)
class ObjectMeta:
    """What S3 said about the object actually read (overrides the event's values when known)."""

    version_id: str | None = None
    etag: str | None = None
    size: int | None = None


def utc_now() -> datetime:
    """The current time in UTC (injectable in the pipeline for tests)."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and a `Z` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def result_item(
    ref: ObjectRef, meta: ObjectMeta | None, result: Result, endpoint: str, processed_at: datetime
) -> dict[str, Any]:
    """The results item for one object (plain Python values; the DynamoDB adapter serialises them)."""
    meta = meta or ObjectMeta()
    item = {
        TABLE_PARTITION_KEY: ref.uri,
        "status": result.status,
        "reason": result.reason,
        "prediction": result.prediction,
        "route": ref.route,
        "sequencer": ref.sequencer,
        "version_id": meta.version_id or ref.version_id,
        "etag": _clean_etag(meta.etag) or _clean_etag(ref.etag),
        "size": meta.size if meta.size is not None else ref.size,
        "endpoint": endpoint,
        "processed_at": iso_utc(processed_at),
    }
    order = sequencer_order(ref.sequencer)
    if order is not None:
        item[SEQUENCER_ORDER_ATTRIBUTE] = order
    return item


def _clean_etag(etag: str | None) -> str | None:
    # GetObject quotes the ETag; S3 notifications do not.
    return etag.strip('"') if etag else None


# SNS allows 256 KiB per message and per PublishBatch request (attributes included).
SNS_MAX_REQUEST_BYTES = 256 * 1024
SNS_MAX_BATCH_ENTRIES = 10
_SNS_MESSAGE_BUDGET = SNS_MAX_REQUEST_BYTES - 6 * 1024


@dataclass(frozen=True)
class OutcomeMessage:
    """An outcome notification: JSON body of the item's contract fields plus filterable attributes."""

    body: str
    attributes: dict[str, dict[str, str]]

    @property
    def size(self) -> int:
        """Bytes SNS counts for this message (body plus attribute names, types and values)."""
        attribute_bytes = sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode("utf-8"))
            for name, value in self.attributes.items()
        )
        return len(self.body.encode("utf-8")) + attribute_bytes


def outcome_message(item: dict[str, Any]) -> OutcomeMessage:
    """The notification for a results item; a prediction too large for SNS is omitted and flagged."""
    fields = {name: to_jsonable(item.get(name)) for name in RESULT_ATTRIBUTES}
    body = _compact_json(fields)
    if len(body.encode("utf-8")) > _SNS_MESSAGE_BUDGET:
        # Subscribers can read the full prediction from the results table by `pk`.
        fields["prediction"] = None
        fields["prediction_omitted"] = True
        body = _compact_json(fields)
    attributes = {
        MESSAGE_ATTRIBUTE_STATUS: {"DataType": "String", "StringValue": str(item["status"])},
        MESSAGE_ATTRIBUTE_ROUTE: {"DataType": "String", "StringValue": str(item["route"])},
    }
    return OutcomeMessage(body=body, attributes=attributes)


def to_jsonable(value: Any) -> Any:
    """Replace Decimals (as DynamoDB returns numbers) with ints or floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(item) for item in value]
    return value


def publish_chunks(sizes: Sequence[int]) -> list[list[int]]:
    """Group message indexes into PublishBatch requests within SNS's entry-count and byte limits."""
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if current and (
            len(current) == SNS_MAX_BATCH_ENTRIES or current_bytes + size > SNS_MAX_REQUEST_BYTES
        ):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks
