"""The inference function's settings, read from its environment once per container (pure: no AWS calls)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .contract import (
    DEFAULT_ENDPOINT_CONTENT_TYPE,
    DEFAULT_MAX_OBJECT_BYTES,
    ENV_BUCKET_NAME,
    ENV_ENDPOINT_CONTENT_TYPE,
    ENV_ENDPOINT_NAME,
    ENV_MAX_OBJECT_BYTES,
    ENV_MAX_WORKERS,
    ENV_MODEL_MAX_BATCH_SIZE,
    ENV_NOTIFICATIONS_TOPIC_ARN,
    ENV_RESULTS_TABLE,
    ENV_ROUTE_NAME,
    ENV_ROUTE_PREFIX,
    ENV_ROUTE_SUFFIX,
    ENV_ROUTE_VIA,
    REQUIRED_ENV,
)

if TYPE_CHECKING:
    from .domain import RouteScope

# Lambda sets this on every function; outside Lambda we assume its smallest common size.
MEMORY_SIZE_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
DEFAULT_MEMORY_MB = 128

# Workers wait on network calls, not CPU, so the pool may be much larger than the vCPU count. Each in-flight
# object holds at most ~3 copies of MAX_OBJECT_BYTES (body, text, request), so one worker per 32 MB keeps
# 1 MiB objects well under a quarter of the function's memory; 4..32 keeps small and large functions sane.
MEMORY_MB_PER_WORKER = 32
MIN_DEFAULT_WORKERS = 4
MAX_DEFAULT_WORKERS = 32

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
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    content_type: str = DEFAULT_ENDPOINT_CONTENT_TYPE
    max_workers: int = MIN_DEFAULT_WORKERS
    model_max_batch_size: int = 1

    @property
    def scope(self) -> RouteScope:
        """The objects this function may read: its bucket, under its route's prefix and suffix."""
        from .domain import RouteScope  # noqa: PLC0415 - settings load at cold start; domain is not needed yet

        return RouteScope(self.route, self.bucket, self.route_prefix, self.route_suffix, self.route_via)


def default_max_workers(memory_mb: int) -> int:
    """Thread-pool size for a function with `memory_mb` of memory."""
    return max(MIN_DEFAULT_WORKERS, min(MAX_DEFAULT_WORKERS, memory_mb // MEMORY_MB_PER_WORKER))


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
        max_object_bytes=_positive_int(env, ENV_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES),
        content_type=env.get(ENV_ENDPOINT_CONTENT_TYPE, "").strip() or DEFAULT_ENDPOINT_CONTENT_TYPE,
        max_workers=_positive_int(env, ENV_MAX_WORKERS, default_max_workers(memory_mb)),
        model_max_batch_size=_positive_int(env, ENV_MODEL_MAX_BATCH_SIZE, 1),
    )


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
