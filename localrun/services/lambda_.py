"""Lambda: functions, permissions, the event source mapping and invoke configs, created in moto.

Where moto lacks an API, the declared setting is kept by the emulator itself
(FunctionRecursionConfig, function log group) and honoured there (see `lambda_/runtime.py`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from moto.core.exceptions import JsonRESTError

from ..lambda_.runtime import FunctionExtras
from ..patches import Patch
from ..program import PROJECT_DIR
from .base import Inputs, Limit, UnsupportedResourceType, utf8_size

if TYPE_CHECKING:
    from ..limits import LimitEnforcer
    from ..moto_mocks import MotoMocks


def function(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=64)
    code = i.get("code")
    if code is None:
        raise UnsupportedResourceType(
            f"{i.typ} {name!r}: only zip code from a Pulumi archive (`code=`) can run locally "
            "(S3 or image code cannot be imported in-process)"
        )
    environment = i.block("environment", "variables")
    variables = {k: str(v) for k, v in (environment.get("variables") or {}).items()}
    params: dict[str, Any] = {
        "FunctionName": name,
        "Role": i.req("role"),
        "Handler": i.req("handler"),
        "Runtime": i.req("runtime"),
        "Code": {"ZipFile": archive_to_zip(code)},
        "Environment": {"Variables": variables},
        **i.present({"memorySize": "MemorySize", "timeout": "Timeout"}, int),
        **i.present({"architectures": "Architectures", "kmsKeyArn": "KMSKeyArn"}),
    }
    tracing = i.block("tracingConfig", "mode")
    if tracing:
        params["TracingConfig"] = {"Mode": tracing["mode"]}
        if tracing["mode"] == "Active":
            m.note_not_emulated(i, "X-Ray active tracing (no traces are recorded locally)")
    function = m.client("lambda").create_function(**params)
    reserved = i.int("reservedConcurrentExecutions")
    if reserved is not None:
        m.client("lambda").put_function_concurrency(
            FunctionName=name,
            ReservedConcurrentExecutions=reserved,
        )
    logging_config = i.block("loggingConfig", "logFormat", "logGroup")
    m.runtime.declare(
        name,
        FunctionExtras(log_group=logging_config.get("logGroup"), log_format=logging_config.get("logFormat")),
    )
    arn = function["FunctionArn"]
    return name, {
        "arn": arn,
        "name": name,
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
        "invokeArn": (f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations"),
        "codeSha256": function["CodeSha256"],
        "sourceCodeSize": function["CodeSize"],
    }


# What a redeploy may change on a function in place (UpdateFunctionConfiguration); the Lambda runtime
# starts a new execution environment for the next invocation, as Lambda does after an update.
FUNCTION_UPDATABLE = frozenset({"environment", "memorySize", "timeout"})


def update_function(m: MotoMocks, i: Inputs, function_name: str, changed: frozenset[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"FunctionName": function_name}
    if "environment" in changed:
        variables = i.block("environment", "variables").get("variables") or {}
        params["Environment"] = {"Variables": {k: str(v) for k, v in variables.items()}}
    params.update(i.present({"memorySize": "MemorySize", "timeout": "Timeout"}, int))
    configuration = m.client("lambda").update_function_configuration(**params)
    return {"lastModified": configuration.get("LastModified")}


def permission(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    statement_id = hashlib.sha256(i.name.encode()).hexdigest()[:26]
    m.client("lambda").add_permission(
        FunctionName=i.req("function"),
        StatementId=statement_id,
        Action=i.req("action"),
        Principal=i.req("principal"),
        **i.present({"sourceArn": "SourceArn", "sourceAccount": "SourceAccount"}),
    )
    return statement_id, {"statementId": statement_id}


def event_source_mapping(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    source_arn = i.req("eventSourceArn")
    service = source_arn.split(":")[2]
    if service == "kinesis":
        return _stream_mapping(m, i, source_arn)
    if service != "sqs":
        raise UnsupportedResourceType(
            f"{i.typ} {i.name!r}: only SQS and Kinesis event sources are emulated ({source_arn})"
        )
    scaling = i.block("scalingConfig", "maximumConcurrency")
    # The poller (lambda_/sqs_poller.py) takes over delivery from moto when the mapping is created.
    mapping = m.client("lambda").create_event_source_mapping(
        EventSourceArn=source_arn,
        FunctionName=i.req("functionName"),
        BatchSize=int(i.req("batchSize")),
        MaximumBatchingWindowInSeconds=int(i.req("maximumBatchingWindowInSeconds")),
        FunctionResponseTypes=i.get("functionResponseTypes", []),
        ScalingConfig={"MaximumConcurrency": int(scaling["maximumConcurrency"])},
    )
    return mapping["UUID"], {
        "uuid": mapping["UUID"],
        "functionArn": mapping["FunctionArn"],
        "state": mapping.get("State", "Enabled"),
        "arn": mapping.get("EventSourceMappingArn", ""),
    }


def _stream_mapping(m: MotoMocks, i: Inputs, stream_arn: str) -> tuple[str, dict[str, Any]]:
    """A Kinesis mapping: moto keeps it; `lambda_/kinesis_poller.py` reads the stream for it, so moto's own
    delivery (one inline invocation per PutRecord, errors ignored) is detached from the stream here."""
    destination = i.block("destinationConfig", "onFailure").get("onFailure") or {}
    on_failure = i.fields("destinationConfig.onFailure", destination, "destinationArn")
    params: dict[str, Any] = {
        "EventSourceArn": stream_arn,
        "FunctionName": i.req("functionName"),
        "StartingPosition": i.req("startingPosition"),
        "BatchSize": int(i.req("batchSize")),
        "FunctionResponseTypes": i.get("functionResponseTypes", []),
        **i.present(
            {
                "maximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
                "parallelizationFactor": "ParallelizationFactor",
                "maximumRetryAttempts": "MaximumRetryAttempts",
                "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
            },
            int,
        ),
        **i.present({"bisectBatchOnFunctionError": "BisectBatchOnFunctionError"}, bool),
    }
    if on_failure.get("destinationArn"):
        params["DestinationConfig"] = {"OnFailure": {"Destination": on_failure["destinationArn"]}}
    if params.get("ParallelizationFactor", 1) > 1:
        m.note_not_emulated(i, "Kinesis ParallelizationFactor above 1 (one batch per shard at a time)")
    if params.get("MaximumBatchingWindowInSeconds"):
        m.note_not_emulated(i, "Kinesis batching window (the poller takes what the shard holds)")
    mapping = m.client("lambda").create_event_source_mapping(**params)
    from moto.kinesis.models import kinesis_backends  # noqa: PLC0415 - only kinesis mappings need it

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    kinesis_backends[account][region].streams[resource.split("/", 1)[1]].lambda_event_source_mappings.clear()
    return mapping["UUID"], {
        "uuid": mapping["UUID"],
        "functionArn": mapping["FunctionArn"],
        "state": mapping.get("State", "Enabled"),
        "arn": mapping.get("EventSourceMappingArn", ""),
    }


def event_invoke_config(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    function_name = i.req("functionName")
    destinations = i.block("destinationConfig", "onFailure")
    on_failure = i.fields("destinationConfig.onFailure", destinations.get("onFailure"), "destination")
    m.client("lambda").put_function_event_invoke_config(
        FunctionName=function_name,
        MaximumRetryAttempts=int(i.req("maximumRetryAttempts")),
        MaximumEventAgeInSeconds=int(i.req("maximumEventAgeInSeconds")),
        DestinationConfig={"OnFailure": {"Destination": on_failure["destination"]}},
    )
    return function_name, {}


def recursion_config(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    # moto has no PutFunctionRecursionConfig: the runtime keeps and honours the setting.
    function_name = i.req("functionName")
    setting = i.req("recursiveLoop")
    if setting not in ("Allow", "Terminate"):
        raise UnsupportedResourceType(f"{i.typ} {i.name!r}: recursiveLoop must be Allow or Terminate")
    m.runtime.function(function_name)  # the function must exist, as in AWS
    extras = m.runtime.extras.setdefault(function_name, FunctionExtras())
    extras.recursive_loop = setting
    return function_name, {}


def archive_to_zip(archive: Any) -> bytes:
    """The zip Pulumi would upload for a Lambda `code` archive (an AssetArchive of file assets).

    Every function of the stack ships the same package: it is zipped once per content (paths, sizes and
    modification times of its files), not once per function and deployment."""
    files = tuple(_archive_files("", archive))
    key = tuple((name, str(path), *_stamp(path)) for name, path in files)
    if key not in _ZIPS:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
            for name, path in files:
                zip_file.write(path, name)
        _ZIPS.clear()  # one package at a time is all a run needs
        _ZIPS[key] = buffer.getvalue()
    return _ZIPS[key]


_ZIPS: dict[tuple, bytes] = {}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _archive_files(prefix: str, item: Any) -> Iterator[tuple[str, Path]]:
    """(zip path, file) of every file asset of an archive, in its order."""
    if isinstance(item, pulumi.AssetArchive):
        for name, child in item.assets.items():
            yield from _archive_files(f"{prefix}/{name}" if prefix else name, child)
    elif isinstance(item, pulumi.FileAsset):
        path = Path(item.path)
        yield prefix, path if path.is_absolute() else PROJECT_DIR / path
    else:
        raise UnsupportedResourceType(
            f"Lambda code of type {type(item).__name__} cannot be packaged by the local run "
            "(use an AssetArchive of FileAssets)"
        )


# -- AWS size limits moto does not enforce ------------------------------------------------------------
# AWS size limits (the whole table: `limits.LIMITS`).
LIMITS: dict[str, Limit] = {
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
}


class _LambdaTooLarge(JsonRESTError):
    def __init__(self, limit: Limit, size: int) -> None:
        super().__init__(limit.error_code, limit.message.format(size=size, limit=limit.max_bytes))
        self.code = limit.http_status


def _lambda_invoke(enforcer: LimitEnforcer, original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, *rest: Any) -> Any:
        lowered = {str(k).lower(): v for k, v in dict(headers or {}).items()}
        size = utf8_size(body) if isinstance(body, (str, bytes)) else 0
        if (
            lowered.get("x-amz-invocation-type") == "Event"
            and size > LIMITS["lambda_async_payload"].max_bytes
        ):
            raise _LambdaTooLarge(enforcer.refuse("lambda_async_payload"), size)
        return original(backend, function_name, qualifier, body, headers, *rest)

    return invoke


def limit_patches(enforcer: LimitEnforcer) -> list[Patch]:
    """This service's checks in `limits.LimitEnforcer` (see `limits.py`)."""
    return [
        Patch(
            "moto.awslambda.models.LambdaBackend",
            "invoke",
            wrap=functools.partial(_lambda_invoke, enforcer),
            reason="Lambda async payload size",
        ),
    ]
