"""The inference function's settings, read from its environment once per container (pure: no AWS calls)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .contract import (
    DEFAULT_ENDPOINT_CONTENT_TYPE,
    DEFAULT_MAX_OBJECT_BYTES,
    ENV_ENDPOINT_CONTENT_TYPE,
    ENV_ENDPOINT_NAME,
    ENV_MAX_OBJECT_BYTES,
    ENV_MAX_WORKERS,
    ENV_MODEL_MAX_BATCH_SIZE,
    ENV_NOTIFICATIONS_TOPIC_ARN,
    ENV_RESULTS_TABLE,
    ENV_ROUTE_NAME,
    REQUIRED_ENV,
)

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
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    content_type: str = DEFAULT_ENDPOINT_CONTENT_TYPE
    max_workers: int = MIN_DEFAULT_WORKERS
    model_max_batch_size: int = 1


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
