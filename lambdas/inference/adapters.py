"""Thin edges to S3, SageMaker runtime, DynamoDB and SNS (low-level boto3 clients, or fakes): one call each,
botocore errors translated into TransientError (retry later) or PermanentError (record the outcome)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from .contract import (
    ENVIRONMENT_STARTED_AT_ATTRIBUTE,
    INFERENCE_ID_ATTRIBUTE,
    OUTCOME_PUBLISHED_ATTRIBUTE,
    REASON_ARCHIVED,
    REASON_MODEL_ERROR,
    REASON_NO_SUCH_KEY,
    REASON_NO_SUCH_VERSION,
    REASON_TOO_LARGE,
    REASON_UNSUPPORTED_CONTENT_TYPE,
    SEQUENCER_ORDER_ATTRIBUTE,
    STATUS_IN_PROGRESS,
    TABLE_PARTITION_KEY,
)
from .domain import MODEL_VERSION, ObjectMeta, OutcomeMessage, media_type

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_READ_CHUNK_BYTES = 1024 * 1024


class TransientError(Exception):
    """A fault that may pass (throttling, 5xx, timeouts, missing permissions): retry the object later."""


class PermanentError(Exception):
    """A fault that retrying cannot fix; `reason` is the contract's machine-readable reason."""

    def __init__(self, reason: str, detail: str, meta: ObjectMeta | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.meta = meta  # what S3 said about the object, when it said anything


class ObjectMissing(PermanentError):
    """The object (or the event's version of it) no longer exists."""


class ObjectArchived(PermanentError):
    """The object is in an archive storage class and must be restored before it can be read."""


class ObjectTooLarge(PermanentError):
    """The object exceeds the configured size limit; its body was not downloaded."""


class UnsupportedContentType(PermanentError):
    """The object's S3 Content-Type is not one the model decodes; its body was not downloaded."""

    def __init__(self, content_type: str | None, meta: ObjectMeta) -> None:
        super().__init__(REASON_UNSUPPORTED_CONTENT_TYPE, f"Content-Type {content_type!r}", meta)
        self.content_type = content_type


class ModelRejected(PermanentError):
    """The model answered a client error (4xx) for this input."""


class ModelThrottled(TransientError):
    """The endpoint has no capacity for the call now (throttled, overloaded, scaling): wait, then retry it."""


class ModelFailed(TransientError):
    """The model's container failed the request itself (a 5xx of its own): possibly because of one input."""


def error_code(err: Exception) -> str:
    """The AWS error code of a ClientError ("" for any other error)."""
    return str(err.response.get("Error", {}).get("Code", "")) if isinstance(err, ClientError) else ""


def _transient(operation: str, err: Exception) -> TransientError:
    """A botocore error as a TransientError naming the call and the AWS error code (else the error)."""
    return TransientError(f"{operation} failed: {error_code(err) or err}")


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


# --- S3 -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchedObject:
    """An object's bytes, what S3 said about the version it returned, and its Content-Type."""

    data: bytes
    meta: ObjectMeta
    content_type: str | None = None


def get_object(  # noqa: PLR0917 - the request's parts, as GetObject names them
    s3: Any,
    bucket: str,
    key: str,
    version_id: str | None,
    max_bytes: int,
    content_types: Collection[str] | None = None,
) -> FetchedObject:
    """Read an object of at most `max_bytes` (and, when `content_types` is given, of one of those media
    types); never downloads more than `max_bytes` + 1 bytes of it, nor any of an object refused."""
    request = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        response = s3.get_object(**request)
        body = response["Body"]
        try:
            meta = ObjectMeta(
                version_id=response.get("VersionId") or None,
                etag=response.get("ETag"),
                size=response.get("ContentLength"),
            )
            content_type = response.get("ContentType")
            if meta.size is not None and meta.size > max_bytes:
                raise ObjectTooLarge(REASON_TOO_LARGE, f"{meta.size} bytes > limit {max_bytes}", meta)
            if content_types is not None and media_type(content_type) not in content_types:
                raise UnsupportedContentType(content_type, meta)
            data = _read_at_most(body, max_bytes + 1)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as err:
        code = error_code(err)
        if code == "NoSuchKey":
            raise ObjectMissing(REASON_NO_SUCH_KEY, f"s3://{bucket}/{key} does not exist") from err
        # S3 answers InvalidArgument for a version id it cannot have issued: that version does not exist.
        if code == "NoSuchVersion" or (code == "InvalidArgument" and version_id):
            raise ObjectMissing(REASON_NO_SUCH_VERSION, f"version {version_id!r} does not exist") from err
        if code == "InvalidObjectState":
            raise ObjectArchived(REASON_ARCHIVED, "object is archived; restore it to process it") from err
        # AccessDenied lands here too: without s3:ListBucket S3 reports a missing key as AccessDenied, and a
        # permission fix is worth retrying for (the trigger's DLQ keeps the event meanwhile).
        raise _transient("GetObject", err) from err
    if len(data) > max_bytes:
        raise ObjectTooLarge(REASON_TOO_LARGE, f"more than {max_bytes} bytes", meta)
    if meta.size is None:
        meta = ObjectMeta(meta.version_id, meta.etag, len(data))
    return FetchedObject(data=data, meta=meta, content_type=content_type)


def put_large_result(s3: Any, bucket: str, key: str, body: bytes) -> str:
    """Write a result too large for its item to `s3://bucket/key` unless that key exists, with the bucket's
    default encryption (README: Large results); returns the URI."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*")
    except (ClientError, BotoCoreError) as err:
        # 412 PreconditionFailed: the object exists, written by an earlier delivery of this event. (A 409
        # ConditionalRequestConflict, a concurrent write of the same key, is retried with the rest.)
        if error_code(err) != "PreconditionFailed":
            raise _transient("PutObject", err) from err
    return f"s3://{bucket}/{key}"


def _read_at_most(body: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = body.read(min(_READ_CHUNK_BYTES, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


# --- SageMaker runtime ----------------------------------------------------------------------------------
# Capacity faults: the same request succeeds once the endpoint has room, so they are retried after a pause.
# A serverless endpoint throttles invocations above its MaxConcurrency (ThrottlingException);
# ModelNotReadyException (429) means "a serverless endpoint variant's resources are still being provisioned
# ... Wait and try your request again"; ServiceUnavailable (503) "The service is unavailable. Try your call
# again." (SageMaker API Reference, InvokeEndpoint, Errors.)
_MODEL_CAPACITY_CODES = frozenset({"ThrottlingException", "ModelNotReadyException", "ServiceUnavailable"})
# Faults of the service itself: botocore's standard mode already retries them, then the trigger does.
_MODEL_TRANSIENT_CODES = frozenset({"InternalFailure", "InternalDependencyException"})
# "Too Many Requests" from the model's own container: it is overloaded, not refusing this input.
_HTTP_TOO_MANY_REQUESTS = 429


def invoke_endpoint(sagemaker_runtime: Any, endpoint: str, body: bytes, content_type: str) -> bytes:
    """Invoke the endpoint once and return the response body."""
    try:
        response = sagemaker_runtime.invoke_endpoint(
            EndpointName=endpoint, Body=body, ContentType=content_type, Accept="application/json"
        )
        return response["Body"].read()
    except (ClientError, BotoCoreError) as err:
        code = error_code(err)
        if code == "ModelError":
            # ModelError: the "model (owned by the customer in the container) returned 4xx or 5xx error code",
            # given as OriginalStatusCode (SageMaker API Reference, InvokeEndpoint). 429 is the container
            # overloaded, another 4xx this input is bad, anything else the model failing.
            original = err.response.get("OriginalStatusCode")
            message = str(err.response.get("OriginalMessage", ""))[:200]
            if original == _HTTP_TOO_MANY_REQUESTS:
                raise ModelThrottled(f"model overloaded (original status {original}): {message}") from err
            if isinstance(original, int) and 400 <= original < 500:
                raise ModelRejected(REASON_MODEL_ERROR, f"model answered {original}: {message}") from err
            raise ModelFailed(f"model error (original status {original}): {message}") from err
        if code in _MODEL_CAPACITY_CODES:
            raise ModelThrottled(f"InvokeEndpoint: {code}") from err
        if code in _MODEL_TRANSIENT_CODES:
            raise TransientError(f"InvokeEndpoint: {code}") from err
        # ValidationError (unknown endpoint, wrong content type) is a deployment fault: retried, then the DLQ.
        raise _transient("InvokeEndpoint", err) from err


# --- DynamoDB -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WriteOutcome:
    """Whether the conditional write stored the item; if not, the item already stored (same or newer)."""

    written: bool
    stored: dict[str, Any] | None = None


def put_result(dynamodb: Any, table: str, item: dict[str, Any]) -> WriteOutcome:
    """Write the results item if it replaces the stored one: domain.replaces in DynamoDB's condition
    language (README: The results item)."""
    order = item.get(SEQUENCER_ORDER_ATTRIBUTE)
    names = {"#pk": TABLE_PARTITION_KEY}
    values: dict[str, Any] = {}
    if order is None:
        # Unsequenced, the event cannot be ordered: it only fills an empty slot.
        condition = "attribute_not_exists(#pk)"
    else:
        # A result written by an unsequenced event yields to any sequenced one.
        condition = "attribute_not_exists(#pk) OR attribute_not_exists(#order) OR #order < :order"
        names["#order"] = SEQUENCER_ORDER_ATTRIBUTE
        values[":order"] = _SERIALIZER.serialize(order)
        version, started = item.get(MODEL_VERSION), item.get(ENVIRONMENT_STARTED_AT_ATTRIBUTE)
        if isinstance(version, str) and isinstance(started, int):
            # The same event from another model version, written by a later environment: a redeploy re-scores.
            condition += (
                " OR (#order = :order"
                " AND (attribute_not_exists(#version) OR #version <> :version)"
                " AND (attribute_not_exists(#started) OR #started < :started))"
            )
            names.update({"#version": MODEL_VERSION, "#started": ENVIRONMENT_STARTED_AT_ATTRIBUTE})
            values[":version"] = _SERIALIZER.serialize(version)
            values[":started"] = _SERIALIZER.serialize(started)
    request: dict[str, Any] = {
        "TableName": table,
        "Item": {name: _SERIALIZER.serialize(value) for name, value in item.items()},
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if values:
        request["ExpressionAttributeValues"] = values
    try:
        dynamodb.put_item(**request)
    except (ClientError, BotoCoreError) as err:
        if error_code(err) == "ConditionalCheckFailedException":
            return WriteOutcome(written=False, stored=_from_dynamodb(err.response.get("Item") or {}))
        # Throttling, 5xx, and deployment faults (missing table or permission) are retried; nothing written.
        raise _transient("PutItem", err) from err
    return WriteOutcome(written=True)


# --- SNS ------------------------------------------------------------------------------------------------
def publish_batch(sns: Any, topic_arn: str, messages: Sequence[OutcomeMessage]) -> dict[int, str]:
    """Publish up to 10 outcome messages in one call; returns {index: error} for entries SNS refused."""
    entries = [
        {"Id": str(index), "Message": message.body, "MessageAttributes": message.attributes}
        for index, message in enumerate(messages)
    ]
    try:
        response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
    except (ClientError, BotoCoreError) as err:
        raise _transient("PublishBatch", err) from err
    failures = {
        int(failed["Id"]): f"{failed.get('Code', 'unknown')}: {failed.get('Message', '')}"
        for failed in response.get("Failed", [])
    }
    succeeded = {int(entry["Id"]) for entry in response.get("Successful", [])}
    # An entry SNS reports neither way was not confirmed: treat it as not published.
    for index in range(len(entries)):
        if index not in succeeded and index not in failures:
            failures[index] = "not confirmed by PublishBatch"
    return failures


# --- async models ---------------------------------------------------------------------------------------
def invoke_endpoint_async(  # noqa: PLR0917 - the request's parts, as InvokeEndpointAsync names them
    sagemaker_runtime: Any,
    endpoint: str,
    input_location: str,
    content_type: str,
    inference_id: str,
    timeout_seconds: int,
) -> str:
    """Submit one object's S3 location to an async endpoint; returns the InferenceId SageMaker queued."""
    try:
        response = sagemaker_runtime.invoke_endpoint_async(
            EndpointName=endpoint,
            InputLocation=input_location,
            ContentType=content_type,
            Accept="application/json",
            InferenceId=inference_id,
            InvocationTimeoutSeconds=timeout_seconds,
        )
    except (ClientError, BotoCoreError) as err:
        code = error_code(err)
        if code in _MODEL_CAPACITY_CODES or code in _MODEL_TRANSIENT_CODES:
            raise TransientError(f"InvokeEndpointAsync: {code}") from err
        # ValidationError, AccessDenied: a deployment fault, retried by the trigger, then the DLQ.
        raise _transient("InvokeEndpointAsync", err) from err
    return str(response.get("InferenceId") or inference_id)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of s3://bucket/key."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_async_output(s3: Any, uri: str, inline_limit: int) -> tuple[bytes | None, int | None]:
    """(body, size) of an async output; body None when it is larger than `inline_limit` (left in S3)."""
    bucket, key = split_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as err:
        raise _transient(f"GetObject of async output {uri}", err) from err
    body = response["Body"]
    size = response.get("ContentLength")
    try:
        if size is not None and size > inline_limit:
            return None, size
        # One byte more than the limit: a body sent without its length is told apart from one that fits.
        data = _read_at_most(body, inline_limit + 1)
    finally:
        body.close()
    return (None, len(data)) if len(data) > inline_limit else (data, len(data))


def mark_outcome_published(dynamodb: Any, table: str, pk: str, inference_id: str, at: str) -> bool:
    """Record that this inference's final outcome is published; False if the item moved on meanwhile (a
    newer event or model version), which then publishes its own."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key={TABLE_PARTITION_KEY: _SERIALIZER.serialize(pk)},
            UpdateExpression="SET #published = :at",
            ConditionExpression="#iid = :iid AND #status <> :waiting",
            ExpressionAttributeNames={
                "#published": OUTCOME_PUBLISHED_ATTRIBUTE,
                "#iid": INFERENCE_ID_ATTRIBUTE,
                "#status": "status",
            },
            ExpressionAttributeValues={
                ":at": _SERIALIZER.serialize(at),
                ":iid": _SERIALIZER.serialize(inference_id),
                ":waiting": _SERIALIZER.serialize(STATUS_IN_PROGRESS),
            },
        )
    except (ClientError, BotoCoreError) as err:
        if error_code(err) == "ConditionalCheckFailedException":
            return False
        raise _transient("UpdateItem", err) from err
    return True


def complete_async_result(
    dynamodb: Any, table: str, pk: str, inference_id: str, final: dict[str, Any]
) -> WriteOutcome:
    """Set the final attributes of an `in_progress` item still waiting for this inference id; `stored` is the
    item after the write, or the one found (None: none) when the condition failed."""
    names = {"#pk": TABLE_PARTITION_KEY, "#iid": INFERENCE_ID_ATTRIBUTE, "#status": "status"}
    values: dict[str, Any] = {
        ":iid": _SERIALIZER.serialize(inference_id),
        ":waiting": _SERIALIZER.serialize(STATUS_IN_PROGRESS),
    }
    sets, removes = [], []
    for index, (name, value) in enumerate(sorted(final.items())):
        names[f"#a{index}"] = name
        if value is None:
            removes.append(f"#a{index}")
        else:
            values[f":v{index}"] = _SERIALIZER.serialize(value)
            sets.append(f"#a{index} = :v{index}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        response = dynamodb.update_item(
            TableName=table,
            Key={TABLE_PARTITION_KEY: _SERIALIZER.serialize(pk)},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(#pk) AND #iid = :iid AND #status = :waiting",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except (ClientError, BotoCoreError) as err:
        if error_code(err) == "ConditionalCheckFailedException":
            stored = err.response.get("Item")
            return WriteOutcome(written=False, stored=_from_dynamodb(stored) if stored else None)
        raise _transient("UpdateItem", err) from err
    return WriteOutcome(written=True, stored=_from_dynamodb(response.get("Attributes") or {}))
