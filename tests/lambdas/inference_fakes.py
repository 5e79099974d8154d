"""In-process stand-ins and event builders for the inference handler's tests (no AWS, no moto)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from botocore.exceptions import ClientError

from lambdas.inference import contract
from lambdas.inference.contract import HANDLER_MIN_TIMEOUT_SECONDS
from lambdas.inference.domain import RouteScope, sequencer_order
from lambdas.inference.settings import Settings

BUCKET = "ingest-bucket"
ROUTE = "uploads"
# The function under test serves every key of BUCKET unless a test gives it a prefix or suffix.
SCOPE = RouteScope(ROUTE, BUCKET)


def settings(**overrides: Any) -> Settings:
    """Settings for pipeline tests."""
    values = {
        "results_table": "results",
        "endpoint_name": "model-endpoint",
        "topic_arn": "arn:aws:sns:us-east-1:123456789012:notifications",
        "route": ROUTE,
        "bucket": BUCKET,
        "max_object_bytes": 1024,
        "max_workers": 8,
        "model_max_batch_size": 1,
    }
    values.update(overrides)
    return Settings(**values)


def client_error(code: str, operation: str, status: int = 400, **extra: Any) -> ClientError:
    """A ClientError shaped like botocore's parsed error responses."""
    response = {
        "Error": {"Code": code, "Message": f"{code} (test)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    response.update(extra)
    return ClientError(response, operation)


class Body:
    """A streaming body that records how much was read."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)
        self.bytes_read = 0
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        chunk = self._stream.read(amt) if amt is not None else self._stream.read()
        self.bytes_read += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeS3:
    """Objects by key; keys listed in `errors` raise that ClientError; `content_types` gives an object's
    Content-Type (absent: none). PutObject stores into `written`, honouring IfNoneMatch="*"; keys listed in
    `put_errors` raise that ClientError."""

    def __init__(
        self,
        objects: dict[str, bytes] | None = None,
        errors: dict[str, ClientError] | None = None,
        content_types: dict[str, str] | None = None,
        put_errors: dict[str, ClientError] | None = None,
    ):
        self.objects = dict(objects or {})
        self.errors = dict(errors or {})
        self.content_types = dict(content_types or {})
        self.put_errors = dict(put_errors or {})
        self.calls: list[dict[str, Any]] = []
        self.bodies: list[Body] = []
        self.puts: list[dict[str, Any]] = []
        self.written: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put_object(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.puts.append(request)
            key = request["Key"]
            if key in self.put_errors:
                raise self.put_errors[key]
            if request.get("IfNoneMatch") == "*" and key in self.written:
                raise client_error("PreconditionFailed", "PutObject", 412)
            self.written[key] = request["Body"]
        return {"ETag": '"written"'}

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        key = request["Key"]
        if key in self.errors:
            raise self.errors[key]
        if key not in self.objects:
            raise client_error("NoSuchKey", "GetObject", 404)
        body = Body(self.objects[key])
        self.bodies.append(body)
        response = {"Body": body, "ContentLength": len(self.objects[key]), "ETag": '"etag-of-object"'}
        if key in self.content_types:
            response["ContentType"] = self.content_types[key]
        return response


class FakeModel:
    """Answers each request with `respond(request_document)`; `respond` may raise a ClientError. A body that
    is not JSON (a binary payload) is passed to `respond` as its bytes. `calls` keeps every request whole."""

    def __init__(self, respond: Callable[[Any], Any]) -> None:
        self.respond = respond
        self.requests: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        try:
            document = json.loads(request["Body"])
        except ValueError:
            document = request["Body"]
        with self._lock:
            self.requests.append(document)
            self.calls.append(request)
        return {"Body": Body(json.dumps(self.respond(document)).encode())}


def echo_model(document: Any) -> Any:
    """A model that labels each input with its own text (lists answered with lists)."""
    if isinstance(document, bytes):
        return {"label": "bytes", "size": len(document)}
    inputs = document.get("inputs") if isinstance(document, dict) else None
    if isinstance(inputs, list):
        return [{"label": text, "score": 0.5} for text in inputs]
    return {"label": inputs if isinstance(inputs, str) else "json", "score": 0.5}


class FakeTable:
    """Unconditional put_item; `stored` answers ConditionalCheckFailed with that item for those keys."""

    def __init__(
        self, stored: dict[str, dict[str, Any]] | None = None, errors: dict[str, ClientError] | None = None
    ):
        self.stored = dict(stored or {})
        self.errors = dict(errors or {})
        self.items: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        pk = request["Item"]["pk"]["S"]
        if pk in self.errors:
            raise self.errors[pk]
        if pk in self.stored:
            raise client_error("ConditionalCheckFailedException", "PutItem", Item=self.stored[pk])
        self.items[pk] = request["Item"]
        return {}


class FakeTopic:
    """Records PublishBatch entries; entries whose message pk is in `refuse` are reported Failed."""

    def __init__(self, refuse: set[str] | None = None, error: ClientError | None = None) -> None:
        self.refuse = set(refuse or ())
        self.error = error
        self.calls: list[list[dict[str, Any]]] = []

    def publish_batch(
        self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.calls.append(PublishBatchRequestEntries)
        if self.error is not None:
            raise self.error
        successful, failed = [], []
        for entry in PublishBatchRequestEntries:
            if json.loads(entry["Message"])["pk"] in self.refuse:
                failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
            else:
                successful.append({"Id": entry["Id"], "MessageId": f"m-{entry['Id']}"})
        return {"Successful": successful, "Failed": failed}

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [entry for call in self.calls for entry in call]


# --- stored results items and the re-scoring rule's cases -----------------------------------------------
OLD_SEQ, NEW_SEQ = "0055AED6DCD90281E5", "0055AED6DCD90281E6"


def stored_item(sequencer=OLD_SEQ, version="v1", started=1000, *, legacy_version=False, legacy_started=False):
    item = {"pk": f"s3://{BUCKET}/data/a.json", "status": "completed", "prediction": "stored"}
    if sequencer is not None:
        item[contract.SEQUENCER_ORDER_ATTRIBUTE] = sequencer_order(sequencer)
    if not legacy_version:
        item["model_version"] = version
    if not legacy_started:
        item[contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE] = started
    return item


# (name, stored, new, replaced): the rule of README's results contract, both directions.
# test_inference_models.py checks domain.replaces on them, test_inference_adapters.py the conditional write.
REPLACEMENT_CASES = [
    ("first result", None, stored_item(), True),
    ("newer event", stored_item(OLD_SEQ), stored_item(NEW_SEQ), True),
    ("older event", stored_item(NEW_SEQ), stored_item(OLD_SEQ), False),
    ("older event of a newer version", stored_item(NEW_SEQ), stored_item(OLD_SEQ, "v2", 2000), False),
    ("redelivery, same version", stored_item(), stored_item(), False),
    ("same version from a later environment", stored_item(), stored_item(started=2000), False),
    ("newer version from a later environment", stored_item(), stored_item(version="v2", started=2000), True),
    (
        "straggler: older version from an earlier environment",
        stored_item("0055AED6DCD90281E5", "v2", 2000),
        stored_item(version="v1", started=1000),
        False,
    ),
    ("other version from the same environment start", stored_item(), stored_item(version="v2"), False),
    ("legacy item without a version", stored_item(legacy_version=True), stored_item(started=2000), True),
    (
        "legacy item without a start",
        stored_item(legacy_started=True),
        stored_item(version="v2", started=1),
        True,
    ),
    ("unsequenced event, empty slot", None, stored_item(None), True),
    ("unsequenced event over a result", stored_item(None), stored_item(None, "v2", 2000), False),
    ("unsequenced event over a sequenced result", stored_item(), stored_item(None, "v2", 2000), False),
    ("sequenced event over an unsequenced result", stored_item(None, "v2", 2000), stored_item(), True),
]


# --- event builders -------------------------------------------------------------------------------------
def s3_record(
    key: str,
    *,
    bucket: str = BUCKET,
    event_name: str = "ObjectCreated:Put",
    sequencer: str | None = "0055AED6DCD90281E5",
    size: int | None = None,
    version_id: Any = None,
    encode: bool = True,
) -> dict[str, Any]:
    """One S3 notification record, its key form-encoded as S3 sends it."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/") if encode else key, "eTag": "0123456789abcdef"}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    if size is not None:
        obj["size"] = size
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-05-01T12:00:00.000Z",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    """A direct S3 → Lambda event."""
    return {"Records": list(records)}


def sns_envelope(message: dict[str, Any] | str) -> dict[str, Any]:
    """The SNS notification document (as SQS receives it without raw delivery)."""
    return {
        "Type": "Notification",
        "MessageId": "sns-message-id",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:object-events",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2024-05-01T12:00:01.000Z",
    }


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    """An SNS → Lambda event, one record per message."""
    records = []
    for index, message in enumerate(messages):
        envelope = sns_envelope(message)
        envelope["MessageId"] = f"sns-{index}"
        records.append({"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": envelope})
    return {"Records": records}


def sqs_event(*bodies: dict[str, Any] | str, ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS → Lambda event, one record per body."""
    ids = ids or [f"msg-{index}" for index in range(len(bodies))]
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inference",
                "awsRegion": "us-east-1",
            }
            for message_id, body in zip(ids, bodies, strict=True)
        ]
    }


def eventbridge_event(
    key: str,
    *,
    bucket: str = BUCKET,
    detail_type: str = "Object Created",
    sequencer: str | None = "006408CAD69598B05E",
    size: int | None = None,
    version_id: str | None = None,
) -> dict[str, Any]:
    """An EventBridge S3 event with the key exactly as given."""
    obj: dict[str, Any] = {"key": key, "etag": "4e68adba0abe2dc8653dc3354e14c01d"}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    if size is not None:
        obj["size"] = size
    if version_id is not None:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": "eb-event-id",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": obj, "reason": "PutObject"},
    }


S3_TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2024-05-01T12:00:00.000Z",
    "Bucket": BUCKET,
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
}


class LambdaContext:
    """The attributes of a Lambda context object that the handler (Powertools Logger, the deadline) reads;
    the time left is a simulated clock that `sleep` advances, starting at the stack's minimum timeout."""

    function_name = "inference-uploads"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:inference-uploads"
    aws_request_id = "request-id"

    def __init__(self, timeout_seconds: float = HANDLER_MIN_TIMEOUT_SECONDS) -> None:
        self.left = float(timeout_seconds)
        self.sleeps: list[float] = []
        self.left_after_sleeps: list[float] = []

    def get_remaining_time_in_millis(self) -> int:
        return int(self.left * 1000)

    def sleep(self, seconds: float) -> None:
        """Stands in for the handler's `sleep`: the pause passes on this clock, at once."""
        self.sleeps.append(seconds)
        self.left -= seconds
        self.left_after_sleeps.append(self.left)


class CallRecorder:
    """Wraps a client and records the names of the methods called on it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return call


# --- Kinesis records (kinesis routes) ---------------------------------------------------------------------
STREAM = "records-stream"
STREAM_ARN = f"arn:aws:kinesis:us-east-1:123456789012:stream/{STREAM}"


def kinesis_record(
    data: bytes | str | dict[str, Any],
    sequence_number: str,
    *,
    partition_key: str = "pk-1",
    shard: str = "shardId-000000000000",
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    """One record of the event Lambda's Kinesis event source mapping sends (AWS sample-event shape)."""
    import base64  # noqa: PLC0415

    if isinstance(data, dict):
        data = json.dumps(data)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(raw).decode("ascii"),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream_arn,
    }


def kinesis_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sequence(index: int) -> str:
    """A realistic (56-digit) sequence number; larger index, larger number."""
    return str(49590338271490256608559692538361571095921575989136588898 + index * 1000)
