"""Pure domain logic, from object references to results items and outcome messages: no boto3 and no I/O,
so all of it is tested without mocks."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any
from urllib.parse import unquote_plus

from .contract import (
    ASYNC_OUTPUT_INLINE_MAX_BYTES,
    DEFAULT_LARGE_RESULTS_PREFIX,
    ENV_MAX_PAYLOAD_BYTES,
    ENVIRONMENT_STARTED_AT_ATTRIBUTE,
    HF_DECODED_CONTENT_TYPES,
    INFERENCE_ID_ATTRIBUTE,
    KINESIS_URI_SCHEME,
    MESSAGE_ATTRIBUTE_MODEL,
    MESSAGE_ATTRIBUTE_ROUTE,
    MESSAGE_ATTRIBUTE_STATUS,
    PAYLOAD_JSON,
    REALTIME_MAX_PAYLOAD_BYTES,
    REASON_ASYNC_INFERENCE_FAILED,
    REASON_ASYNC_SUBMITTED,
    REASON_EMPTY_OBJECT,
    REASON_EMPTY_RECORD,
    REASON_MALFORMED_JSON,
    REASON_MALFORMED_RECORD,
    REASON_MISSING_JSON_FIELD,
    REASON_NOT_A_JSON_OBJECT,
    REASON_NOT_TEXT,
    REASON_TOO_LARGE,
    REASON_UNSUPPORTED_CONTENT_TYPE,
    RECORD_ID_FIELD,
    RECORD_ID_MAX_LENGTH,
    RECORD_INPUT_FIELD,
    RECORD_TEXT_FIELD,
    RESULT_ATTRIBUTES,
    RESULT_DETAIL_ATTRIBUTE,
    SEQUENCER_ORDER_ATTRIBUTE,
    SERVERLESS_MAX_PAYLOAD_BYTES,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_IN_PROGRESS,
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
    # A streamed record (kinesis route) carries its input instead of naming an object (nothing is read from
    # S3): `record_uri` is its results key, `order` its sequence number (`sequencer`) in comparable form.
    data: bytes | None = None
    record_uri: str | None = None
    order: str | None = None

    @property
    def uri(self) -> str:
        """The object's (or record's) URI, which is also its results-table partition key."""
        return self.record_uri if self.record_uri is not None else object_uri(self.bucket, self.key)

    @property
    def ordering(self) -> str | None:
        """The value the conditional write orders events of one key by (None: unordered)."""
        return self.order if self.record_uri is not None else sequencer_order(self.sequencer)


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
    via: str = ""  # the route's trigger (contract.ENV_ROUTE_VIA); empty: not known
    # Where this pipeline writes results too large for an item (LARGE_RESULTS_PREFIX): never an input.
    results_prefix: str = DEFAULT_LARGE_RESULTS_PREFIX
    # A kinesis route's stream (STREAM_NAME): records of any other stream are refused.
    stream: str = ""

    def matches(self, bucket: str, key: str) -> bool:
        """Whether the object `key` (decoded, as S3 names it) in `bucket` belongs to this route."""
        # An S3 filter rule is "a specific string of characters at the beginning [or] at the end of the object
        # key name" (S3 API Reference, FilterRule): the decoded key, compared exactly. An event the bucket's
        # own filter would not have sent is refused, whichever channel delivered it.
        return bucket == self.bucket and key.startswith(self.prefix) and key.endswith(self.suffix)

    def admit(self, ref: ObjectRef) -> ObjectRef | None:
        """`ref` narrowed to the keys of it this route may read, or None if it may read none of them."""
        # The pipeline may read either key of an EventBridge ref, so one outside the route is dropped.
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

    def is_own_result(self, key: str) -> bool:
        """Whether `key` is a large result this pipeline wrote (large_result_key), skipped should a filter
        still match it (an empty prefix, a replay) so that a model cannot feed its output back to itself."""
        if not self.results_prefix or not key.startswith(self.results_prefix):
            return False
        return _LARGE_RESULT_NAME.fullmatch(key[len(self.results_prefix) :]) is not None


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


# --- streamed records (kinesis routes) -------------------------------------------------------------------
# Kinesis sequence numbers are decimal strings of up to 129 digits (API reference, Record.SequenceNumber:
# pattern `0|([1-9]\d{0,128})`), increasing within a shard. Left-padded with zeros to one width, any two
# compare as strings the way they compare as numbers, which is what DynamoDB's `<` does in the conditional
# write (the same ordering attribute S3 sequencers use; the two never share a key).
SEQUENCE_NUMBER_WIDTH = 129
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,128}")


def sequence_number_order(sequence_number: str | None) -> str | None:
    """The comparable form of a Kinesis sequence number, or None if it is not one."""
    if not sequence_number or not _DECIMAL.fullmatch(sequence_number):
        return None
    return sequence_number.zfill(SEQUENCE_NUMBER_WIDTH)


def kinesis_record_uri(stream: str, partition_key: str, sequence_number: str, record_id: str | None) -> str:
    """A record's results key: `kinesis://<stream>/<id>` when the producer gave the record an id (a resent
    record then meets its own result), else `kinesis://<stream>/<partition key>/<sequence number>`."""
    if record_id is not None:
        return f"{KINESIS_URI_SCHEME}{stream}/{record_id}"
    return f"{KINESIS_URI_SCHEME}{stream}/{partition_key}/{sequence_number}"


def _record_object(data: bytes) -> dict[str, Any] | None:
    """The record's JSON object, or None when its data is not one (text, or not JSON)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def record_id(data: bytes) -> str | None:
    """The producer's id of a record: a JSON object's `id`, when it is a usable key part (1-256 characters);
    else None (the record is keyed by partition key and sequence number; a bad `id` is rejected later)."""
    document = _record_object(data)
    value = document.get(RECORD_ID_FIELD) if document is not None else None
    return value if _usable_id(value) else None


def _usable_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= RECORD_ID_MAX_LENGTH


def record_payload(  # noqa: PLR0911 - one return per verdict on the record
    data: bytes, payload_format: str, json_field: str | None, request_key: str | None
) -> Payload | Result:
    """A streamed record's model request (README: The kinesis route, record format), or a `rejected` Result
    saying why it cannot be one."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Result(STATUS_REJECTED, REASON_NOT_TEXT, detail="the record's data is not UTF-8 text")
    if not text.strip():
        return Result(STATUS_REJECTED, REASON_EMPTY_RECORD, detail="the record's data is empty")
    wanted = RECORD_INPUT_FIELD if payload_format == PAYLOAD_JSON else RECORD_TEXT_FIELD
    if not text.lstrip().startswith("{"):
        if payload_format == PAYLOAD_JSON:
            return Result(
                STATUS_REJECTED,
                REASON_NOT_A_JSON_OBJECT,
                detail=f'a json model\'s record must be a JSON object {{"{wanted}": <document>}}, not text',
            )
        return text_payload(text)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        return Result(STATUS_REJECTED, REASON_MALFORMED_JSON, detail=f"the record is not valid JSON: {err}")
    if not isinstance(document, dict):
        return Result(STATUS_REJECTED, REASON_MALFORMED_RECORD, detail="the record's JSON is not an object")
    problem = _record_problem(document, wanted)
    if problem is not None:
        return Result(STATUS_REJECTED, REASON_MALFORMED_RECORD, detail=problem)
    if payload_format == PAYLOAD_JSON:
        body = _compact_json(document[RECORD_INPUT_FIELD]).encode("utf-8")
        return build_json_payload(body, json_field, request_key)
    return text_payload(document[RECORD_TEXT_FIELD])


def _record_problem(document: dict[str, Any], wanted: str) -> str | None:
    unknown = sorted(set(document) - {RECORD_ID_FIELD, wanted})
    if unknown:
        return f"the record has fields {unknown} besides {RECORD_ID_FIELD!r} and {wanted!r}"
    given = document.get(RECORD_ID_FIELD)
    if RECORD_ID_FIELD in document and not _usable_id(given):
        return f"the record's {RECORD_ID_FIELD!r} must be a string of 1-{RECORD_ID_MAX_LENGTH} characters"
    value = document.get(wanted)
    if wanted == RECORD_TEXT_FIELD and (not isinstance(value, str) or not value.strip()):
        return f"the record needs a non-empty string {wanted!r} (the text to score)"
    if wanted == RECORD_INPUT_FIELD and value is None:
        return f"the record needs an {wanted!r} (the document to score)"
    return None


# --- model payloads -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """What processing concluded for one object: a status from the contract, a reason, a prediction."""

    status: str
    reason: str | None = None
    prediction: Any = None
    detail: str | None = None  # a human-readable explanation of `reason` (which limit, which field)
    prediction_uri: str | None = None  # where a prediction too large for the item was written instead


@dataclass(frozen=True)
class Payload:
    """A request body for the model; `text` is set when the body is exactly {"inputs": "<text>"} (such a
    payload can share a batched request); `content_type` when it is not the route's configured one."""

    body: bytes
    text: str | None = None
    content_type: str | None = None


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
    return _json_request(document, text.encode("utf-8"))


def text_payload(text: str) -> Payload:
    """The request for one text input."""
    return Payload(body=_compact_json({"inputs": text}).encode("utf-8"), text=text)


def batch_body(texts: Sequence[str]) -> bytes:
    """The request for several text inputs in one call; the model answers with a list in the same order."""
    return _compact_json({"inputs": list(texts)}).encode("utf-8")


def text_request_bytes(text: str) -> int:
    """Bytes `text` adds to a batched request body."""
    return len(_compact_json(text).encode("utf-8")) + 1


def request_bytes(payload: Payload, batched: bool) -> int:
    """Bytes of the request `payload` is sent in: alone, or (batched) as a one-input list at the least."""
    if batched and payload.text is not None:
        return BATCH_ENVELOPE_BYTES + text_request_bytes(payload.text)
    return len(payload.body)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# `{"inputs":[` and `]}` around the texts of a batched request (text_request_bytes counts each text's comma).
BATCH_ENVELOPE_BYTES = len(batch_body([])) - 1


def build_json_payload(data: bytes, field: str | None, request_key: str | None) -> Payload | Result:
    """The json format's request (README: Payload formats), or a `rejected` Result saying precisely why the
    object cannot be one."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Result(STATUS_REJECTED, REASON_NOT_TEXT, detail="the object is not UTF-8 text, so not JSON")
    if not text:
        return Result(STATUS_REJECTED, REASON_EMPTY_OBJECT)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        return Result(STATUS_REJECTED, REASON_MALFORMED_JSON, detail=f"not valid JSON: {err}")
    if field is None and request_key is None:
        # Sent exactly as stored (less a byte-order mark, which JSON parsers refuse).
        return _json_request(document, text.encode("utf-8"))
    value = document if field is None else _json_field(document, field)
    if isinstance(value, Result):
        return value
    if request_key is not None:
        value = {request_key: value}
    return _json_request(value, _compact_json(value).encode("utf-8"))


def _json_field(document: Any, field: str) -> Any:
    if not isinstance(document, dict):
        kind = _json_kind(document)
        return Result(
            STATUS_REJECTED,
            REASON_NOT_A_JSON_OBJECT,
            detail=f"the document is a JSON {kind}, not an object with a field {field!r} (JSON_INPUT_FIELD)",
        )
    # A null member holds nothing to score, as an absent one does.
    if document.get(field) is None:
        return Result(
            STATUS_REJECTED,
            REASON_MISSING_JSON_FIELD,
            detail=f"the document has no field {field!r} (JSON_INPUT_FIELD), or it is null",
        )
    return document[field]


def _json_request(value: Any, body: bytes) -> Payload:
    """`body`, sent for the JSON `value`: a text input when `value` is exactly {"inputs": "<text>"}."""
    if isinstance(value, dict) and value.keys() == {"inputs"} and isinstance(value["inputs"], str):
        return Payload(body=body, text=value["inputs"])
    return Payload(body=body)


def _json_kind(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def media_type(content_type: str | None) -> str:
    """A Content-Type's media type, lower-case and without parameters (`Image/PNG; q=1` -> `image/png`)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def binary_content_type(configured: str | None, stored: str | None) -> str | Result:
    """The configured content type, else the object's own as a bare media type, which the container looks
    up exactly (contract.HF_DECODED_CONTENT_TYPES); else a `rejected` Result saying why."""
    if configured:
        return configured
    candidate = media_type(stored)
    if candidate in HF_DECODED_CONTENT_TYPES:
        return candidate
    return unsupported_content_type(stored)


def unsupported_content_type(stored: str | None) -> Result:
    """`rejected`: a binary object whose S3 Content-Type the container does not decode, none configured."""
    shown = repr(stored) if stored else "no Content-Type"
    return Result(
        STATUS_REJECTED,
        REASON_UNSUPPORTED_CONTENT_TYPE,
        detail=f"the object has {shown}, which the model container does not decode, and "
        "ENDPOINT_CONTENT_TYPE is not set; upload it with its real Content-Type (e.g. image/png, "
        "audio/x-flac) or set ENDPOINT_CONTENT_TYPE for the model",
    )


def binary_payload(data: bytes, content_type: str) -> Payload | Result:
    """The binary format's request: the object's bytes, unchanged, with their content type."""
    if not data:
        return Result(STATUS_REJECTED, REASON_EMPTY_OBJECT)
    return Payload(body=data, content_type=content_type)


def too_large(size: int | None, limit: int, variable: str, what: str = "object") -> Result:
    """`rejected`/too_large, its detail naming the limit, e.g. "object is 5.2 MiB (5452595 bytes); the
    serverless InvokeEndpoint limit is 4 MiB (MAX_PAYLOAD_BYTES)". `size` None: only known to be larger."""
    stated = f"{what} is more than {limit} bytes" if size is None else f"{what} is {_size(size)}"
    return Result(STATUS_REJECTED, REASON_TOO_LARGE, detail=f"{stated}; {_describe_limit(limit, variable)}")


def _describe_limit(limit: int, variable: str) -> str:
    if variable == ENV_MAX_PAYLOAD_BYTES and limit == SERVERLESS_MAX_PAYLOAD_BYTES:
        return f"the serverless InvokeEndpoint limit is 4 MiB ({variable})"
    if variable == ENV_MAX_PAYLOAD_BYTES and limit == REALTIME_MAX_PAYLOAD_BYTES:
        return f"the real-time InvokeEndpoint limit is 6 MiB ({variable})"
    return f"the limit is {_size(limit)} ({variable})"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    unit = "KiB" if size < 1024 * 1024 else "MiB"
    scaled = size / 1024 if unit == "KiB" else size / (1024 * 1024)
    return f"{scaled:.1f} {unit} ({size} bytes)"


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


# DynamoDB items are limited to 400 KB (attribute names and values, UTF-8); a prediction is stored in the
# item only while its JSON is at most this, which leaves ~100 KB for the other attributes (the key alone may
# take 1 KB) and for DynamoDB's per-element overhead, which JSON text does not count. Larger ones go to S3.
MAX_PREDICTION_BYTES = 300_000


def completed_result(prediction: Any) -> Result:
    """`completed` with the prediction (one too large for the item is written to S3 before the item)."""
    return Result(STATUS_COMPLETED, prediction=prediction)


def prediction_document(prediction: Any) -> bytes:
    """The prediction as compact JSON, as it is written to S3 when too large for the item."""
    return _compact_json(to_jsonable(prediction)).encode("utf-8")


def needs_large_result(result: Result) -> bool:
    """Whether `result`'s prediction is too large for the results item and must be written to S3."""
    if result.status != STATUS_COMPLETED:
        return False
    return len(prediction_document(result.prediction)) > MAX_PREDICTION_BYTES


_LARGE_RESULT_NAME = re.compile(r"[0-9a-f]{64}\.json")


def large_result_key(prefix: str, ref: ObjectRef, meta: ObjectMeta | None, model_version: str) -> str:
    """Where this event's large result is written (README: Large results); deterministic, so a redelivery's
    write is idempotent, and two uploads of one key or two model versions never share a key."""
    meta = meta or ObjectMeta()
    parts = (
        ref.uri,
        meta.version_id or ref.version_id or "",
        _clean_etag(meta.etag) or _clean_etag(ref.etag) or "",
        ref.sequencer or "",
        model_version,
    )
    return f"{prefix}{_digest(parts)}.json"


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def stored_elsewhere(result: Result, uri: str) -> Result:
    """`result` with its prediction replaced by where it was written."""
    return replace(result, prediction=None, prediction_uri=uri)


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


@dataclass(frozen=True)
class ModelIdentity:
    """Which model scored a result, and the execution environment that wrote it (for re-scoring)."""

    name: str | None = None  # MODEL_NAME (or the endpoint's name)
    version: str | None = None  # MODEL_VERSION
    environment_started_at: int = 0  # epoch ms when the writing execution environment started


def result_item(
    ref: ObjectRef,
    meta: ObjectMeta | None,
    result: Result,
    endpoint: str,
    processed_at: datetime,
    *,
    model: ModelIdentity | None = None,
) -> dict[str, Any]:
    """The results item for one object (plain Python values; the DynamoDB adapter serialises them)."""
    meta = meta or ObjectMeta()
    model = model or ModelIdentity()
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
        "model": model.name,
        "model_version": model.version,
        ENVIRONMENT_STARTED_AT_ATTRIBUTE: model.environment_started_at,
    }
    if result.prediction_uri is not None:
        # Exactly one of `prediction` and `prediction_uri` is present (contract.RESULT_MODEL_ATTRIBUTES).
        del item["prediction"]
        item[PREDICTION_URI] = result.prediction_uri
    if result.detail is not None:
        item[RESULT_DETAIL_ATTRIBUTE] = result.detail
    order = ref.ordering
    if order is not None:
        item[SEQUENCER_ORDER_ATTRIBUTE] = order
    return item


PREDICTION_URI = "prediction_uri"
MODEL_VERSION = "model_version"


# --- which stored result a new one replaces -----------------------------------------------------------
def replaces(stored: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether the results item `new` replaces `stored` (None: no item yet), as README's results contract
    says; adapters.put_result is this rule in DynamoDB's condition language."""
    if stored is None:
        return True
    new_order = new.get(SEQUENCER_ORDER_ATTRIBUTE)
    if new_order is None:
        return False
    stored_order = stored.get(SEQUENCER_ORDER_ATTRIBUTE)
    if stored_order is None or stored_order < new_order:
        return True
    if stored_order > new_order:
        return False
    version, started = new.get(MODEL_VERSION), new.get(ENVIRONMENT_STARTED_AT_ATTRIBUTE)
    if not isinstance(version, str) or not isinstance(started, int):
        return False  # a result of no known version or environment never re-scores
    stored_started = stored.get(ENVIRONMENT_STARTED_AT_ATTRIBUTE)
    return stored.get(MODEL_VERSION) != version and (stored_started is None or stored_started < started)


def same_event(stored: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the stored item is this event's result (same sequencer order, or both unsequenced)."""
    return stored.get(SEQUENCER_ORDER_ATTRIBUTE) == new.get(SEQUENCER_ORDER_ATTRIBUTE)


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


# Fields of an outcome message besides RESULT_ATTRIBUTES: always the model's name and version; where a large
# prediction was written and the detail of a reason, when the item has them.
OUTCOME_MODEL_FIELDS = ("model", MODEL_VERSION)
OUTCOME_OPTIONAL_FIELDS = (PREDICTION_URI, RESULT_DETAIL_ATTRIBUTE)


def outcome_message(item: dict[str, Any]) -> OutcomeMessage:
    """The notification for a results item; a prediction too large for SNS is omitted and flagged."""
    fields = {name: to_jsonable(item.get(name)) for name in (*RESULT_ATTRIBUTES, *OUTCOME_MODEL_FIELDS)}
    fields.update({name: item[name] for name in OUTCOME_OPTIONAL_FIELDS if item.get(name) is not None})
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
    if item.get("model"):
        # Subscribers of several models' routes filter on it as on status and route (SNS allows 10).
        attributes[MESSAGE_ATTRIBUTE_MODEL] = {"DataType": "String", "StringValue": str(item["model"])}
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


# --- async models: submission and completion -----------------------------------------------------------
def async_inference_id(ref: ObjectRef, model_version: str | None) -> str:
    """The InferenceId of one event and model version: a redelivery submits the same id, while another upload
    of the key or a re-score gets another, so a stale completion cannot overwrite it."""
    parts = [ref.uri, ref.version_id or "", ref.sequencer or "", model_version or ""]
    return _digest(parts)[:40]


def in_progress_item(
    ref: ObjectRef,
    endpoint: str,
    processed_at: datetime,
    inference_id: str,
    *,
    model: ModelIdentity | None = None,
) -> dict[str, Any]:
    """The item written before InvokeEndpointAsync: `in_progress`, the inference id submitted and the object
    version the event announced (SageMaker reads whichever version is current when it reads the input)."""
    result = Result(STATUS_IN_PROGRESS, REASON_ASYNC_SUBMITTED)
    item = result_item(ref, ObjectMeta(size=ref.size), result, endpoint, processed_at, model=model)
    del item["prediction"]
    item[INFERENCE_ID_ATTRIBUTE] = inference_id
    return item


# SageMaker Developer Guide, "Check prediction results",
# https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-check-predictions.html
@dataclass(frozen=True)
class AsyncNotice:
    """SageMaker's notice of one async inference, as published on the endpoint's success or error topic."""

    inference_id: str
    input_location: str  # the InputLocation submitted: the results item's pk
    succeeded: bool
    output_location: str | None = None
    failure_reason: str | None = None


def parse_async_notice(message: str) -> AsyncNotice | str:  # noqa: PLR0911 - one return per verdict
    """The notice in an SNS message from SageMaker, or why the message is not one."""
    try:
        document = json.loads(message)
    except ValueError:
        return "not JSON"
    if not isinstance(document, dict):
        return "not a JSON object"
    inference_id = document.get("inferenceId")
    request = document.get("requestParameters")
    response = document.get("responseParameters") or {}
    status = document.get("invocationStatus")
    if not isinstance(inference_id, str) or not inference_id:
        return "no inferenceId"
    if not isinstance(request, dict) or not isinstance(request.get("inputLocation"), str):
        return "no requestParameters.inputLocation"
    if status not in ("Completed", "Failed"):
        return f"invocationStatus is {status!r}, not Completed or Failed"
    output = response.get("outputLocation") if isinstance(response, dict) else None
    if status == "Completed" and not isinstance(output, str):
        return "a completed inference without responseParameters.outputLocation"
    reason = document.get("failureReason")
    return AsyncNotice(
        inference_id=inference_id,
        input_location=request["inputLocation"],
        succeeded=status == "Completed",
        output_location=output if isinstance(output, str) else None,
        failure_reason=str(reason)[:1000] if reason is not None else None,
    )


def async_final_result(notice: AsyncNotice, output: bytes | None, output_size: int | None) -> Result:
    """The final result of a notice: `failed` with SageMaker's reason; `completed` with the output parsed
    (JSON, else its text), or, when it is larger than an item may hold or not read, its S3 URI."""
    if not notice.succeeded:
        return Result(
            STATUS_FAILED, REASON_ASYNC_INFERENCE_FAILED, detail=notice.failure_reason or "no reason given"
        )
    if output is None or (output_size is not None and output_size > ASYNC_OUTPUT_INLINE_MAX_BYTES):
        return Result(STATUS_COMPLETED, prediction_uri=notice.output_location)
    return completed_result(parse_prediction(output))


def is_within(uri: str, prefix_uri: str) -> bool:
    """Whether an s3:// URI lies under an s3://bucket/prefix/ URI (the outputs the writer may read)."""
    return uri.startswith(prefix_uri) and ".." not in uri[len(prefix_uri) :].split("/")
