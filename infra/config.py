"""Typed, validated stack configuration: the only module that reads `pulumi.Config`.

`load_config()` reads every key once and returns a frozen `StackConfig`; `parse_config()` is the pure
validation behind it (tests call it directly). Every error names the key path and the fix, and all
errors are reported together, before any resource is declared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi.runtime.config as runtime_config

from lambdas.inference import contract
from lambdas.inference.settings import default_max_workers

PROJECT = "ai-event-pipeline"

Via = Literal["sns", "sqs", "eventbridge", "lambda"]
VIAS: tuple[str, ...] = ("sns", "sqs", "eventbridge", "lambda")
# S3 delivers these itself; EventBridge routes filter in their rule instead.
S3_NOTIFICATION_VIAS: tuple[str, ...] = ("sns", "sqs", "lambda")
ASYNC_VIAS: tuple[str, ...] = ("sns", "eventbridge", "lambda")

# Top-level keys in the project namespace; `aws:region` is read from the provider's namespace.
TOP_LEVEL_KEYS: tuple[str, ...] = (
    "routes",
    "function",
    "sqs",
    "asyncInvoke",
    "model",
    "notifications",
    "ops",
    "alarms",
    "bucket",
    "deletionProtection",
)

# Route names become parts of physical names (Lambda function names are capped at 64 characters,
# and Pulumi appends an 8-character suffix), so keep them short and DNS-like.
ROUTE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

# Values CloudWatch Logs accepts for retention (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# InvokeEndpoint payload limits: 4 MB for serverless endpoints, 6 MB for real-time ones.
SERVERLESS_PAYLOAD_LIMIT_BYTES = 4 * 1000 * 1000
REALTIME_PAYLOAD_LIMIT_BYTES = 6 * 1000 * 1000

# `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`
ECR_IMAGE_PATTERN = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]+|@sha256:[0-9a-f]{64})$"
)
ENDPOINT_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

SUBSCRIPTION_PROTOCOLS: tuple[str, ...] = ("email", "email-json", "https", "sqs", "lambda")


class ConfigError(ValueError):
    """The stack configuration is invalid; the message lists every problem with its key and fix."""


@dataclass(frozen=True)
class Route:
    """One way S3 object-created events reach an inference function."""

    name: str
    prefix: str
    suffix: str | None
    via: Via

    @property
    def is_async(self) -> bool:
        """Async triggers retry inside Lambda and end in the on-failure destination."""
        return self.via in ASYNC_VIAS


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None
    log_retention_days: int
    max_object_bytes: int
    max_workers: int | None


@dataclass(frozen=True)
class SqsSettings:
    batch_size: int
    maximum_batching_window_seconds: int
    maximum_concurrency: int


@dataclass(frozen=True)
class AsyncInvokeSettings:
    maximum_event_age_seconds: int


@dataclass(frozen=True)
class ModelSettings:
    """`mode` serverless: the stack creates the endpoint; `existing`: it uses `endpoint_name`."""

    mode: Literal["serverless", "existing"]
    image: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int | None = None
    max_concurrency: int | None = None
    max_batch_size: int | None = None
    endpoint_name: str | None = None

    @property
    def image_registry_account(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image or "")
        return match["account"] if match else None

    @property
    def image_repository(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image or "")
        return match["repository"] if match else None

    @property
    def image_region(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image or "")
        return match["region"] if match else None


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    statuses: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlarmSettings:
    queue_oldest_message_age_seconds: int


@dataclass(frozen=True)
class BucketSettings:
    """Lifecycle of the ingest bucket's old object versions and of its access-log bucket."""

    noncurrent_version_expiration_days: int
    access_log_expiration_days: int


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    region: str
    partition: str
    routes: tuple[Route, ...]
    function: FunctionSettings
    sqs: SqsSettings
    async_invoke: AsyncInvokeSettings
    model: ModelSettings
    notification_subscriptions: tuple[Subscription, ...]
    ops_subscriptions: tuple[Subscription, ...]
    alarms: AlarmSettings
    bucket: BucketSettings
    deletion_protection: bool
    # Problems that do not stop a deploy (pulumi.log.warn at preview), e.g. an unbounded endpoint caller.
    warnings: tuple[str, ...] = ()


DEFAULTS: dict[str, Any] = {
    "function": {
        "memoryMb": 1024,
        "timeoutSeconds": 300,
        "logRetentionDays": 14,
        "maxObjectBytes": contract.DEFAULT_MAX_OBJECT_BYTES,
    },
    "sqs": {"batchSize": 10, "maximumBatchingWindowSeconds": 5, "maximumConcurrency": 5},
    "asyncInvoke": {"maximumEventAgeSeconds": 3600},
    "model": {"memoryMb": 2048, "maxConcurrency": 10},
    "alarms": {"queueOldestMessageAgeSeconds": 300},
    "bucket": {"noncurrentVersionExpirationDays": 30, "accessLogExpirationDays": 365},
}


def partition_for_region(region: str) -> str:
    """The AWS partition a region belongs to (ARNs and principals differ by partition)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def load_config() -> StackConfig:
    """Read this stack's configuration through `pulumi.Config` and validate it."""
    project_config = pulumi.Config()
    values = {key: _decode(project_config.get(key)) for key in TOP_LEVEL_KEYS}
    unknown = sorted(set(_configured_project_keys()) - set(TOP_LEVEL_KEYS))
    values.update({key: _UNKNOWN for key in unknown})
    region = pulumi.Config("aws").get("region")
    config = parse_config(values, stack=pulumi.get_stack(), region=region)
    for warning in config.warnings:
        pulumi.log.warn(warning)
    return config


_UNKNOWN = object()


def _configured_project_keys() -> list[str]:
    """Every key of this project the stack sets, so a misspelt top-level key fails instead of being ignored.

    pulumi.Config can only look keys up; the full set is where the SDK keeps it: set explicitly (tests, the
    local run) or handed to the program by the engine in PULUMI_CONFIG.
    """
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return [key.split(":", 1)[1] for key in keys if key.startswith(f"{PROJECT}:")]


def _decode(raw: str | None) -> Any:
    """Pulumi hands structured values over as JSON and top-level `config set` values as plain strings."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_config(values: Mapping[str, Any], *, stack: str, region: str | None) -> StackConfig:
    """Validate decoded top-level values (absent: None); raise one ConfigError listing every problem."""
    errors = _Errors()
    for key, value in values.items():
        if key not in TOP_LEVEL_KEYS and value is not None:
            errors.add(
                key,
                f"is not a setting of this project (known: {', '.join(TOP_LEVEL_KEYS)})",
                f"remove it: `pulumi config rm {PROJECT}:{key}`",
            )

    if not region:
        errors.add_raw(
            "aws:region",
            "is required (the stack's AWS region)",
            "`pulumi config set aws:region <region>`, e.g. us-east-1",
        )
        region = "us-east-1"  # keep validating the rest with a placeholder
    elif not REGION_PATTERN.match(region):
        errors.add_raw(
            "aws:region",
            f"is not an AWS region name (got {region!r})",
            "`pulumi config set aws:region <region>`, e.g. us-east-1",
        )
    partition = partition_for_region(region)

    routes = _parse_routes(values.get("routes"), errors)
    model = _parse_model(_section(values, "model", errors, required=True), region, errors)
    function = _parse_function(_section(values, "function", errors), model, errors)
    sqs = _parse_sqs(_section(values, "sqs", errors), errors)
    async_reader = _Reader(_section(values, "asyncInvoke", errors), "asyncInvoke", errors)
    async_invoke = AsyncInvokeSettings(
        async_reader.integer("maximumEventAgeSeconds", 60, 21600, "Lambda keeps async events at most 6 hours")
    )
    async_reader.reject_unknown()
    alarms_reader = _Reader(_section(values, "alarms", errors), "alarms", errors)
    alarms = AlarmSettings(
        alarms_reader.integer(
            "queueOldestMessageAgeSeconds", 60, 1209600, "seconds, at least one metric period"
        )
    )
    alarms_reader.reject_unknown()
    bucket_reader = _Reader(_section(values, "bucket", errors), "bucket", errors)
    bucket = BucketSettings(
        noncurrent_version_expiration_days=bucket_reader.integer(
            "noncurrentVersionExpirationDays", 1, 3650, "days an overwritten or deleted version is kept"
        ),
        access_log_expiration_days=bucket_reader.integer(
            "accessLogExpirationDays", 1, 3650, "days S3 server access logs are kept"
        ),
    )
    bucket_reader.reject_unknown()
    route_names = tuple(r.name for r in routes)
    notification_subscriptions = _parse_subscriptions(
        _section(values, "notifications", errors), "notifications", route_names, errors, filters=True
    )
    ops_subscriptions = _parse_subscriptions(
        _section(values, "ops", errors), "ops", route_names, errors, filters=False
    )

    deletion_protection = values.get("deletionProtection")
    if deletion_protection is None:
        deletion_protection = stack != "dev"
    elif not isinstance(deletion_protection, bool):
        errors.add(
            "deletionProtection",
            f"must be true or false (got {deletion_protection!r})",
            f"`pulumi config set {PROJECT}:deletionProtection true`",
        )
        deletion_protection = True

    _check_queue_pollers_fit_reservation(routes, function, sqs, errors)
    warnings = _check_endpoint_concurrency(routes, function, sqs, model, errors)
    errors.raise_if_any(stack)
    return StackConfig(
        project=PROJECT,
        stack=stack,
        region=region,
        partition=partition,
        routes=routes,
        function=function,
        sqs=sqs,
        async_invoke=async_invoke,
        model=model,
        notification_subscriptions=notification_subscriptions,
        ops_subscriptions=ops_subscriptions,
        alarms=alarms,
        bucket=bucket,
        deletion_protection=deletion_protection,
        warnings=tuple(warnings),
    )


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []
        # Keys whose value was refused: checks across keys skip them (the value read is a stand-in, and an
        # error about a value the user never wrote would mislead).
        self.invalid: set[str] = set()

    def any_invalid(self, *paths: str) -> bool:
        return any(path in self.invalid for path in paths)

    def add(self, path: str, problem: str, fix: str) -> None:
        self.add_raw(f"{PROJECT}:{path}", problem, fix)

    def add_raw(self, key: str, problem: str, fix: str) -> None:
        self.messages.append(f"{key} {problem}. Fix: {fix}.")

    def raise_if_any(self, stack: str) -> None:
        if self.messages:
            listing = "\n".join(f"  - {message}" for message in self.messages)
            raise ConfigError(f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n{listing}")


def _section(
    values: Mapping[str, Any], key: str, errors: _Errors, *, required: bool = False
) -> dict[str, Any]:
    value = values.get(key)
    if value is None:
        if required:
            errors.add(key, "is required", f"add a `{PROJECT}:{key}` map to the stack file (see README)")
        return {}
    if not isinstance(value, dict):
        errors.add(
            key,
            f"must be a map of settings (got {type(value).__name__})",
            f"write `{PROJECT}:{key}` as a YAML map in the stack file (see README)",
        )
        return {}
    return value


class _Reader:
    """Reads one config map, recording typed-value and unknown-key errors with their full path."""

    def __init__(self, values: dict[str, Any], path: str, errors: _Errors) -> None:
        self.values = values
        self.path = path
        self.errors = errors
        self.read: set[str] = set()

    def _key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def integer(self, name: str, low: int, high: int, meaning: str, *, optional: bool = False) -> Any:
        self.read.add(name)
        value = self.values.get(name)
        if value is None:
            value = _default_for(self.path, name)
            if value is None:
                if not optional:
                    self.errors.add(
                        self._key(name),
                        "is required",
                        f"`pulumi config set --path '{self._key(name)}' <{low}..{high}>`",
                    )
                return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.errors.invalid.add(self._key(name))
            self.errors.add(
                self._key(name),
                f"must be an integer from {low} to {high}, {meaning} (got {value!r})",
                f"`pulumi config set --path '{self._key(name)}' <{low}..{high}>`",
            )
            return low
        return value

    def string(self, name: str, *, required: bool, fix: str) -> str | None:
        self.read.add(name)
        value = self.values.get(name)
        if value is None:
            if required:
                self.errors.add(self._key(name), "is required", fix)
            return None
        if not isinstance(value, str):
            self.errors.add(self._key(name), f"must be a string (got {value!r})", fix)
            return None
        return value

    def reject_unknown(self, allowed: tuple[str, ...] | None = None) -> None:
        allowed_keys = set(allowed) if allowed is not None else self.read
        for name in sorted(set(self.values) - allowed_keys):
            self.errors.add(
                self._key(name),
                f"is not a known setting (known: {', '.join(sorted(allowed_keys))})",
                f"remove or rename it in the stack file: `pulumi config rm --path '{self._key(name)}'`",
            )


def _default_for(path: str, name: str) -> Any:
    section = path.split("[", 1)[0].split(".", 1)[0]
    return DEFAULTS.get(section, {}).get(name)


def _parse_routes(value: Any, errors: _Errors) -> tuple[Route, ...]:
    fix_add = f"list routes under `{PROJECT}:routes` as {{name, prefix, suffix?, via}} (see README)"
    if value is None:
        errors.add("routes", "is required (at least one route)", fix_add)
        return ()
    if not isinstance(value, list) or not value:
        errors.add("routes", f"must be a non-empty list of routes (got {value!r})", fix_add)
        return ()
    routes: list[Route] = []
    for index, item in enumerate(value):
        path = f"routes[{index}]"
        if not isinstance(item, dict):
            errors.add(path, f"must be a map {{name, prefix, suffix?, via}} (got {item!r})", fix_add)
            continue
        reader = _Reader(item, path, errors)
        name = reader.string("name", required=True, fix=f"`pulumi config set --path '{path}.name' <name>`")
        prefix = reader.string(
            "prefix",
            required=True,
            fix=f"`pulumi config set --path '{path}.prefix' <key-prefix/>` (may be \"\")",
        )
        suffix = reader.string(
            "suffix", required=False, fix=f"`pulumi config set --path '{path}.suffix' .json`"
        )
        via = reader.string(
            "via", required=True, fix=f"`pulumi config set --path '{path}.via' <{'|'.join(VIAS)}>`"
        )
        reader.reject_unknown()
        if name is not None and not ROUTE_NAME_PATTERN.match(name):
            errors.add(
                f"{path}.name",
                f"must be 1-32 lowercase letters, digits or '-', starting with a letter (got {name!r})",
                f"rename the route, e.g. `pulumi config set --path '{path}.name' uploads`",
            )
            name = None
        if via is not None and via not in VIAS:
            errors.add(
                f"{path}.via",
                f"must be one of {', '.join(VIAS)} (got {via!r})",
                f"`pulumi config set --path '{path}.via' sqs`",
            )
            via = None
        if suffix == "":
            suffix = None
        for part_name, part in (("prefix", prefix), ("suffix", suffix)):
            if part is not None and len(part) > 1024:
                errors.add(
                    f"{path}.{part_name}",
                    "must be at most 1024 characters (S3 filter rule limit)",
                    f"shorten `{path}.{part_name}`",
                )
        if name is not None and prefix is not None and via is not None:
            routes.append(Route(name=name, prefix=prefix, suffix=suffix, via=via))  # type: ignore[arg-type]
    if len(routes) == len(value):
        _check_routes(routes, errors)
    return tuple(routes)


def _check_routes(routes: list[Route], errors: _Errors) -> None:
    seen: dict[str, int] = {}
    for index, route in enumerate(routes):
        if route.name in seen:
            errors.add(
                f"routes[{index}].name",
                f"duplicates routes[{seen[route.name]}].name ({route.name!r})",
                "give every route a unique name",
            )
        seen.setdefault(route.name, index)
    for index, route in enumerate(routes):
        if route.prefix == "" and route.via in S3_NOTIFICATION_VIAS and len(routes) > 1:
            errors.add(
                f"routes[{index}].prefix",
                f"is empty on {route.via} route {route.name!r}, so it would also receive every other "
                "route's objects",
                f"give route {route.name!r} its own key prefix, e.g. 'incoming/'",
            )
    s3_routes = [(i, r) for i, r in enumerate(routes) if r.via in S3_NOTIFICATION_VIAS]
    for position, (i, first) in enumerate(s3_routes):
        for j, second in s3_routes[position + 1 :]:
            if filters_overlap(first, second):
                errors.add(
                    f"routes[{j}]",
                    f"route {second.name!r} (prefix {second.prefix!r}, suffix {second.suffix!r}) overlaps "
                    f"routes[{i}] {first.name!r} (prefix {first.prefix!r}, suffix {first.suffix!r}); "
                    "S3 rejects overlapping notification filters for the same event type",
                    f"make the prefixes of {first.name!r} and {second.name!r} disjoint (neither a prefix "
                    "of the other) or their suffixes disjoint, or route one of them via eventbridge",
                )


def filters_overlap(first: Route, second: Route) -> bool:
    """S3's rule: two filters overlap when one prefix starts the other and one suffix ends the other."""
    prefix_a, prefix_b = first.prefix, second.prefix
    suffix_a, suffix_b = first.suffix or "", second.suffix or ""
    prefixes_overlap = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes_overlap = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes_overlap and suffixes_overlap


def _parse_function(values: dict[str, Any], model: ModelSettings, errors: _Errors) -> FunctionSettings:
    reader = _Reader(values, "function", errors)
    payload_limit = (
        SERVERLESS_PAYLOAD_LIMIT_BYTES if model.mode == "serverless" else REALTIME_PAYLOAD_LIMIT_BYTES
    )
    settings = FunctionSettings(
        memory_mb=reader.integer("memoryMb", 128, 10240, "Lambda's memory range in MB"),
        # The handler's worst case for one object's chain of AWS calls, up to Lambda's 15-minute maximum.
        timeout_seconds=reader.integer(
            "timeoutSeconds",
            contract.HANDLER_MIN_TIMEOUT_SECONDS,
            900,
            "seconds: at least the handler's worst case for one object",
        ),
        reserved_concurrency=reader.integer(
            "reservedConcurrency",
            1,
            1000,
            "omit it for no reservation (0 would disable the function)",
            optional=True,
        ),
        log_retention_days=_log_retention(reader),
        max_object_bytes=reader.integer(
            "maxObjectBytes",
            1,
            payload_limit,
            f"at most the SageMaker {model.mode} InvokeEndpoint payload limit",
        ),
        max_workers=reader.integer("maxWorkers", 1, 64, "threads per invocation", optional=True),
    )
    reader.reject_unknown()
    return settings


def _log_retention(reader: _Reader) -> int:
    days = reader.integer("logRetentionDays", 1, 3653, "a CloudWatch Logs retention value")
    if days not in LOG_RETENTION_DAYS:
        reader.errors.add(
            "function.logRetentionDays",
            f"must be one of CloudWatch's retention values {LOG_RETENTION_DAYS} (got {days!r})",
            "`pulumi config set --path 'function.logRetentionDays' 14`",
        )
        return 14
    return days


def _parse_sqs(values: dict[str, Any], errors: _Errors) -> SqsSettings:
    reader = _Reader(values, "sqs", errors)
    settings = SqsSettings(
        batch_size=reader.integer("batchSize", 1, 10000, "records per invocation"),
        maximum_batching_window_seconds=reader.integer(
            "maximumBatchingWindowSeconds", 0, 300, "seconds Lambda waits to fill a batch"
        ),
        # Lambda's scaling_config accepts 2-1000 concurrent invocations per SQS event source.
        maximum_concurrency=reader.integer("maximumConcurrency", 2, 1000, "concurrent invocations per queue"),
    )
    reader.reject_unknown()
    if settings.batch_size > 10 and settings.maximum_batching_window_seconds < 1:
        errors.add(
            "sqs.maximumBatchingWindowSeconds",
            f"must be at least 1 when sqs.batchSize is above 10 (batchSize {settings.batch_size}); "
            "Lambda rejects larger batches without a batching window",
            "`pulumi config set --path 'sqs.maximumBatchingWindowSeconds' 1` or lower sqs.batchSize to 10",
        )
    return settings


def _parse_model(values: dict[str, Any], region: str, errors: _Errors) -> ModelSettings:
    reader = _Reader(values, "model", errors)
    mode = reader.string(
        "mode", required=bool(values), fix="`pulumi config set --path 'model.mode' serverless` (or existing)"
    )
    max_batch_size = reader.integer("maxBatchSize", 1, 1000, "records per InvokeEndpoint call", optional=True)
    if mode == "existing":
        endpoint_name = reader.string(
            "endpointName",
            required=True,
            fix="`pulumi config set --path 'model.endpointName' <endpoint-name>`",
        )
        if endpoint_name is not None and not ENDPOINT_NAME_PATTERN.match(endpoint_name):
            errors.add(
                "model.endpointName",
                f"is not a valid SageMaker endpoint name (got {endpoint_name!r})",
                "use the endpoint's name as shown by `aws sagemaker list-endpoints`",
            )
        reader.reject_unknown(("mode", "endpointName", "maxBatchSize"))
        return ModelSettings(mode="existing", endpoint_name=endpoint_name, max_batch_size=max_batch_size)
    if mode not in (None, "serverless"):
        errors.add(
            "model.mode",
            f"must be serverless or existing (got {mode!r})",
            "`pulumi config set --path 'model.mode' serverless`",
        )
    image = reader.string(
        "image",
        required=bool(values),
        fix="`pulumi config set --path 'model.image' <account>.dkr.ecr.{region}.amazonaws.com/<repo>:<tag>`",
    )
    if image is not None:
        image = image.replace("{region}", region)
        if not ECR_IMAGE_PATTERN.match(image):
            errors.add(
                "model.image",
                f"must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>"
                f" ({{region}} is replaced by the stack's region; got {image!r})",
                "use a SageMaker-compatible inference image, e.g. a Hugging Face inference DLC",
            )
    environment = values.get("environment") or {}
    reader.read.add("environment")
    if not isinstance(environment, dict):
        errors.add(
            "model.environment",
            f"must be a map of strings (got {environment!r})",
            "write model.environment as a YAML map, e.g. HF_TASK: text-classification",
        )
        environment = {}
    for name, env_value in environment.items():
        if not isinstance(env_value, str):
            errors.add(
                f"model.environment.{name}",
                f"must be a string (got {env_value!r})",
                f'quote the value in the stack file: {name}: "{env_value}"',
            )
    memory_mb = reader.integer("memoryMb", 1024, 6144, "serverless memory in MB, a multiple of 1024")
    if memory_mb % 1024:
        errors.add(
            "model.memoryMb",
            f"must be a multiple of 1024 (1024, 2048, ... 6144; got {memory_mb})",
            "`pulumi config set --path 'model.memoryMb' 2048`",
        )
    max_concurrency = reader.integer("maxConcurrency", 1, 200, "serverless concurrent invocations")
    reader.reject_unknown(("mode", "image", "environment", "memoryMb", "maxConcurrency", "maxBatchSize"))
    return ModelSettings(
        mode="serverless",
        image=image,
        environment=dict(environment),
        memory_mb=memory_mb,
        max_concurrency=max_concurrency,
        max_batch_size=max_batch_size,
    )


def _parse_subscriptions(
    values: dict[str, Any],
    section: str,
    route_names: tuple[str, ...],
    errors: _Errors,
    *,
    filters: bool,
) -> tuple[Subscription, ...]:
    reader = _Reader(values, section, errors)
    items = values.get("subscriptions") or []
    reader.read.add("subscriptions")
    reader.reject_unknown()
    if not isinstance(items, list):
        errors.add(
            f"{section}.subscriptions",
            f"must be a list (got {items!r})",
            f"write {section}.subscriptions as a YAML list of {{protocol, endpoint}}",
        )
        return ()
    allowed = ("protocol", "endpoint", "statuses", "routes") if filters else ("protocol", "endpoint")
    subscriptions: list[Subscription] = []
    for index, item in enumerate(items):
        path = f"{section}.subscriptions[{index}]"
        if not isinstance(item, dict):
            errors.add(
                path, f"must be a map {{protocol, endpoint}} (got {item!r})", "see README (Configuration)"
            )
            continue
        sub = _Reader(item, path, errors)
        protocol = sub.string(
            "protocol",
            required=True,
            fix=f"`pulumi config set --path '{path}.protocol' <{'|'.join(SUBSCRIPTION_PROTOCOLS)}>`",
        )
        endpoint = sub.string(
            "endpoint", required=True, fix=f"`pulumi config set --path '{path}.endpoint' <endpoint>`"
        )
        if protocol is not None and protocol not in SUBSCRIPTION_PROTOCOLS:
            errors.add(
                f"{path}.protocol",
                f"must be one of {', '.join(SUBSCRIPTION_PROTOCOLS)} (got {protocol!r}; "
                "plain http would send outcomes unencrypted)",
                f"`pulumi config set --path '{path}.protocol' https`",
            )
        elif protocol is not None and endpoint is not None and not _endpoint_matches(protocol, endpoint):
            errors.add(
                f"{path}.endpoint",
                f"is not a valid {protocol} endpoint (got {endpoint!r})",
                "use an e-mail address, an https:// URL, or an SQS queue / Lambda function ARN",
            )
        statuses = _string_list(item, "statuses", path, contract.STATUSES, errors) if filters else ()
        routes = _string_list(item, "routes", path, route_names, errors) if filters else ()
        sub.read.update(("statuses", "routes"))
        sub.reject_unknown(allowed)
        if protocol is not None and endpoint is not None:
            subscriptions.append(Subscription(protocol, endpoint, statuses, routes))
    return tuple(subscriptions)


def _endpoint_matches(protocol: str, endpoint: str) -> bool:
    service = {"sqs": "sqs", "lambda": "lambda"}.get(protocol)
    if service:
        return re.match(rf"^arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:\S+$", endpoint) is not None
    if protocol == "https":
        return endpoint.startswith("https://")
    return re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", endpoint) is not None


def _string_list(
    item: dict[str, Any], name: str, path: str, allowed: tuple[str, ...], errors: _Errors
) -> tuple[str, ...]:
    values = item.get(name)
    if values is None:
        return ()
    if not isinstance(values, list) or not values or any(v not in allowed for v in values):
        errors.add(
            f"{path}.{name}",
            f"must be a non-empty list drawn from {', '.join(allowed)} (got {values!r})",
            f"list only known {name} under {path}.{name}, or remove it to receive everything",
        )
        return ()
    return tuple(values)


def _check_queue_pollers_fit_reservation(
    routes: tuple[Route, ...], function: FunctionSettings, sqs: SqsSettings, errors: _Errors
) -> None:
    if not any(r.via == "sqs" for r in routes):
        return
    if errors.any_invalid("sqs.maximumConcurrency", "function.reservedConcurrency"):
        return
    if function.reserved_concurrency is not None and sqs.maximum_concurrency > function.reserved_concurrency:
        errors.add(
            "sqs.maximumConcurrency",
            f"({sqs.maximum_concurrency}) exceeds function.reservedConcurrency "
            f"({function.reserved_concurrency}); Lambda would throttle the queue's pollers",
            "keep sqs.maximumConcurrency at or below function.reservedConcurrency",
        )


def model_calls_per_invocation(
    route: Route, function: FunctionSettings, sqs: SqsSettings, model: ModelSettings
) -> int:
    """Concurrent InvokeEndpoint calls one invocation of the route's function makes in steady state.

    S3 sends one record per notification, so an async route's event holds one object; an SQS batch holds
    `sqs.batchSize` objects, sent `model.maxBatchSize` per call, at most one call per worker thread.
    """
    if route.via != "sqs":
        return 1
    workers = function.max_workers or default_max_workers(function.memory_mb)
    per_call = model.max_batch_size or 1
    return min(workers, -(-sqs.batch_size // per_call))


def route_concurrent_invocations(route: Route, function: FunctionSettings, sqs: SqsSettings) -> int | None:
    """The most invocations of the route's function that can run at once, or None when nothing bounds it.

    Async routes (sns, lambda, eventbridge) scale with their events, up to the account's unreserved
    concurrency, unless the function has reserved concurrency; an sqs route is also capped by its mapping's
    maximum concurrency.
    """
    reserved = function.reserved_concurrency
    if route.via == "sqs":
        return min(sqs.maximum_concurrency, reserved) if reserved is not None else sqs.maximum_concurrency
    return reserved


def _check_endpoint_concurrency(
    routes: tuple[Route, ...],
    function: FunctionSettings,
    sqs: SqsSettings,
    model: ModelSettings,
    errors: _Errors,
) -> list[str]:
    """Every route calls the endpoint: its worst-case concurrent calls, summed, must fit the endpoint's
    max concurrency (SageMaker throttles above it). Bounded excess is an error; unbounded routes warn."""
    if model.mode != "serverless" or model.max_concurrency is None or not routes:
        return []
    if errors.any_invalid(
        "function.reservedConcurrency",
        "function.maxWorkers",
        "function.memoryMb",
        "sqs.batchSize",
        "sqs.maximumConcurrency",
        "model.maxBatchSize",
        "model.maxConcurrency",
    ):
        return []
    bounded: list[tuple[Route, int]] = []
    unbounded: list[Route] = []
    for route in routes:
        invocations = route_concurrent_invocations(route, function, sqs)
        if invocations is None:
            unbounded.append(route)
        else:
            bounded.append((route, invocations * model_calls_per_invocation(route, function, sqs, model)))
    total = sum(calls for _, calls in bounded)
    if total > model.max_concurrency:
        shares = ", ".join(f"{route.name!r} ({route.via}) {calls}" for route, calls in bounded)
        errors.add(
            "model.maxConcurrency",
            f"({model.max_concurrency}) is below the {total} concurrent endpoint calls the routes can make "
            f"at once ({shares}); SageMaker would throttle them",
            "lower sqs.maximumConcurrency or function.reservedConcurrency, raise model.maxBatchSize so an "
            "SQS batch needs fewer calls, or raise model.maxConcurrency (at most 200)",
        )
    return [
        f"route {route.name!r} ({route.via}) has no bound on its concurrent calls to the endpoint "
        f"(function.reservedConcurrency is unset): above model.maxConcurrency ({model.max_concurrency}) "
        "SageMaker throttles, and the handler backs off and retries until the invocation runs out of time. "
        "Set function.reservedConcurrency to bound it (README: Deploying for real, concurrency quota)."
        for route in unbounded
    ]
