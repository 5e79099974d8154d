"""Hops: the path each uploaded object takes through the emulated pipeline.

Deliveries (S3 → SNS/SQS/EventBridge/Lambda), Lambda invocations and the handler's
own AWS calls report here; each is turned into a `Hop` for every object it concerns,
identified by its URI `s3://<bucket>/<key>` (key decoded). This is observation for
the demo and for tests, not part of the emulated behaviour.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from lambdas.inference.contract import TABLE_PARTITION_KEY

from .calls import ACTOR_HANDLER, RecordedCall


@dataclass(frozen=True)
class Hop:
    """One step of one object: where it went (`step`) and what happened there (`detail`)."""

    seq: int
    at: float  # emulator clock
    object_uri: str
    step: str  # e.g. "sns:object-events-1a2b3c4", "lambda:inference-uploads", "dynamodb:results-..."
    detail: str = ""


def object_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def objects_in_event(event: Any) -> list[str]:
    """URIs of the S3 objects an event (S3, SNS, SQS or EventBridge shaped, nested) refers to."""
    found: list[str] = []
    _collect_objects(event, found, depth=0)
    return list(dict.fromkeys(found))


def _collect_objects(node: Any, found: list[str], depth: int) -> None:
    if depth > 16:
        return
    if isinstance(node, str):
        _collect_objects(_parse_json(node), found, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _collect_objects(item, found, depth + 1)
    elif isinstance(node, dict):
        uri = _s3_object_of(node)
        if uri is not None:
            found.append(uri)
            return
        for key in ("Records", "Message", "body", "Sns", "requestPayload", "detail"):
            if key in node:
                _collect_objects(node[key], found, depth + 1)


def _parse_json(text: str) -> Any:
    text = text.strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _s3_object_of(node: dict[str, Any]) -> str | None:
    """The object URI of an S3 notification record, an EventBridge S3 event or SageMaker's notification of
    an async inference (its InputLocation, the URI the submitting function sent), else None."""
    s3 = node.get("s3")
    if isinstance(s3, dict) and "object" in s3 and "bucket" in s3:
        # S3 notification records carry the key URL-encoded (space as "+").
        return object_uri(s3["bucket"].get("name", ""), unquote_plus(s3["object"].get("key", "")))
    detail = node.get("detail")
    if node.get("source") == "aws.s3" and isinstance(detail, dict):
        return object_uri(detail.get("bucket", {}).get("name", ""), detail.get("object", {}).get("key", ""))
    request = node.get("requestParameters")
    if node.get("eventSource") == "aws:sagemaker" and isinstance(request, dict):
        location = request.get("inputLocation")
        if isinstance(location, str) and location.startswith("s3://"):
            return location
    return None


@dataclass
class _Invocation:
    function_name: str
    objects: list[str]
    objects_read: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)


class Trace:
    """Collects hops; knows which invocation is running to attribute the handler's calls."""

    def __init__(self, read_object: Callable[[str, str, str | None], bytes | None]) -> None:
        self.hops: list[Hop] = []
        self._read_object = read_object
        self._clock: Callable[[], float] = lambda: 0.0
        self._lock = threading.Lock()
        self._current: _Invocation | None = None

    def use_clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def record(self, uris: Iterable[str], step: str, detail: str = "") -> None:
        with self._lock:
            for uri in uris:
                self.hops.append(Hop(len(self.hops) + 1, self._clock(), uri, step, detail))

    def for_object(self, uri: str) -> list[Hop]:
        return [h for h in self.hops if h.object_uri == uri]

    # -- invocations ------------------------------------------------------------------
    def begin_invocation(self, function_name: str, event: Any, source: str, attempt: int) -> list[str]:
        objects = objects_in_event(event)
        self._current = _Invocation(function_name, objects)
        label = f"attempt {attempt}" if attempt > 1 else ""
        self.record(objects, f"lambda:{function_name}", " ".join(x for x in (label, f"via {source}") if x))
        return objects

    def end_invocation(self, outcome: str) -> None:
        invocation = self._current
        self._current = None
        if invocation is not None and outcome:
            self.record(invocation.objects, f"lambda:{invocation.function_name}", outcome)

    # -- the handler's AWS calls ------------------------------------------------------
    def on_call(self, call: RecordedCall) -> None:
        invocation = self._current
        if invocation is None or call.actor != ACTOR_HANDLER:
            return
        outcome = f"error {call.error_code}" if call.error_code else "ok"
        params = call.params
        if call.operation == "GetObject":
            uri = object_uri(params.get("Bucket", ""), params.get("Key", ""))
            invocation.objects_read[uri] = (
                params.get("Bucket", ""),
                params.get("Key", ""),
                params.get("VersionId"),
            )
            self.record([uri], "s3:GetObject", outcome)
        elif call.operation == "HeadObject":
            self.record(
                [object_uri(params.get("Bucket", ""), params.get("Key", ""))], "s3:HeadObject", outcome
            )
        elif call.operation == "InvokeEndpoint":
            uris = self._objects_behind_payload(invocation, params.get("Body"))
            self.record(uris, f"sagemaker:{params.get('EndpointName', '')}", outcome)
        elif call.operation in ("PutItem", "UpdateItem"):
            item = params.get("Item") or params.get("Key") or {}
            uri = (item.get(TABLE_PARTITION_KEY) or {}).get("S")
            if uri:
                detail = (
                    "duplicate or older event: kept stored item"
                    if call.error_code == ("ConditionalCheckFailedException")
                    else outcome
                )
                self.record([uri], f"dynamodb:{params.get('TableName', '')}", detail)
        elif call.operation in ("Publish", "PublishBatch"):
            messages = [params.get("Message", "")] + [
                e.get("Message", "") for e in params.get("PublishBatchRequestEntries", [])
            ]
            topic = params.get("TopicArn", "").rsplit(":", 1)[-1]
            for uri in invocation.objects:
                if any(_mentions(message, uri) for message in messages):
                    self.record([uri], f"sns:{topic}", outcome)

    def _objects_behind_payload(self, invocation: _Invocation, body: Any) -> list[str]:
        """Which objects read in this invocation the model payload was built from (a binary payload is the
        object's bytes as they are)."""
        payload = _as_json(body)
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        matched = []
        for uri, (bucket, key, version) in invocation.objects_read.items():
            content = self._read_object(bucket, key, version)
            if content is not None and (content == raw or _payload_carries(payload, content)):
                matched.append(uri)
        return matched


def _mentions(message: str, uri: str) -> bool:
    if uri in message:
        return True
    bucket_and_key = uri.removeprefix("s3://")
    return json.dumps(bucket_and_key)[1:-1] in message or json.dumps(uri)[1:-1] in message


def _as_json(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError:
        return body


def _payload_carries(payload: Any, content: bytes) -> bool:
    """True if `payload` is the object's JSON, or its text as (one of) the model inputs."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    texts = {text.strip()}
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if document is not None and payload == document:
        return True
    if isinstance(document, dict) and isinstance(document.get("inputs"), str):
        texts.add(document["inputs"].strip())  # a {"inputs": "<text>"} document is batched as its text
    if isinstance(payload, dict):
        inputs = payload.get("inputs")
        candidates = inputs if isinstance(inputs, list) else [inputs]
        return any(isinstance(c, str) and c.strip() in texts for c in candidates)
    return False
