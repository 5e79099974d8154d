"""AWS size limits the pipeline can hit, enforced at the service edge where moto 5.2.5 does not.

`LIMITS` is the one table: each limit's number, where AWS documents it and the error AWS returns.
`LimitEnforcer.patches()` hooks the checks into moto through the patch registry (`patches.py`);
the SageMaker stand-in (`standin_model.py`, our own code) asks `invoke_endpoint_limit` itself.

What moto already enforces is only noted here and tested, not re-implemented:
- SNS Publish: a body longer than 256 KiB *characters* (moto.sns.models.MAXIMUM_MESSAGE_LENGTH); it
  counts neither UTF-8 bytes nor attributes, nor the PublishBatch total -- those are added here.
- SQS SendMessage: a body longer than the queue's MaximumMessageSize (default 1 MiB, as AWS's today),
  `InvalidParameterValue`; a SendMessageBatch over 1 MiB in total, `BatchRequestTooLong`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.s3.exceptions import S3ClientError
from moto.sns.exceptions import InvalidParameterValue, SNSException

from .patches import Patch


@dataclass(frozen=True)
class Limit:
    what: str
    max_bytes: int
    source: str  # the AWS page that states the number
    error_code: str
    http_status: int
    message: str  # str.format(size=..., limit=...)


LIMITS: dict[str, Limit] = {
    "s3_key": Limit(
        "S3 object key, UTF-8 bytes",
        1024,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
        "KeyTooLongError",
        400,
        "Your key is too long",
    ),
    # Lambda's async limit was raised from 256 KB to 1 MB; the Invoke API reference states 1 MB
    # ("For asynchronous invocations, the maximum payload size is 1 MB"); the error code and wording
    # are those AWS returned for the 256 KB limit (RequestEntityTooLargeException, 413).
    "lambda_async_payload": Limit(
        "Lambda Invoke payload, InvocationType=Event",
        1024 * 1024,
        "https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html",
        "RequestEntityTooLargeException",
        413,
        "{size} byte payload is too large for the Event invocation type (limit {limit} bytes)",
    ),
    # Body plus attribute names, types and values; a topic's default MaximumMessageSize (the stack sets none).
    "sns_message": Limit(
        "SNS Publish message with its attributes",
        256 * 1024,
        "https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html",
        "InvalidParameter",
        400,
        "Invalid parameter: Message too long",
    ),
    "sns_batch": Limit(
        "SNS PublishBatch, all entries with their attributes",
        256 * 1024,
        "https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html",
        "BatchRequestTooLong",
        400,
        "The length of all the batch messages put together is more than the limit.",
    ),
    # moto enforces this one (see the module docstring); listed so the table is complete.
    "sqs_message": Limit(
        "SQS SendMessage body (queue MaximumMessageSize, default)",
        1024 * 1024,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html",
        "InvalidParameterValue",
        400,
        "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
    ),
    # The error as SageMaker returns it for a serverless endpoint (aws/sagemaker-python-sdk#4271).
    "invoke_endpoint_serverless": Limit(
        "SageMaker InvokeEndpoint Body, serverless endpoint",
        4 * 1024 * 1024,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html",
        "ValidationError",
        400,
        "Request {request_id} has oversize body.",
    ),
    # The API's Body length constraint (botocore's model: max 6291456); the message is AWS's usual
    # constraint wording, not one observed for this case.
    "invoke_endpoint_realtime": Limit(
        "SageMaker InvokeEndpoint Body, real-time endpoint",
        6 * 1024 * 1024,
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html",
        "ValidationError",
        400,
        "1 validation error detected: Value at 'body' failed to satisfy constraint: "
        "Member must have length less than or equal to {limit}",
    ),
}


def utf8_size(text: str | bytes | None) -> int:
    if text is None:
        return 0
    return len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))


def sns_message_size(message: str, attributes: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes SNS counts: the body plus each attribute's name, data type and value."""
    size = utf8_size(message)
    for name, value in (attributes or {}).items():
        data_type = value.get("Type", value.get("DataType", ""))
        raw = value.get("Value", value.get("StringValue", value.get("BinaryValue", "")))
        size += (
            utf8_size(name)
            + utf8_size(str(data_type))
            + utf8_size(raw if isinstance(raw, bytes) else str(raw))
        )
    return size


class _LambdaTooLarge(JsonRESTError):
    def __init__(self, limit: Limit, size: int) -> None:
        super().__init__(limit.error_code, limit.message.format(size=size, limit=limit.max_bytes))
        self.code = limit.http_status


class _SnsBatchTooLong(SNSException):
    code = LIMITS["sns_batch"].error_code


class InvokeEndpointBodyTooLarge(JsonRESTError):
    def __init__(self, limit: Limit) -> None:
        request_id = str(uuid.uuid4())
        super().__init__(limit.error_code, limit.message.format(request_id=request_id, limit=limit.max_bytes))
        self.code = limit.http_status


def check_invoke_endpoint_body(endpoint: Any, payload: bytes) -> None:
    """Refuse a Body over the endpoint type's limit, as SageMaker does (the stand-in calls this)."""
    limit = invoke_endpoint_limit(endpoint)
    if len(payload) > limit.max_bytes:
        raise InvokeEndpointBodyTooLarge(limit)


def invoke_endpoint_limit(endpoint: Any) -> Limit:
    """The InvokeEndpoint Body limit of a moto endpoint: serverless if any variant is."""
    serverless = any(v.get("CurrentServerlessConfig") for v in getattr(endpoint, "production_variants", []))
    return LIMITS["invoke_endpoint_serverless" if serverless else "invoke_endpoint_realtime"]


class LimitEnforcer:
    """The checks, as patches of moto's backends (the service edge every caller goes through)."""

    def __init__(self) -> None:
        self.refused: dict[str, int] = {}

    def _refuse(self, name: str) -> Limit:
        self.refused[name] = self.refused.get(name, 0) + 1
        return LIMITS[name]

    def patches(self) -> list[Patch]:
        return [
            Patch("moto.s3.models.S3Backend", "put_object", wrap=self._s3_key(1), reason="S3 key length"),
            Patch(
                "moto.s3.models.S3Backend",
                "create_multipart_upload",
                wrap=self._s3_key(1),
                reason="S3 key length",
            ),
            Patch("moto.s3.models.S3Backend", "copy_object", wrap=self._s3_key(2), reason="S3 key length"),
            Patch("moto.sns.models.SNSBackend", "publish", wrap=self._sns_publish, reason="SNS message size"),
            Patch(
                "moto.sns.models.SNSBackend",
                "publish_batch",
                wrap=self._sns_publish_batch,
                reason="SNS PublishBatch total size",
            ),
            Patch(
                "moto.awslambda.models.LambdaBackend",
                "invoke",
                wrap=self._lambda_invoke,
                reason="Lambda async payload size",
            ),
        ]

    def _s3_key(self, key_position: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        enforcer = self

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            def checked(backend: Any, *args: Any, **kwargs: Any) -> Any:
                key = kwargs.get("dest_key_name", kwargs.get("key_name"))
                if key is None and len(args) > key_position:
                    key = args[key_position]
                if isinstance(key, str) and utf8_size(key) > LIMITS["s3_key"].max_bytes:
                    limit = enforcer._refuse("s3_key")
                    raise S3ClientError(limit.error_code, limit.message)
                return original(backend, *args, **kwargs)

            return checked

        return wrap

    def _sns_publish(self, original: Callable[..., Any]) -> Callable[..., Any]:
        enforcer = self

        def publish(backend: Any, message: str, *args: Any, **kwargs: Any) -> Any:
            attributes = kwargs.get("message_attributes", args[3] if len(args) > 3 else None)
            if (
                isinstance(message, str)
                and sns_message_size(message, attributes) > LIMITS["sns_message"].max_bytes
            ):
                raise InvalidParameterValue(enforcer._refuse("sns_message").message)
            return original(backend, message, *args, **kwargs)

        return publish

    def _sns_publish_batch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        enforcer = self

        def publish_batch(backend: Any, topic_arn: str, publish_batch_request_entries: list[Any]) -> Any:
            entries = publish_batch_request_entries
            total = sum(sns_message_size(e.get("Message", ""), e.get("MessageAttributes")) for e in entries)
            if total > LIMITS["sns_batch"].max_bytes:
                raise _SnsBatchTooLong(enforcer._refuse("sns_batch").message)
            return original(backend, topic_arn, entries)

        return publish_batch

    def _lambda_invoke(self, original: Callable[..., Any]) -> Callable[..., Any]:
        enforcer = self

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, *rest: Any
        ) -> Any:
            lowered = {str(k).lower(): v for k, v in dict(headers or {}).items()}
            size = utf8_size(body) if isinstance(body, (str, bytes)) else 0
            if (
                lowered.get("x-amz-invocation-type") == "Event"
                and size > LIMITS["lambda_async_payload"].max_bytes
            ):
                raise _LambdaTooLarge(enforcer._refuse("lambda_async_payload"), size)
            return original(backend, function_name, qualifier, body, headers, *rest)

        return invoke
