"""The inference function's settings, read from its environment once per container (pure: no AWS calls)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .contract import (
    ASYNC_MAX_PAYLOAD_BYTES,
    DEFAULT_ENDPOINT_CONTENT_TYPE,
    DEFAULT_LARGE_RESULTS_PREFIX,
    DEFAULT_MAX_OBJECT_BYTES,
    ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS,
    ENV_BUCKET_NAME,
    ENV_ENDPOINT_CONTENT_TYPE,
    ENV_ENDPOINT_NAME,
    ENV_JSON_INPUT_FIELD,
    ENV_JSON_REQUEST_KEY,
    ENV_LARGE_RESULTS_PREFIX,
    ENV_MAX_OBJECT_BYTES,
    ENV_MAX_PAYLOAD_BYTES,
    ENV_MAX_WORKERS,
    ENV_MODEL_MAX_BATCH_SIZE,
    ENV_MODEL_NAME,
    ENV_MODEL_VERSION,
    ENV_NOTIFICATIONS_TOPIC_ARN,
    ENV_PAYLOAD_FORMAT,
    ENV_RESULTS_TABLE,
    ENV_ROUTE_NAME,
    ENV_ROUTE_PREFIX,
    ENV_ROUTE_SUFFIX,
    ENV_ROUTE_VIA,
    ENV_STREAM_NAME,
    HF_DECODED_CONTENT_TYPES,
    PAYLOAD_BINARY,
    PAYLOAD_FORMATS,
    PAYLOAD_JSON,
    PAYLOAD_TEXT,
    REALTIME_MAX_PAYLOAD_BYTES,
    REQUIRED_ENV,
    SERVERLESS_MAX_PAYLOAD_BYTES,
)

if TYPE_CHECKING:
    from .domain import RouteScope

# Lambda sets this on every function; outside Lambda we assume its smallest common size.
MEMORY_SIZE_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
DEFAULT_MEMORY_MB = 128

# Workers wait on network calls, not CPU, so the pool may be much larger than the vCPU count; admission
# (below) bounds the object bytes in flight. A thread costs its Python state and the stack pages it touches
# (tens of KB), so one per 16 MB, 8..64, leaves a batch of 100 small objects about two waves of reads at
# 1024 MB; the pool also bounds concurrent InvokeEndpoint calls (infra/config.py budgets endpoints with it).
MEMORY_MB_PER_WORKER = 16
MIN_DEFAULT_WORKERS = 8
MAX_DEFAULT_WORKERS = 64

# Admission by bytes: objects read but not yet past the model hold their bytes in memory, at most ~4 copies
# each (body, decoded text, request body, and the request again in the HTTP layer). Keeping the sum of their
# sizes within 1/32 of the function's memory keeps those copies near 1/8 of it, under a quarter with room for
# the interpreter, boto3 and Powertools (benchmark 4: 100 objects of 1 MiB at 1024 MB). One object larger
# than the whole budget is still admitted when nothing else is in flight.
IN_FLIGHT_MEMORY_DIVISOR = 32
_MIB = 1024 * 1024

# Recorded when MODEL_VERSION is unset (a handler run outside the stack): a version like any other.
DEFAULT_MODEL_VERSION = "unversioned"

_REQUIRED_MEANING = {
    ENV_RESULTS_TABLE: "the DynamoDB results table name",
    ENV_ENDPOINT_NAME: "the SageMaker endpoint name",
    ENV_NOTIFICATIONS_TOPIC_ARN: "the notifications SNS topic ARN",
    ENV_ROUTE_NAME: "the name of the route this function serves",
    ENV_BUCKET_NAME: "the name of the bucket whose objects this function processes",
}


class ConfigError(RuntimeError):
    """The function's environment is incomplete or invalid; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the handler needs to know about its deployment."""

    results_table: str
    endpoint_name: str
    topic_arn: str
    route: str
    bucket: str
    # The route's S3 key filter, as key text (not URL-encoded); empty matches every key.
    route_prefix: str = ""
    route_suffix: str = ""
    route_via: str = ""
    stream_name: str = ""  # kinesis routes: the route's stream
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    content_type: str = DEFAULT_ENDPOINT_CONTENT_TYPE
    max_workers: int = MIN_DEFAULT_WORKERS
    model_max_batch_size: int = 1
    # The route's model (README: results contract): its name (unset: the endpoint's) and version.
    model_name: str = ""
    model_version: str = DEFAULT_MODEL_VERSION
    payload_format: str = PAYLOAD_TEXT
    # json format: the top-level field sent, and the request key it is placed under (None: not set).
    json_input_field: str | None = None
    json_request_key: str | None = None
    # binary format: the configured content type (normalised), or None to send the object's S3 Content-Type.
    binary_content_type: str | None = None
    # InvokeEndpoint's request body limit for the model's endpoint type.
    max_payload_bytes: int = SERVERLESS_MAX_PAYLOAD_BYTES
    large_results_prefix: str = DEFAULT_LARGE_RESULTS_PREFIX
    # Sum of the sizes of the objects admitted but not yet past the model (see IN_FLIGHT_MEMORY_DIVISOR).
    max_in_flight_bytes: int = DEFAULT_MEMORY_MB * _MIB // IN_FLIGHT_MEMORY_DIVISOR
    # Async models: InvokeEndpointAsync's InvocationTimeoutSeconds; None for every other model.
    async_invocation_timeout_seconds: int | None = None

    @property
    def submits_async(self) -> bool:
        """Whether objects are submitted to an async endpoint by S3 location instead of read and sent."""
        return self.async_invocation_timeout_seconds is not None

    @property
    def model(self) -> str:
        """The name recorded on results: MODEL_NAME, or the endpoint's name when it is not set."""
        return self.model_name or self.endpoint_name

    @property
    def read_limit(self) -> int:
        """The largest object read: a binary object is the request body itself, so InvokeEndpoint's limit
        bounds it; text and JSON are limited by MAX_OBJECT_BYTES (their request is checked once built)."""
        return self.max_payload_bytes if self.payload_format == PAYLOAD_BINARY else self.max_object_bytes

    @property
    def read_limit_variable(self) -> str:
        """The environment variable that sets `read_limit` (named in a too_large result's detail)."""
        return ENV_MAX_PAYLOAD_BYTES if self.payload_format == PAYLOAD_BINARY else ENV_MAX_OBJECT_BYTES

    @property
    def scope(self) -> RouteScope:
        """The objects this function may read: its bucket, under its route's prefix and suffix."""
        from .domain import RouteScope  # noqa: PLC0415 - settings load at cold start; domain is not needed yet

        return RouteScope(
            self.route,
            self.bucket,
            self.route_prefix,
            self.route_suffix,
            self.route_via,
            self.large_results_prefix,
            self.stream_name,
        )


def default_max_workers(memory_mb: int) -> int:
    """Thread-pool size for a function with `memory_mb` of memory."""
    return max(MIN_DEFAULT_WORKERS, min(MAX_DEFAULT_WORKERS, memory_mb // MEMORY_MB_PER_WORKER))


def in_flight_budget_bytes(memory_mb: int) -> int:
    """Object bytes a function with `memory_mb` of memory admits at once (read, not yet past the model)."""
    return memory_mb * _MIB // IN_FLIGHT_MEMORY_DIVISOR


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables, raising ConfigError that names any bad variable."""
    missing = [name for name in REQUIRED_ENV if not env.get(name, "").strip()]
    if missing:
        wanted = "; ".join(f"{name} ({_REQUIRED_MEANING.get(name, 'required')})" for name in missing)
        raise ConfigError(
            f"missing required environment variable(s): {wanted}. "
            "The stack sets these on every inference function; set them when running the handler elsewhere."
        )
    memory_mb = _positive_int(env, MEMORY_SIZE_ENV, DEFAULT_MEMORY_MB)
    payload_format = env.get(ENV_PAYLOAD_FORMAT, "").strip().lower() or PAYLOAD_TEXT
    if payload_format not in PAYLOAD_FORMATS:
        raise ConfigError(
            f"{ENV_PAYLOAD_FORMAT}={env[ENV_PAYLOAD_FORMAT]!r} is not a payload format; set it to one of "
            f"{', '.join(PAYLOAD_FORMATS)} or unset it (text)."
        )
    return Settings(
        results_table=env[ENV_RESULTS_TABLE].strip(),
        endpoint_name=env[ENV_ENDPOINT_NAME].strip(),
        topic_arn=env[ENV_NOTIFICATIONS_TOPIC_ARN].strip(),
        route=env[ENV_ROUTE_NAME].strip(),
        bucket=env[ENV_BUCKET_NAME].strip(),
        # Not stripped: a key prefix or suffix may begin or end with a space, and S3 matches it exactly.
        route_prefix=env.get(ENV_ROUTE_PREFIX, ""),
        route_suffix=env.get(ENV_ROUTE_SUFFIX, ""),
        route_via=env.get(ENV_ROUTE_VIA, "").strip(),
        stream_name=env.get(ENV_STREAM_NAME, "").strip(),
        max_object_bytes=_positive_int(env, ENV_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES),
        content_type=env.get(ENV_ENDPOINT_CONTENT_TYPE, "").strip() or DEFAULT_ENDPOINT_CONTENT_TYPE,
        max_workers=_positive_int(env, ENV_MAX_WORKERS, default_max_workers(memory_mb)),
        model_max_batch_size=_positive_int(env, ENV_MODEL_MAX_BATCH_SIZE, 1),
        model_name=env.get(ENV_MODEL_NAME, "").strip(),
        model_version=env.get(ENV_MODEL_VERSION, "").strip() or DEFAULT_MODEL_VERSION,
        payload_format=payload_format,
        json_input_field=_json_only(env, ENV_JSON_INPUT_FIELD, payload_format),
        json_request_key=_json_only(env, ENV_JSON_REQUEST_KEY, payload_format),
        binary_content_type=_binary_content_type(env, payload_format),
        max_payload_bytes=_max_payload_bytes(env),
        large_results_prefix=_large_results_prefix(env),
        max_in_flight_bytes=in_flight_budget_bytes(memory_mb),
        async_invocation_timeout_seconds=(
            _positive_int(env, ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS, 900)
            if env.get(ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS, "").strip()
            else None
        ),
    )


def _json_only(env: Mapping[str, str], name: str, payload_format: str) -> str | None:
    # Not stripped: a JSON member name is matched exactly. Empty means unset.
    value = env.get(name, "")
    if not value:
        return None
    if payload_format != PAYLOAD_JSON:
        raise ConfigError(
            f"{name}={value!r} applies to the json payload format only, but {ENV_PAYLOAD_FORMAT} is "
            f"{payload_format!r}; unset {name} or set {ENV_PAYLOAD_FORMAT}={PAYLOAD_JSON}."
        )
    return value


def _binary_content_type(env: Mapping[str, str], payload_format: str) -> str | None:
    raw = env.get(ENV_ENDPOINT_CONTENT_TYPE, "").strip()
    if payload_format != PAYLOAD_BINARY or not raw:
        return None
    from .domain import media_type  # noqa: PLC0415 - only binary routes need it, at cold start

    value = media_type(raw)
    if value not in HF_DECODED_CONTENT_TYPES:
        raise ConfigError(
            f"{ENV_ENDPOINT_CONTENT_TYPE}={raw!r} is not a content type the Hugging Face inference container "
            f"decodes; set it to one of {', '.join(sorted(HF_DECODED_CONTENT_TYPES))}, or unset it to send "
            "each object's own S3 Content-Type."
        )
    return value


def _max_payload_bytes(env: Mapping[str, str]) -> int:
    value = _positive_int(env, ENV_MAX_PAYLOAD_BYTES, SERVERLESS_MAX_PAYLOAD_BYTES)
    if env.get(ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS, "").strip():
        # Submitted by S3 location: InvokeEndpoint's body limits do not apply, the async input limit does.
        if value > ASYNC_MAX_PAYLOAD_BYTES:
            raise ConfigError(
                f"{ENV_MAX_PAYLOAD_BYTES}={value} is above an async endpoint's largest input "
                f"({ASYNC_MAX_PAYLOAD_BYTES} bytes); set it to at most that, or unset it."
            )
        return value
    if value > REALTIME_MAX_PAYLOAD_BYTES:
        raise ConfigError(
            f"{ENV_MAX_PAYLOAD_BYTES}={value} is above InvokeEndpoint's largest request "
            f"({REALTIME_MAX_PAYLOAD_BYTES} bytes, real-time endpoints); set it to "
            f"{SERVERLESS_MAX_PAYLOAD_BYTES} (serverless) or {REALTIME_MAX_PAYLOAD_BYTES} (real-time), "
            "or unset it."
        )
    return value


# S3 keys are at most 1,024 UTF-8 bytes; a large result's key adds a 64-digit digest and ".json".
_MAX_LARGE_RESULTS_PREFIX_BYTES = 1024 - 64 - len(".json")


def _large_results_prefix(env: Mapping[str, str]) -> str:
    # Not stripped, like the route prefix: it is key text.
    prefix = env.get(ENV_LARGE_RESULTS_PREFIX, "") or DEFAULT_LARGE_RESULTS_PREFIX
    size = len(prefix.encode("utf-8"))
    if size > _MAX_LARGE_RESULTS_PREFIX_BYTES:
        raise ConfigError(
            f"{ENV_LARGE_RESULTS_PREFIX} is {size} bytes; S3 keys are at most 1024 bytes and a result's name "
            f"takes 69, so set a prefix of at most {_MAX_LARGE_RESULTS_PREFIX_BYTES} bytes (or unset it: "
            f"{DEFAULT_LARGE_RESULTS_PREFIX!r})."
        )
    return prefix


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"{name}={raw!r} is not a positive integer; set it to a whole number >= 1 or unset it."
        )
    return value
