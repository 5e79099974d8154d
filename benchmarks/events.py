"""Benchmark inputs: objects stored in the fake S3 and the SQS batch (or the direct S3 event) announcing them.

The SQS records carry S3 notification bodies shaped like the AWS sample
`powertools/s3SqsEvent.json` (eventVersion 2.1, `ObjectCreated:Put`, versionId and sequencer).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from benchmarks.fakes import ACCOUNT_ID, REGION, FakeAws

BUCKET = "bench-ingest"
ROUTE = "batch"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:inference-{ROUTE}"


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of a Lambda context object that Powertools reads."""

    function_name: str = f"inference-{ROUTE}"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:inference-{ROUTE}"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = f"/aws/lambda/inference-{ROUTE}"
    log_stream_name: str = "benchmark"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def object_text(index: int, size: int) -> bytes:
    """`size` bytes of distinct, valid UTF-8 text for object number `index`."""
    line = f"benchmark object {index}: the quick brown fox jumps over the lazy dog.\n".encode()
    return (line * (size // len(line) + 1))[:size]


# The json benchmark's field (JSON_INPUT_FIELD), sent under JSON_REQUEST_KEY "inputs", as HF expects.
JSON_FIELD = "text"
# What the binary benchmark's objects are uploaded as (their S3 Content-Type, sent to the model).
BINARY_CONTENT_TYPE = "image/png"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def object_json(index: int, size: int) -> bytes:
    """A JSON object of `size` bytes whose JSON_FIELD holds text (plus an id the model is not sent)."""
    envelope = json.dumps({JSON_FIELD: "", "id": index}).encode()
    text = object_text(index, max(1, size - len(envelope))).decode()
    return json.dumps({JSON_FIELD: text, "id": index}).encode()


def object_binary(index: int, size: int) -> bytes:
    """`size` bytes that begin as a PNG does and are not UTF-8 (so nothing can treat them as text)."""
    body = bytes((index + offset) % 256 for offset in range(256)) * (size // 256 + 1)
    return (_PNG_SIGNATURE + body)[:size]


def object_document(index: int, size: int) -> bytes:
    """A summarizer's request of about `size` bytes, as an async route's documents are stored:
    `{"inputs": "<text>"}` (the async endpoint reads it from S3 as it is)."""
    envelope = len(json.dumps({"inputs": ""}).encode())
    return json.dumps({"inputs": object_text(index, max(1, size - envelope)).decode()}).encode()


_MAKERS = {"text": (object_text, ".txt", "text/plain"), "json": (object_json, ".json", "application/json")}
_MAKERS["binary"] = (object_binary, ".png", BINARY_CONTENT_TYPE)
_MAKERS["document"] = (object_document, ".json", "application/json")


def store_objects(
    fake: FakeAws, count: int, size: int, prefix: str = f"{ROUTE}/", payload_format: str = "text"
) -> list[dict[str, Any]]:
    """Put `count` objects of about `size` bytes in `payload_format` (text, json, binary, document) into the
    fake S3; return their S3 notification records."""
    make, suffix, content_type = _MAKERS[payload_format]
    records = []
    for index in range(count):
        key = f"{prefix}object {index:04d}{suffix}"  # a space, so the URL-decoding path is exercised too
        data = make(index, size)
        stored = fake.put_object(BUCKET, key, data, content_type=content_type)
        records.append(_s3_record(key, len(data), stored.etag.strip('"'), stored.version_id, index))
    return records


def _s3_record(key: str, size: int, etag: str, version_id: str, index: int) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2025-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:BENCHMARK"},
        "requestParameters": {"sourceIPAddress": "192.0.2.1"},
        "responseElements": {"x-amz-request-id": "BENCHMARK", "x-amz-id-2": "BENCHMARK"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": ROUTE,
            "bucket": {
                "name": BUCKET,
                "ownerIdentity": {"principalId": "BENCHMARK"},
                "arn": f"arn:aws:s3:::{BUCKET}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),  # S3 URL-encodes keys in notifications
                "size": size,
                "eTag": etag,
                "versionId": version_id,
                "sequencer": f"{0x0065000000000000 + index:016X}",
            },
        },
    }


def s3_event(s3_record: dict[str, Any]) -> dict[str, Any]:
    """The event S3 invokes a function with directly (a `via: lambda` route): one record per notification."""
    return {"Records": [s3_record]}


def sqs_event(s3_records: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS batch with one message per S3 notification (S3 → SQS delivery, one record per message)."""
    return {"Records": [_sqs_record({"Records": [record]}) for record in s3_records]}


def _sqs_record(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "benchmark-receipt-handle",
        "body": json.dumps(body, separators=(",", ":")),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1735689600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1735689600000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


# The kinesis route's stream: its records carry their inputs (no S3 object, no GetObject).
STREAM_ROUTE = "stream"
STREAM_NAME = "bench-stream"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{STREAM_NAME}"
SHARD_ID = "shardId-000000000000"
_FIRST_SEQUENCE_NUMBER = 49590338271490256608559692538361571095921575989136588898


def kinesis_event(count: int, size: int) -> dict[str, Any]:
    """A batch of `count` records of one shard as the Kinesis event source mapping delivers them (the AWS
    sample event's shape), each `{"id", "text"}` of about `size` bytes of text."""
    records = []
    for index in range(count):
        sequence_number = str(_FIRST_SEQUENCE_NUMBER + index)
        data = json.dumps({"id": f"bench-{index:04d}", "text": object_text(index, size).decode()}).encode()
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"producer-{index % 4}",
                    "sequenceNumber": sequence_number,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": 1735689600.0 + index / 1000,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{SHARD_ID}:{sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/inference-{STREAM_ROUTE}",
                "awsRegion": REGION,
                "eventSourceARN": STREAM_ARN,
            }
        )
    return {"Records": records}
