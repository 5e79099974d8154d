"""Typed, validated stack configuration: the only module that reads `pulumi.Config`.

The configuration is one declarative schema (pydantic v2 models below): every key's type, range, default and
description lives on its field, cross-key rules in `model_validator`s. `load_config()` reads every key once
and returns a frozen `StackConfig`; `parse_config()` is the pure validation behind it (tests call it
directly).
Every error names the key path and the fix, and all errors are reported together, before any resource is
declared. `infra/config_doc.py` renders README's configuration table from the same schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
import pulumi.runtime.config as runtime_config
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from lambdas.inference import contract
from lambdas.inference.settings import default_max_workers

PROJECT = "ai-event-pipeline"

Via = Literal["sns", "sqs", "eventbridge", "lambda", "kinesis"]
VIAS: tuple[str, ...] = typing.get_args(Via)
# S3 delivers these itself; EventBridge routes filter in their rule instead.
S3_NOTIFICATION_VIAS: tuple[str, ...] = ("sns", "sqs", "lambda")
ASYNC_VIAS: tuple[str, ...] = ("sns", "eventbridge", "lambda")
# Routes that read a stream (records, not objects): no S3 filter, no object reads.
STREAM_VIAS: tuple[str, ...] = ("kinesis",)

PayloadFormat = Literal["text", "json", "binary"]
assert typing.get_args(PayloadFormat) == contract.PAYLOAD_FORMATS

# Route and model names become parts of physical names (Lambda function names are capped at 64 characters,
# and Pulumi appends an 8-character suffix), so keep them short and DNS-like.
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"

# Values CloudWatch Logs accepts for retention (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# InvokeEndpoint's request limits are stated as "4 MB" (serverless: SageMaker Developer Guide, "Invoke a
# serverless endpoint", https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html)
# and "6 MB" (real-time: API_runtime_InvokeEndpoint). An object is bounded in decimal megabytes, which holds
# whichever megabyte AWS means; the handler checks each request body against MAX_PAYLOAD_BYTES, the
# contract's binary megabytes (the wire limit botocore's model states for real-time: 6291456).
SERVERLESS_PAYLOAD_LIMIT_BYTES = 4 * 1000 * 1000
REALTIME_PAYLOAD_LIMIT_BYTES = 6 * 1000 * 1000

# `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`
ECR_IMAGE_PATTERN = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]+|@sha256:[0-9a-f]{64})$"
)
ENDPOINT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# ModelDataUrl: one gzip-compressed tar archive (.tar.gz) in an S3 bucket of the model's region (SageMaker
# API Reference, ContainerDefinition ModelDataUrl). No IAM wildcard characters in the key: the execution
# role's grant names exactly this object.
MODEL_DATA_URL_PATTERN = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^*?]*[^/*?]\.tar\.gz)$"
)
KMS_KEY_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):key/[A-Za-z0-9-]+$"
)
MEDIA_TYPE_PATTERN = re.compile(r"^[a-z]+/[A-Za-z0-9.+-]+$")
MODEL_VERSION_LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$"

SUBSCRIPTION_PROTOCOLS: tuple[str, ...] = ("email", "email-json", "https", "sqs", "lambda")
Protocol = Literal["email", "email-json", "https", "sqs", "lambda"]

# A route's suffix that names a file type the model cannot take: text and json models read documents, a
# binary model reads bytes (images, audio). Other suffixes (or none) are left to the handler, per object.
DOCUMENT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".txt", ".csv", ".tsv")
MEDIA_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff",
    ".flac", ".wav", ".mp3", ".ogg", ".m4a", ".mp4",
)  # fmt: skip

# The model server starts one worker per vCPU and each worker loads its own copy of the model, which a
# serverless endpoint's fixed memory may not hold: one worker, as Hugging Face's own serverless samples set
# (philschmid/cdk-samples sagemaker-serverless-huggingface-endpoint: "to be able to load models >512MB";
# aws/amazon-sagemaker-examples#1073). SAGEMAKER_MODEL_SERVER_WORKERS is the inference toolkit's setting,
# MMS_DEFAULT_WORKERS_PER_MODEL the model server's; containers read one or the other. Config may override.
SERVERLESS_CONTAINER_DEFAULTS = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MMS_DEFAULT_WORKERS_PER_MODEL": "1"}

# Keys a stack may still carry from an older release, with what replaced them.
RETIRED_KEYS: dict[str, tuple[str, str]] = {
    "model": (
        "has moved to `models.<name>`: models are named, and each route picks one with `routes[].model` "
        "(optional while there is only one model)",
        "in the stack file rename `ai-event-pipeline:model:` to `ai-event-pipeline:models:` and indent its "
        "settings under a name, e.g. `models: {text-classifier: {mode: serverless, image: ...}}`",
    ),
}


class ConfigError(ValueError):
    """The stack configuration is invalid; the message lists every problem with its key and fix."""


@dataclass(frozen=True)
class Problem:
    """One configuration problem; `path` is relative to the model that found it ("" = that model)."""

    path: str
    problem: str
    fix: str


def _raise(*problems: Problem) -> None:
    """Report every problem a cross-key rule found at once (pydantic keeps one error per validator)."""
    if problems:
        raise PydanticCustomError(
            "config_problems", "{count} problems", {"problems": problems, "count": len(problems)}
        )


def _value_error(problem: str, fix: str) -> PydanticCustomError:
    """A field validator's refusal, with its own wording and fix."""
    return PydanticCustomError("config_value", "{problem}", {"problem": problem, "fix": fix})


def _setting(default: Any = ..., *, description: str, meaning: str | None = None, fix: str | None = None,
             invalid: str | None = None, doc_type: str | None = None, doc_default: str | None = None,
             **constraints: Any) -> Any:  # fmt: skip
    """A documented field: `meaning` completes range errors, `invalid` words a pattern error ({value}),
    `fix` ({path}) overrides the generic fix, `doc_type`/`doc_default` what the README table shows."""
    extra = {
        key: value
        for key, value in (
            ("meaning", meaning), ("fix", fix), ("invalid", invalid), ("docType", doc_type),
            ("docDefault", doc_default),
        )
        if value is not None
    }  # fmt: skip
    return Field(default, description=description, json_schema_extra=extra or None, **constraints)


class _Schema(BaseModel):
    """Settings in the stack file: camelCase keys, unknown keys refused, frozen once validated."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        protected_namespaces=(),
    )

    def cross_key_problems(self) -> list[Problem]:
        """Rules across this model's keys; subclasses extend it (one validator reports them all)."""
        return []

    @model_validator(mode="after")
    def _check_across_keys(self) -> _Schema:
        _raise(*self.cross_key_problems())
        return self


# --- routes --------------------------------------------------------------------------------------------


class Route(_Schema):
    """One way S3 object-created events reach an inference function."""

    name: Annotated[StrictStr, _setting(
        description="Unique; used in physical names and in the `route` attribute of results.",
        pattern=NAME_PATTERN,
        invalid="must be 1-32 lowercase letters, digits or '-', starting with a letter (got {value!r})",
        fix="rename the route, e.g. `pulumi config set --path '{path}' uploads`",
        doc_type="`[a-z][a-z0-9-]{0,31}`",
    )]  # fmt: skip
    prefix: Annotated[StrictStr | None, _setting(
        None,
        description="Key prefix. An sns/sqs/lambda route may not have an empty prefix when other routes "
        "exist; a kinesis route has none (it reads records, not objects).",
        max_length=1024,
        meaning="S3 filter rule limit",
        fix="`pulumi config set --path '{path}' <key-prefix/>` (may be \"\")",
        doc_type="string, ≤1024 chars",
        doc_default='required but on kinesis routes (may be `""`)',
    )]  # fmt: skip
    suffix: Annotated[StrictStr | None, _setting(
        None,
        description="Key suffix, e.g. `.json` (EventBridge matches it with a wildcard); must suit the "
        "model's `payloadFormat` (see Models).",
        max_length=1024,
        meaning="S3 filter rule limit",
        doc_type="string, ≤1024 chars",
        doc_default='none (`""` is none)',
    )]  # fmt: skip
    via: Annotated[Via, _setting(
        description="sns/sqs/lambda filters must not overlap (S3 refuses it); eventbridge routes may overlap "
        "anything; kinesis: a stream of records of its own (see `kinesis.*`), no prefix or suffix.",
    )]  # fmt: skip
    model: Annotated[StrictStr | None, _setting(
        None,
        description="The name of the model under `models` this route's function calls.",
        doc_type="a key of `models`",
        doc_default="the only model",
    )]  # fmt: skip

    @field_validator("suffix")
    @classmethod
    def _empty_suffix_is_none(cls, suffix: str | None) -> str | None:
        return suffix or None

    @property
    def is_async(self) -> bool:
        """Async triggers retry inside Lambda and end in the on-failure destination."""
        return self.via in ASYNC_VIAS

    @property
    def reads_objects(self) -> bool:
        """Whether the route's inputs are S3 objects (every route but a stream's)."""
        return self.via not in STREAM_VIAS

    @property
    def key_prefix(self) -> str:
        """The route's S3 key prefix ("" for a stream route, which has none)."""
        return self.prefix or ""

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if self.reads_objects and self.prefix is None:
            problems.append(
                Problem(
                    "prefix",
                    "is required",
                    "`pulumi config set --path '{path}' <key-prefix/>` (may be \"\")",
                )
            )
        if not self.reads_objects:
            for key, value in (("prefix", self.prefix), ("suffix", self.suffix)):
                if value is not None:
                    problems.append(
                        Problem(
                            key,
                            f"is set on {self.via} route {self.name!r} ({value!r}), which reads records "
                            "from its stream, not objects from the bucket",
                            "remove it: `pulumi config rm --path '{path}'`",
                        )
                    )
        return problems


def filters_overlap(first: Route, second: Route) -> bool:
    """S3's rule: two filters overlap when one prefix starts the other and one suffix ends the other."""
    prefix_a, prefix_b = first.key_prefix, second.key_prefix
    suffix_a, suffix_b = first.suffix or "", second.suffix or ""
    prefixes_overlap = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes_overlap = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes_overlap and suffixes_overlap


# --- sections ------------------------------------------------------------------------------------------


class FunctionSettings(_Schema):
    memory_mb: Annotated[StrictInt, _setting(
        1024, description="Function memory.", ge=128, le=10240, meaning="Lambda's memory range in MB",
    )]  # fmt: skip
    timeout_seconds: Annotated[StrictInt, _setting(
        300,
        description="At least the handler's worst case (`contract.HANDLER_MIN_TIMEOUT_SECONDS`); queue "
        "visibility timeout = 6 x this + batching window.",
        # The handler's worst case for one object's chain of AWS calls, up to Lambda's 15-minute maximum.
        ge=contract.HANDLER_MIN_TIMEOUT_SECONDS,
        le=900,
        meaning="seconds: at least the handler's worst case for one object",
    )]  # fmt: skip
    reserved_concurrency: Annotated[StrictInt | None, _setting(
        None,
        description="Per function; must be ≥ `sqs.maximumConcurrency`. Leave it unset on a new account (see "
        "[Concurrency quota](#concurrency-quota)); without it the sns, lambda and eventbridge routes are "
        "unbounded callers of their model's endpoint and preview warns about each.",
        ge=1,
        le=1000,
        meaning="omit it for no reservation (0 would disable the function)",
        doc_default="none (unreserved)",
    )]  # fmt: skip
    log_retention_days: Annotated[StrictInt, _setting(
        14,
        description="Each function's own log group.",
        ge=1,
        le=3653,
        meaning="a CloudWatch Logs retention value",
        doc_type="a CloudWatch retention value",
    )]  # fmt: skip
    max_object_bytes: Annotated[StrictInt, _setting(
        contract.DEFAULT_MAX_OBJECT_BYTES,
        description=f"`MAX_OBJECT_BYTES`; at most {SERVERLESS_PAYLOAD_LIMIT_BYTES:,} when a route uses a "
        f"serverless model, {REALTIME_PAYLOAD_LIMIT_BYTES:,} (or the model's `maxPayloadBytes`) for an "
        "existing endpoint: the InvokeEndpoint payload limits.",
        ge=1,
        le=REALTIME_PAYLOAD_LIMIT_BYTES,
        meaning="at most the SageMaker InvokeEndpoint payload limit of the routes' models",
        doc_type="int ≥1",
    )]  # fmt: skip
    max_workers: Annotated[StrictInt | None, _setting(
        None,
        description="`MAX_WORKERS`: threads of one invocation's pool (default one per 16 MB of memory, "
        "8 to 64); how many objects are read at once is bounded by their bytes, 1/32 of the memory.",
        ge=1,
        le=64,
        meaning="threads per invocation",
        doc_default="handler default (from memory)",
    )]  # fmt: skip

    @field_validator("log_retention_days")
    @classmethod
    def _offered_retention(cls, days: int, info: ValidationInfo) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise _value_error(
                f"must be one of CloudWatch's retention values {LOG_RETENTION_DAYS} (got {days!r})",
                "`pulumi config set --path 'function.logRetentionDays' 14`",
            )
        return days


class SqsSettings(_Schema):
    batch_size: Annotated[StrictInt, _setting(
        10, description="Records per invocation on sqs routes.", ge=1, le=10000,
        meaning="records per invocation",
    )]  # fmt: skip
    maximum_batching_window_seconds: Annotated[StrictInt, _setting(
        5,
        description="Must be ≥1 when `batchSize` > 10.",
        ge=0,
        le=300,
        meaning="seconds Lambda waits to fill a batch",
    )]  # fmt: skip
    # Lambda's scaling_config accepts 2-1000 concurrent invocations per SQS event source.
    maximum_concurrency: Annotated[StrictInt, _setting(
        5,
        description="Concurrent invocations per sqs route (capped by `function.reservedConcurrency`).",
        ge=2,
        le=1000,
        meaning="concurrent invocations per queue",
    )]  # fmt: skip

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if self.batch_size > 10 and self.maximum_batching_window_seconds < 1:
            problems.append(
                Problem(
                    "maximumBatchingWindowSeconds",
                    f"must be at least 1 when sqs.batchSize is above 10 (batchSize {self.batch_size}); "
                    "Lambda rejects larger batches without a batching window",
                    "`pulumi config set --path 'sqs.maximumBatchingWindowSeconds' 1` or lower sqs.batchSize "
                    "to 10",
                )
            )
        return problems


# Lambda's Kinesis event source mapping and the stream, each range as the AWS API reference states it:
# CreateEventSourceMapping (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html):
# BatchSize 1-10000 for Kinesis, MaximumBatchingWindowInSeconds 0-300, MaximumRetryAttempts -1 (infinite) to
# 10000, MaximumRecordAgeInSeconds -1 (infinite) or 60-604800, ParallelizationFactor 1-10, StartingPosition
# TRIM_HORIZON | LATEST | AT_TIMESTAMP (the last needs a timestamp, which this stack does not take).
# Retention: 24-8760 hours (Kinesis Data Streams Developer Guide, "Change the data retention period",
# https://docs.aws.amazon.com/streams/latest/dev/kinesis-extended-retention.html).
RECORD_AGE_UNLIMITED = -1
RECORD_AGE_MIN_SECONDS, RECORD_AGE_MAX_SECONDS = 60, 604800
STREAM_MODES: tuple[str, ...] = ("ON_DEMAND", "PROVISIONED")


class KinesisSettings(_Schema):
    """Every kinesis route's stream and event source mapping."""

    stream_mode: Annotated[Literal["ON_DEMAND", "PROVISIONED"], _setting(
        "ON_DEMAND",
        description="The stream's capacity mode: `ON_DEMAND` (Kinesis adds shards as traffic grows: no bound "
        "on the route's concurrent calls, preview warns) or `PROVISIONED` with `shardCount` shards.",
    )]  # fmt: skip
    shard_count: Annotated[StrictInt | None, _setting(
        None,
        description="PROVISIONED only (required there, refused for ON_DEMAND): shards per stream; the "
        "route's concurrent invocations are shards x `parallelizationFactor`.",
        ge=1,
        le=10000,
        meaning="shards (the account's shard quota applies)",
        doc_default="none",
    )]  # fmt: skip
    retention_hours: Annotated[StrictInt, _setting(
        24, description="How long records stay readable (and retryable).", ge=24, le=8760,
        meaning="Kinesis keeps records 24 hours to 365 days",
    )]  # fmt: skip
    batch_size: Annotated[StrictInt, _setting(
        100, description="Records per invocation (Lambda's Kinesis range).", ge=1, le=10000,
        meaning="records per invocation",
    )]  # fmt: skip
    maximum_batching_window_seconds: Annotated[StrictInt, _setting(
        0, description="Seconds Lambda gathers records before invoking.", ge=0, le=300,
        meaning="seconds Lambda waits to fill a batch",
    )]  # fmt: skip
    starting_position: Annotated[Literal["TRIM_HORIZON", "LATEST"], _setting(
        "TRIM_HORIZON",
        description="Where a new mapping starts reading: `TRIM_HORIZON` (every record still kept, so none "
        "put before the mapping existed is lost) or `LATEST`.",
    )]  # fmt: skip
    bisect_batch_on_function_error: Annotated[StrictBool, _setting(
        True,
        description="Split a failing batch in two (at the reported sequence number) to isolate a poison "
        "record; splitting does not use up retries.",
    )]  # fmt: skip
    maximum_retry_attempts: Annotated[StrictInt, _setting(
        5,
        description="Retries of a failing batch before its records go to the route's DLQ (-1: until the "
        "record expires, which stalls its shard up to `retentionHours`).",
        ge=-1,
        le=10000,
        meaning="-1 for unlimited",
    )]  # fmt: skip
    maximum_record_age_seconds: Annotated[StrictInt, _setting(
        RECORD_AGE_UNLIMITED,
        description="Records older than this go to the DLQ instead of the function: -1 (no limit) or "
        "60-604800.",
        ge=-1,
        le=RECORD_AGE_MAX_SECONDS,
        meaning="-1, or 60 to 604800 seconds",
        doc_type="-1 or int 60\u2013604800",
    )]  # fmt: skip
    parallelization_factor: Annotated[StrictInt, _setting(
        1,
        description="Concurrent batches per shard (records of one partition key stay in order).",
        ge=1,
        le=10,
        meaning="batches per shard at once",
    )]  # fmt: skip

    @field_validator("maximum_record_age_seconds")
    @classmethod
    def _age_or_unlimited(cls, seconds: int) -> int:
        if (
            seconds != RECORD_AGE_UNLIMITED
            and not RECORD_AGE_MIN_SECONDS <= seconds <= RECORD_AGE_MAX_SECONDS
        ):
            raise _value_error(
                f"must be -1 (no limit) or from {RECORD_AGE_MIN_SECONDS} to {RECORD_AGE_MAX_SECONDS} "
                f"seconds, as Lambda accepts (got {seconds})",
                "`pulumi config set --path 'kinesis.maximumRecordAgeSeconds' 3600`",
            )
        return seconds

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        # CreateStream: ShardCount sets a provisioned stream's shards; an on-demand stream manages its own
        # (Kinesis API Reference, CreateStream and StreamModeDetails).
        if self.stream_mode == "PROVISIONED" and self.shard_count is None:
            problems.append(
                Problem(
                    "shardCount",
                    "is required with streamMode PROVISIONED (the stream's shards)",
                    "`pulumi config set --path 'kinesis.shardCount' 1`, or set kinesis.streamMode ON_DEMAND",
                )
            )
        if self.stream_mode == "ON_DEMAND" and self.shard_count is not None:
            problems.append(
                Problem(
                    "shardCount",
                    f"({self.shard_count}) is set with streamMode ON_DEMAND, whose shards Kinesis manages",
                    "remove kinesis.shardCount, or set kinesis.streamMode PROVISIONED",
                )
            )
        retention_seconds = self.retention_hours * 3600
        if self.maximum_record_age_seconds > retention_seconds:
            problems.append(
                Problem(
                    "maximumRecordAgeSeconds",
                    f"({self.maximum_record_age_seconds}) exceeds the stream's retention "
                    f"({self.retention_hours} h = {retention_seconds} s): records expire before they reach "
                    "that age, so a failing record would be lost instead of sent to the DLQ",
                    "lower kinesis.maximumRecordAgeSeconds, or raise kinesis.retentionHours",
                )
            )
        return problems

    @property
    def shards(self) -> int | None:
        """Shards per stream when fixed (PROVISIONED); None when Kinesis scales them (ON_DEMAND)."""
        return self.shard_count if self.stream_mode == "PROVISIONED" else None


class AsyncInvokeSettings(_Schema):
    maximum_event_age_seconds: Annotated[StrictInt, _setting(
        3600,
        description="Event age for async retries (fixed at 2, then the DLQ) and EventBridge target retries.",
        ge=60,
        le=21600,
        meaning="Lambda keeps async events at most 6 hours",
    )]  # fmt: skip


class AlarmSettings(_Schema):
    queue_oldest_message_age_seconds: Annotated[StrictInt, _setting(
        300,
        description="Threshold of the queue age alarms (route queues and consumer queues).",
        ge=60,
        le=1209600,
        meaning="seconds, at least one metric period",
    )]  # fmt: skip


class BucketSettings(_Schema):
    """Lifecycle of the ingest bucket's old object versions and of its access-log bucket; where results too
    large for a table item go."""

    noncurrent_version_expiration_days: Annotated[StrictInt, _setting(
        30,
        description="Days an overwritten or deleted object version is kept (ingest and access-log buckets).",
        ge=1,
        le=3650,
        meaning="days an overwritten or deleted version is kept",
    )]  # fmt: skip
    access_log_expiration_days: Annotated[StrictInt, _setting(
        365,
        description="Days S3 server access logs are kept in the access-log bucket.",
        ge=1,
        le=3650,
        meaning="days S3 server access logs are kept",
    )]  # fmt: skip
    large_results_prefix: Annotated[StrictStr, _setting(
        contract.DEFAULT_LARGE_RESULTS_PREFIX,
        description="`LARGE_RESULTS_PREFIX`: where a result too large for a table item is written in the "
        "ingest bucket (the functions may put objects only there). No route's filter may match a key under "
        "it, so the pipeline never triggers itself; a route suffix does not help, the handler names the "
        "objects.",
        min_length=1,
        max_length=512,
        pattern=r"^[^/*?][^*?]*$",
        invalid="must not start with '/' nor hold IAM wildcards (got {value!r})",
        doc_type="string, 1-512 chars",
    )]  # fmt: skip
    async_inference_prefix: Annotated[StrictStr, _setting(
        contract.DEFAULT_ASYNC_INFERENCE_PREFIX,
        description="Where async endpoints write their outputs and failures in the ingest bucket "
        "(`<prefix><model>/output/`, `<prefix><model>/failure/`). Like `largeResultsPrefix`, no "
        "route's filter may match a key under it (nor may the two prefixes overlap), so outputs never "
        "trigger a route.",
        min_length=1,
        max_length=512,
        pattern=r"^[^/*?][^*?]*/$",
        invalid="must end with '/' and neither start with '/' nor hold IAM wildcards (got {value!r})",
        doc_type="string, 1-512 chars, ends with `/`",
    )]  # fmt: skip



class Subscription(_Schema):
    """A subscriber of the notifications topic, optionally filtered on the outcome's status and route."""

    protocol: Annotated[Protocol, _setting(
        description="Protocols: email, email-json, https, sqs, lambda.",
        invalid="plain http would send outcomes unencrypted",
        fix="`pulumi config set --path '{path}' https`",
    )]  # fmt: skip
    endpoint: Annotated[StrictStr, _setting(
        description="An e-mail address, an https:// URL, or an SQS queue / Lambda function ARN.",
    )]  # fmt: skip
    statuses: Annotated[tuple[StrictStr, ...], _setting(
        (), description="Outcome statuses to receive (an SNS filter policy on the `status` attribute).",
    )]  # fmt: skip
    routes: Annotated[tuple[StrictStr, ...], _setting(
        (), description="Routes to receive (an SNS filter policy on the `route` attribute).",
    )]  # fmt: skip

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if not _endpoint_matches(self.protocol, self.endpoint):
            problems.append(
                Problem(
                    "endpoint",
                    f"is not a valid {self.protocol} endpoint (got {self.endpoint!r})",
                    "use an e-mail address, an https:// URL, or an SQS queue / Lambda function ARN",
                )
            )
        if "statuses" in self.model_fields_set:
            problem = _drawn_from("statuses", self.statuses, contract.STATUSES)
            if problem:
                problems.append(problem)
        return problems


class OpsSubscription(_Schema):
    """A subscriber of the ops topic (alarms); it takes no filters."""

    protocol: Annotated[Protocol, _setting(
        description="Protocols: email, email-json, https, sqs, lambda.",
        invalid="plain http would send alarms unencrypted",
        fix="`pulumi config set --path '{path}' https`",
    )]  # fmt: skip
    endpoint: Annotated[StrictStr, _setting(description="As for notifications.")]

    statuses: typing.ClassVar[tuple[str, ...]] = ()
    routes: typing.ClassVar[tuple[str, ...]] = ()

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if not _endpoint_matches(self.protocol, self.endpoint):
            problems.append(
                Problem(
                    "endpoint",
                    f"is not a valid {self.protocol} endpoint (got {self.endpoint!r})",
                    "use an e-mail address, an https:// URL, or an SQS queue / Lambda function ARN",
                )
            )
        return problems


def _drawn_from(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> Problem | None:
    if not values or any(v not in allowed for v in values):
        return Problem(
            name,
            f"must be a non-empty list drawn from {', '.join(allowed)} (got {list(values)!r})",
            f"list only known {name} under {{path}}, or remove it to receive everything",
        )
    return None


def _endpoint_matches(protocol: str, endpoint: str) -> bool:
    service = {"sqs": "sqs", "lambda": "lambda"}.get(protocol)
    if service:
        return re.match(rf"^arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:\S+$", endpoint) is not None
    if protocol == "https":
        return endpoint.startswith("https://")
    return re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", endpoint) is not None


class Consumer(_Schema):
    """A decoupled service reading outcomes from its own queue, which the stack creates and subscribes."""

    name: Annotated[StrictStr, _setting(
        description="Unique; names the consumer's queue, DLQ, alarms, read policy and `consumers` output.",
        pattern=NAME_PATTERN,
        invalid="must be 1-32 lowercase letters, digits or '-', starting with a letter (got {value!r})",
        fix="rename the consumer, e.g. `pulumi config set --path '{path}' billing`",
        doc_type="`[a-z][a-z0-9-]{0,31}`",
    )]  # fmt: skip
    statuses: Annotated[tuple[StrictStr, ...], _setting(
        (), description="Outcome statuses to receive (filter on the `status` attribute).",
    )]  # fmt: skip
    routes: Annotated[tuple[StrictStr, ...], _setting(
        (), description="Routes to receive (filter on the `route` attribute).",
    )]  # fmt: skip

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if "statuses" in self.model_fields_set:
            problem = _drawn_from("statuses", self.statuses, contract.STATUSES)
            if problem:
                problems.append(problem)
        return problems


class NotificationSettings(_Schema):
    subscriptions: Annotated[tuple[Subscription, ...], _setting(
        (),
        description="`statuses`/`routes` become an SNS filter policy on message attributes. Email/https stay "
        "pending until confirmed; sqs/lambda endpoints must grant sns themselves.",
        doc_type="list of {`protocol`, `endpoint`, `statuses`?, `routes`?}",
    )]  # fmt: skip
    consumers: Annotated[tuple[Consumer, ...], _setting(
        (),
        description="Per consumer, the stack creates an encrypted queue (raw delivery from the notifications "
        "topic, filtered on `statuses`/`routes` like a subscription) with its own DLQ and alarms, and a "
        "managed IAM policy that lets a consumer read it (output `consumers`).",
        doc_type="list of {`name`, `statuses`?, `routes`?}",
    )]  # fmt: skip

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        seen: dict[str, int] = {}
        for index, consumer in enumerate(self.consumers):
            if consumer.name in seen:
                problems.append(
                    Problem(
                        f"consumers[{index}].name",
                        f"duplicates consumers[{seen[consumer.name]}].name ({consumer.name!r})",
                        "give every consumer a unique name",
                    )
                )
            seen.setdefault(consumer.name, index)
        return problems


class OpsSettings(_Schema):
    subscriptions: Annotated[tuple[OpsSubscription, ...], _setting(
        (), description="Alarm subscribers.", doc_type="list of {`protocol`, `endpoint`}",
    )]  # fmt: skip


# --- models --------------------------------------------------------------------------------------------


def _canonical_version(definition: Mapping[str, Any]) -> str:
    """`sha256:` + 16 hex digits of the canonical JSON of what defines a model: same definition, same id."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


class _ModelBase(_Schema):
    """What every mode shares: how the route's objects are sent to the model."""

    payload_format: Annotated[PayloadFormat, _setting(
        contract.PAYLOAD_TEXT,
        description="What the function sends (`PAYLOAD_FORMAT`): `text` a UTF-8 document as "
        '`{"inputs": "<text>"}`, `json` a JSON document (or one field of it), `binary` the object\'s bytes '
        "as they are (images, audio). See [Models](#models).",
    )]  # fmt: skip
    content_type: Annotated[StrictStr | None, _setting(
        None,
        description="`ENDPOINT_CONTENT_TYPE`. binary: the content type sent, e.g. `image/jpeg` (unset: each "
        "object's S3 Content-Type); text and json always send `application/json`.",
        doc_type="media type",
        doc_default="binary: the object's; else `application/json`",
    )]  # fmt: skip
    json_input_field: Annotated[StrictStr | None, _setting(
        None,
        description="json only (`JSON_INPUT_FIELD`): the document's top-level field to send, instead of the "
        "whole document.",
        min_length=1,
        doc_default="the whole document",
    )]  # fmt: skip
    json_request_key: Annotated[StrictStr | None, _setting(
        None,
        description="json only (`JSON_REQUEST_KEY`): the request key the value is sent under, e.g. `inputs` "
        "(unset: the value is the request body).",
        min_length=1,
        doc_default="the value as the body",
    )]  # fmt: skip
    max_batch_size: Annotated[StrictInt | None, _setting(
        None,
        description="`MODEL_MAX_BATCH_SIZE`: text inputs sent per InvokeEndpoint (dev: 10); 1 or unset for "
        "binary. Changes the stored shape of text predictions: on, each is its element of a list answer (HF "
        "text-classification: `{label, score}`); off, the answer to a single string (HF: "
        "`[{label, score}]`).",
        ge=1,
        le=1000,
        meaning="records per InvokeEndpoint call",
        doc_default="handler default 1 (off)",
    )]  # fmt: skip

    owned: typing.ClassVar[bool]
    endpoint_type: typing.ClassVar[str]

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        fmt = self.payload_format
        if fmt == contract.PAYLOAD_BINARY and (self.max_batch_size or 1) > 1:
            problems.append(
                Problem(
                    "maxBatchSize",
                    f"must be 1 or unset for payloadFormat binary (got {self.max_batch_size}): one object's "
                    "bytes are one request, they cannot be batched",
                    "remove maxBatchSize from this model",
                )
            )
        for name, value in (
            ("jsonInputField", self.json_input_field),
            ("jsonRequestKey", self.json_request_key),
        ):
            if value is not None and fmt != contract.PAYLOAD_JSON:
                problems.append(
                    Problem(
                        name,
                        f"applies only to payloadFormat json (this model's is {fmt})",
                        "remove it, or set payloadFormat: json",
                    )
                )
        if self.content_type is not None:
            if fmt != contract.PAYLOAD_BINARY and self.content_type != contract.DEFAULT_ENDPOINT_CONTENT_TYPE:
                problems.append(
                    Problem(
                        "contentType",
                        f"must be application/json for payloadFormat {fmt}: the function sends JSON "
                        f"(got {self.content_type!r})",
                        "remove contentType, or set payloadFormat: binary to send the object's bytes",
                    )
                )
            elif not MEDIA_TYPE_PATTERN.match(self.content_type):
                problems.append(
                    Problem(
                        "contentType",
                        f"is not a media type type/subtype (got {self.content_type!r})",
                        "use the content type the model's container accepts, e.g. image/jpeg",
                    )
                )
        return problems

    @property
    def endpoint_content_type(self) -> str | None:
        """What ENDPOINT_CONTENT_TYPE is set to; None for binary without one (each object's own is sent)."""
        if self.payload_format == contract.PAYLOAD_BINARY:
            return self.content_type
        return contract.DEFAULT_ENDPOINT_CONTENT_TYPE

    @property
    def max_payload_bytes(self) -> int:
        raise NotImplementedError

    @property
    def object_limit_bytes(self) -> int:
        """The most `function.maxObjectBytes` may be for a route using this model."""
        raise NotImplementedError

    @property
    def model_version(self) -> str:
        raise NotImplementedError


class _OwnedModel(_ModelBase):
    """What the owned modes share: the container the stack deploys (image, environment, artifact)."""

    image: Annotated[StrictStr, _setting(
        description="serverless, async: ECR image URI; `{region}` is replaced by the stack region. Dev: "
        "the Hugging Face PyTorch inference container (CPU).",
        fix="`pulumi config set --path '{path}' <account>.dkr.ecr.{{region}}.amazonaws.com/<repo>:<tag>`",
        doc_type="ECR image URI",
        doc_default="required (serverless, async)",
    )]  # fmt: skip
    environment: Annotated[dict[StrictStr, StrictStr], _setting(
        {},
        description="serverless, async: container environment, e.g. `HF_MODEL_ID`, `HF_TASK`; over the "
        "stack's defaults (serverless: one model server worker; async: none).",
        doc_type="map of strings",
    )]  # fmt: skip
    model_data_url: Annotated[StrictStr | None, _setting(
        None,
        description="serverless, async: the model artifact, `s3://<bucket>/<key>.tar.gz` in the stack's "
        "region; the execution role may read exactly this object.",
        max_length=1024,
        meaning="ModelDataUrl limit",
        doc_type="`s3://bucket/key.tar.gz`",
        doc_default="none (the image holds or fetches the model)",
    )]  # fmt: skip
    model_data_kms_key_arn: Annotated[StrictStr | None, _setting(
        None,
        description="serverless, async: the KMS key the artifact is encrypted with (SSE-KMS); the "
        "execution role may decrypt with exactly this key, through S3 only.",
        doc_type="KMS key ARN",
    )]  # fmt: skip
    owned: typing.ClassVar[bool] = True
    container_defaults: typing.ClassVar[dict[str, str]] = {}

    @field_validator("image")
    @classmethod
    def _image_in_ecr(cls, image: str, info: ValidationInfo) -> str:
        region = (info.context or {}).get("region") or "us-east-1"
        image = image.replace("{region}", region)
        if not ECR_IMAGE_PATTERN.match(image):
            raise _value_error(
                "must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> ({region} is "
                f"replaced by the stack's region; got {image!r})",
                "use a SageMaker-compatible inference image, e.g. a Hugging Face inference DLC",
            )
        return image

    @field_validator("model_data_url")
    @classmethod
    def _one_archive_in_s3(cls, url: str | None) -> str | None:
        if url is not None and not MODEL_DATA_URL_PATTERN.match(url):
            raise _value_error(
                f"must be s3://<bucket>/<key> with a key ending .tar.gz and no '*' or '?' (got {url!r}); "
                "SageMaker takes one gzip-compressed tar archive",
                "package the model as model.tar.gz and give its S3 URL, e.g. s3://my-models/vit/model.tar.gz",
            )
        return url

    @field_validator("model_data_kms_key_arn")
    @classmethod
    def _key_of_the_stack_region(cls, arn: str | None, info: ValidationInfo) -> str | None:
        if arn is None:
            return None
        match = KMS_KEY_ARN_PATTERN.match(arn)
        region = (info.context or {}).get("region")
        if not match:
            raise _value_error(
                f"must be a KMS key ARN arn:aws:kms:<region>:<account>:key/<key-id> (got {arn!r}; an alias "
                "cannot be scoped in IAM)",
                "use the key's ARN from `aws kms describe-key --key-id <alias>`",
            )
        if region and match["region"] != region:
            raise _value_error(
                f"is a key in {match['region']}, but the artifact's bucket must be in the stack's region "
                f"({region}), and S3 encrypts with keys of its own region",
                "copy the artifact to a bucket in the stack's region, encrypted with a key there",
            )
        return arn

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if self.model_data_kms_key_arn is not None and self.model_data_url is None:
            problems.append(
                Problem(
                    "modelDataKmsKeyArn",
                    "is set without modelDataUrl: there is no artifact to decrypt",
                    "add modelDataUrl, or remove modelDataKmsKeyArn",
                )
            )
        return problems

    @property
    def container_environment(self) -> dict[str, str]:
        """The container environment: the mode's defaults, then the configured variables (which win)."""
        return {**self.container_defaults, **self.environment}

    @property
    def image_registry_account(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image)
        return match["account"] if match else None

    @property
    def image_repository(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image)
        return match["repository"] if match else None

    @property
    def image_region(self) -> str | None:
        match = ECR_IMAGE_PATTERN.match(self.image)
        return match["region"] if match else None

    @property
    def artifact_bucket(self) -> str | None:
        match = MODEL_DATA_URL_PATTERN.match(self.model_data_url or "")
        return match["bucket"] if match else None

    @property
    def artifact_key(self) -> str | None:
        match = MODEL_DATA_URL_PATTERN.match(self.model_data_url or "")
        return match["key"] if match else None

    @property
    def model_version(self) -> str:
        """What defines the served model: the image (region resolved), the whole container environment and
        the artifact. How it is served (memory, concurrency, instances) changes nothing it answers."""
        return _canonical_version(
            {
                "image": self.image,
                "environment": self.container_environment,
                "modelDataUrl": self.model_data_url,
            }
        )


class ServerlessModel(_OwnedModel):
    """`mode: serverless`: the stack creates the model, its serverless endpoint and its execution role."""

    mode: Annotated[Literal["serverless"], _setting(
        description="`serverless`: the stack creates the model, a serverless endpoint and the model's own "
        "execution role. `existing`: an endpoint the stack does not own; creates nothing. `async`: an owned "
        "asynchronous endpoint on instances (S3 input and output, completion by SNS, scales to zero); see "
        "[Choosing serverless, existing or async](#choosing-serverless-existing-or-async).",
        doc_type="`serverless` \\| `existing` \\| `async`",
    )]  # fmt: skip
    memory_mb: Annotated[StrictInt, _setting(
        2048,
        description="serverless: endpoint memory (1024-6144 MB in 1 GB steps, AWS ProductionVariantServerless"
        "Config).",
        ge=1024,
        le=6144,
        meaning="serverless memory in MB, a multiple of 1024",
        doc_type="1024-6144, steps of 1024",
    )]  # fmt: skip
    max_concurrency: Annotated[StrictInt, _setting(
        10,
        description="serverless: max concurrency (1-200). The worst-case concurrent calls of the routes "
        "using the model, summed, must fit: an sqs route makes `min(sqs.maximumConcurrency, "
        "reservedConcurrency)` x `min(workers, ceil(sqs.batchSize / maxBatchSize))`, a kinesis route "
        "`min(kinesis.shardCount x kinesis.parallelizationFactor, reservedConcurrency)` (ON_DEMAND: "
        "`reservedConcurrency`) x `min(workers, ceil(kinesis.batchSize / maxBatchSize))`, an sns, lambda "
        "or eventbridge route `reservedConcurrency` x 1 (one object per event). Bounded excess is an error "
        "naming each route; an unbounded route is a preview warning.",
        ge=1,
        le=200,
        meaning="serverless concurrent invocations",
    )]  # fmt: skip

    endpoint_type: typing.ClassVar[str] = "serverless"
    container_defaults: typing.ClassVar[dict[str, str]] = SERVERLESS_CONTAINER_DEFAULTS

    @field_validator("memory_mb")
    @classmethod
    def _whole_gigabytes(cls, memory_mb: int) -> int:
        if memory_mb % 1024:
            raise _value_error(
                f"must be a multiple of 1024 (1024, 2048, ... 6144; got {memory_mb})",
                "`pulumi config set --path '{path}' 2048`",
            )
        return memory_mb

    @property
    def max_payload_bytes(self) -> int:
        return contract.SERVERLESS_MAX_PAYLOAD_BYTES

    @property
    def object_limit_bytes(self) -> int:
        return SERVERLESS_PAYLOAD_LIMIT_BYTES


class ExistingModel(_ModelBase):
    """`mode: existing`: an endpoint the stack does not own; it creates nothing and only calls it."""

    mode: Literal["existing"]
    endpoint_name: Annotated[StrictStr, _setting(
        description="existing: the endpoint to call.",
        pattern=ENDPOINT_NAME_PATTERN,
        invalid="is not a valid SageMaker endpoint name (got {value!r})",
        fix="use the endpoint's name as shown by `aws sagemaker list-endpoints`",
        doc_type="endpoint name",
        doc_default="required (existing)",
    )]  # fmt: skip
    version: Annotated[StrictStr, _setting(
        description="existing: what the endpoint serves, as its owner names it (e.g. a model package "
        "version); change it when they deploy another model, so results re-score.",
        pattern=MODEL_VERSION_LABEL_PATTERN,
        invalid="must be 1-64 letters, digits or . _ : + - (got {value!r})",
        fix="`pulumi config set --path '{path}' <version the endpoint serves, e.g. 2024-06-01>`",
        doc_type="string, ≤64 chars",
        doc_default="required (existing)",
    )]  # fmt: skip
    max_payload_bytes_setting: Annotated[StrictInt, _setting(
        contract.REALTIME_MAX_PAYLOAD_BYTES,
        alias="maxPayloadBytes",
        description="existing: `MAX_PAYLOAD_BYTES`, the endpoint's InvokeEndpoint request limit (real-time "
        f"{contract.REALTIME_MAX_PAYLOAD_BYTES:,}; set {contract.SERVERLESS_MAX_PAYLOAD_BYTES:,} for a "
        "serverless endpoint).",
        ge=1,
        le=contract.REALTIME_MAX_PAYLOAD_BYTES,
        meaning="bytes, at most the real-time InvokeEndpoint limit",
    )]  # fmt: skip

    owned: typing.ClassVar[bool] = False
    endpoint_type: typing.ClassVar[str] = "existing"

    @property
    def max_payload_bytes(self) -> int:
        return self.max_payload_bytes_setting

    @property
    def object_limit_bytes(self) -> int:
        return min(self.max_payload_bytes_setting, REALTIME_PAYLOAD_LIMIT_BYTES)

    @property
    def model_version(self) -> str:
        return _canonical_version({"endpointName": self.endpoint_name, "version": self.version})


# SageMaker asynchronous inference takes inputs up to 1 GB from S3 and runs each up to an hour
# (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html); InvokeEndpointAsync's
# InvocationTimeoutSeconds is at most 3600, 900 when unset
# (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-invoke-endpoint.html).
ASYNC_MAX_INPUT_BYTES = 1024 * 1024 * 1024
ASYNC_MAX_INVOCATION_TIMEOUT_SECONDS = 3600
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


class AsyncModel(_OwnedModel):
    """`mode: async`: the stack creates the model, an asynchronous endpoint on instances that Application
    Auto Scaling scales between `minInstances` (0: none at idle) and `maxInstances`, its success and error
    topics and its execution role. The function submits the object's S3 location; a result writer stores
    the outcome when SageMaker's notification arrives."""

    mode: Literal["async"]
    instance_type: Annotated[StrictStr, _setting(
        "ml.m5.xlarge",
        description="async: the instance type of the endpoint's variant (ProductionVariant InstanceType).",
        pattern=INSTANCE_TYPE_PATTERN,
        invalid="is not a SageMaker instance type ml.<family>.<size> (got {value!r})",
        fix="`pulumi config set --path '{path}' ml.m5.xlarge`",
        doc_type="`ml.<family>.<size>`",
    )]  # fmt: skip
    min_instances: Annotated[StrictInt, _setting(
        0,
        description="async: the fewest instances Application Auto Scaling keeps (0: it scales in to none on "
        "an empty backlog, so no instance is paid for at idle; the first request then waits for one).",
        ge=0,
        le=100,
        meaning="instances kept at idle",
    )]  # fmt: skip
    max_instances: Annotated[StrictInt, _setting(
        2,
        description="async: the most instances the endpoint scales out to.",
        ge=1,
        le=100,
        meaning="instances at most",
    )]  # fmt: skip
    max_concurrent_invocations_per_instance: Annotated[StrictInt, _setting(
        1,
        description="async: requests one instance's container takes at once (AsyncInferenceClientConfig "
        "MaxConcurrentInvocationsPerInstance); SageMaker queues the rest, so no route needs a bound.",
        ge=1,
        le=1000,
        meaning="concurrent invocations per instance",
    )]  # fmt: skip
    backlog_per_instance: Annotated[StrictInt, _setting(
        5,
        description="async: target of the scaling policy on `ApproximateBacklogSizePerInstance` (queued "
        "requests per instance).",
        ge=1,
        le=10000,
        meaning="queued requests per instance",
    )]  # fmt: skip
    invocation_timeout_seconds: Annotated[StrictInt, _setting(
        900,
        description="async: `InvocationTimeoutSeconds` of each request (`ASYNC_INVOCATION_TIMEOUT_SECONDS`): "
        "SageMaker marks a request still processing then as expired (InvokeEndpointAsync); the local run "
        "fails it on the error topic, its item `failed`.",
        ge=1,
        le=ASYNC_MAX_INVOCATION_TIMEOUT_SECONDS,
        meaning="seconds, InvokeEndpointAsync's limit",
    )]  # fmt: skip

    endpoint_type: typing.ClassVar[str] = "async"

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        if self.payload_format == contract.PAYLOAD_TEXT:
            problems.append(
                Problem(
                    "payloadFormat",
                    "must be json or binary for an async model: SageMaker reads the object itself as the "
                    "request, and the Hugging Face container decodes no text/plain",
                    "set payloadFormat: json and store documents as {\"inputs\": \"<text>\"}, or binary",
                )
            )
        for name, value in (
            ("jsonInputField", self.json_input_field),
            ("jsonRequestKey", self.json_request_key),
        ):
            if value is not None:
                problems.append(
                    Problem(
                        name,
                        "cannot apply to an async model: SageMaker sends the object as it is stored",
                        "remove it, and store the request the container expects",
                    )
                )
        if (self.max_batch_size or 1) > 1:
            problems.append(
                Problem(
                    "maxBatchSize",
                    "must be 1 or unset for an async model: each object is one request",
                    "remove maxBatchSize from this model",
                )
            )
        if self.payload_format == contract.PAYLOAD_BINARY and self.content_type is None:
            problems.append(
                Problem(
                    "contentType",
                    "is required for a binary async model: the function does not read the object, so it "
                    "cannot send the object's own Content-Type",
                    "set contentType to what the container decodes, e.g. image/jpeg",
                )
            )
        if self.min_instances > self.max_instances:
            problems.append(
                Problem(
                    "minInstances",
                    f"({self.min_instances}) exceeds maxInstances ({self.max_instances})",
                    "keep minInstances at or below maxInstances",
                )
            )
        return problems

    @property
    def max_payload_bytes(self) -> int:
        return ASYNC_MAX_INPUT_BYTES

    @property
    def object_limit_bytes(self) -> int:
        # The function never reads the object: function.maxObjectBytes does not bound what it submits.
        return ASYNC_MAX_INPUT_BYTES

    @property
    def initial_instance_count(self) -> int:
        """An endpoint is created with at least one instance; the scaling policy takes it to minInstances."""
        return max(1, self.min_instances)


ModelSettings = Annotated[ServerlessModel | ExistingModel | AsyncModel, Field(discriminator="mode")]
ModelName = Annotated[StrictStr, Field(pattern=NAME_PATTERN)]


# --- the stack -----------------------------------------------------------------------------------------


class StackSettings(_Schema):
    """Everything under the `ai-event-pipeline:` namespace of `Pulumi.<stack>.yaml`."""

    routes: Annotated[tuple[Route, ...], _setting(
        description="How S3 object-created events reach a function; one function per route.",
        min_length=1,
        doc_type="list of maps",
        doc_default="required (≥1)",
    )]  # fmt: skip
    models: Annotated[dict[ModelName, ModelSettings], _setting(
        description="Named models (`[a-z][a-z0-9-]{0,31}`); each owned model gets its own SageMaker model, "
        "endpoint configuration, endpoint, execution role and alarms.",
        min_length=1,
        doc_type="map of name → model",
        doc_default="required (≥1)",
    )]  # fmt: skip
    function: Annotated[FunctionSettings, _setting(FunctionSettings(), description="Lambda settings.")]
    sqs: Annotated[SqsSettings, _setting(SqsSettings(), description="sqs routes.")]
    kinesis: Annotated[KinesisSettings, _setting(KinesisSettings(), description="kinesis routes.")]
    async_invoke: Annotated[AsyncInvokeSettings, _setting(AsyncInvokeSettings(), description="Async routes.")]
    notifications: Annotated[NotificationSettings, _setting(NotificationSettings(), description="Outcomes.")]
    ops: Annotated[OpsSettings, _setting(OpsSettings(), description="Alarms.")]
    alarms: Annotated[AlarmSettings, _setting(AlarmSettings(), description="Alarm thresholds.")]
    bucket: Annotated[BucketSettings, _setting(BucketSettings(), description="The ingest bucket.")]
    deletion_protection: Annotated[StrictBool | None, _setting(
        None,
        description="Table deletion protection, Pulumi `protect` on key, bucket and table, no bucket "
        "force-destroy.",
        doc_default="`true` unless the stack is `dev`",
    )]  # fmt: skip

    def cross_key_problems(self) -> list[Problem]:
        problems = super().cross_key_problems()
        problems += _route_problems(self.routes)
        problems += _route_model_problems(self)
        problems += _large_results_problems(self)
        route_names = tuple(r.name for r in self.routes)
        for index, subscription in enumerate(self.notifications.subscriptions):
            if "routes" in subscription.model_fields_set:
                problem = _drawn_from("routes", subscription.routes, route_names)
                if problem:
                    path = f"notifications.subscriptions[{index}].routes"
                    problems.append(Problem(path, problem.problem, problem.fix))
        for index, consumer in enumerate(self.notifications.consumers):
            if "routes" in consumer.model_fields_set:
                problem = _drawn_from("routes", consumer.routes, route_names)
                if problem:
                    path = f"notifications.consumers[{index}].routes"
                    problems.append(Problem(path, problem.problem, problem.fix))
        if not any(p.path.startswith("routes[") and p.path.endswith(".model") for p in problems):
            problems += _payload_limit_problems(self)
            problems += _queue_poller_problems(self)
            problems += check_endpoint_concurrency(self)[0]
        return problems

    def model_name_of(self, route: Route) -> str:
        """The route's model: named, or the only one."""
        return route.model if route.model is not None else next(iter(self.models))


def _route_problems(routes: tuple[Route, ...]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, route in enumerate(routes):
        if route.name in seen:
            problems.append(
                Problem(
                    f"routes[{index}].name",
                    f"duplicates routes[{seen[route.name]}].name ({route.name!r})",
                    "give every route a unique name",
                )
            )
        seen.setdefault(route.name, index)
    for index, route in enumerate(routes):
        if route.prefix == "" and route.via in S3_NOTIFICATION_VIAS and len(routes) > 1:
            problems.append(
                Problem(
                    f"routes[{index}].prefix",
                    f"is empty on {route.via} route {route.name!r}, so it would also receive every other "
                    "route's objects",
                    f"give route {route.name!r} its own key prefix, e.g. 'incoming/'",
                )
            )
    s3_routes = [(i, r) for i, r in enumerate(routes) if r.via in S3_NOTIFICATION_VIAS]
    for position, (i, first) in enumerate(s3_routes):
        for j, second in s3_routes[position + 1 :]:
            if filters_overlap(first, second):
                problems.append(
                    Problem(
                        f"routes[{j}]",
                        f"route {second.name!r} (prefix {second.prefix!r}, suffix {second.suffix!r}) "
                        f"overlaps routes[{i}] {first.name!r} (prefix {first.prefix!r}, suffix "
                        f"{first.suffix!r}); "
                        "S3 rejects overlapping notification filters for the same event type",
                        f"make the prefixes of {first.name!r} and {second.name!r} disjoint (neither a prefix "
                        "of the other) or their suffixes disjoint, or route one of them via eventbridge",
                    )
                )
    return problems


def _route_model_problems(settings: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    known = ", ".join(settings.models)
    for index, route in enumerate(settings.routes):
        path = f"routes[{index}].model"
        if route.model is None:
            if len(settings.models) > 1:
                problems.append(
                    Problem(
                        path,
                        f"is required when several models exist (known: {known})",
                        f"`pulumi config set --path '{path}' <{'|'.join(settings.models)}>`",
                    )
                )
                continue
        elif route.model not in settings.models:
            problems.append(
                Problem(
                    path,
                    f"names no model of this stack (got {route.model!r}; known: {known})",
                    f"use one of the names under models, or add models.{route.model}",
                )
            )
            continue
        model_name = settings.model_name_of(route)
        model = settings.models[model_name]
        if not route.reads_objects and model.payload_format == contract.PAYLOAD_BINARY:
            problems.append(
                Problem(
                    path,
                    f"names model {model_name!r} (payloadFormat binary) for {route.via} route "
                    f"{route.name!r}: a stream record is text or a JSON object, and a binary model takes "
                    "files' bytes",
                    f"route {route.name!r} to a text or json model, or send its inputs as objects through "
                    "an S3 route",
                )
            )
            continue
        if not route.reads_objects and isinstance(model, AsyncModel):
            problems.append(
                Problem(
                    path,
                    f"names model {model_name!r} (mode async) for {route.via} route {route.name!r}: an async "
                    "endpoint reads its input from S3, and a stream record is not an object",
                    f"route {route.name!r} to a serverless or existing model, or send its inputs as objects",
                )
            )
            continue
        problem = _suffix_problem(route, model_name, model)
        if problem:
            problems.append(Problem(f"routes[{index}].suffix", *problem))
    return problems


def _suffix_problem(route: Route, model_name: str, model: _ModelBase) -> tuple[str, str] | None:
    """The precise rule: a suffix ending in a document extension cannot feed a binary model, one ending in a
    media extension cannot feed a text or json model (case-insensitive, as file names are)."""
    suffix = (route.suffix or "").lower()
    if not suffix:
        return None
    fmt = model.payload_format
    if fmt == contract.PAYLOAD_BINARY:
        clash = next((s for s in DOCUMENT_SUFFIXES if suffix.endswith(s)), None)
        kind = "documents"
    else:
        clash = next((s for s in MEDIA_SUFFIXES if suffix.endswith(s)), None)
        kind = "media files"
    if clash is None:
        return None
    return (
        f"({route.suffix!r}) selects {kind}, which model {model_name!r} (payloadFormat {fmt}) cannot take",
        f"route {route.name!r} to a model whose payloadFormat suits {clash} objects, or change its suffix",
    )


def _large_results_problems(settings: StackSettings) -> list[Problem]:
    """A key under a pipeline-written prefix matches a route when one prefix starts the other (any suffix can
    follow): the large results and, when an async model exists, the async outputs."""
    bucket = settings.bucket
    written = [("bucket.largeResultsPrefix", bucket.large_results_prefix, "results")]
    if any(isinstance(m, AsyncModel) for m in settings.models.values()):
        written.append(("bucket.asyncInferencePrefix", bucket.async_inference_prefix, "async outputs"))
        a, b = bucket.large_results_prefix, bucket.async_inference_prefix
        if a.startswith(b) or b.startswith(a):
            problems = [
                Problem(
                    "bucket.asyncInferencePrefix",
                    f"({b!r}) overlaps bucket.largeResultsPrefix ({a!r}): the functions may put large "
                    "results there, and only SageMaker may write async outputs",
                    "give them disjoint prefixes, e.g. 'results/' and 'async-inference/'",
                )
            ]
        else:
            problems = []
    else:
        problems = []
    for index, route in enumerate(settings.routes):
        if route.prefix is None:
            continue  # a stream route reads no keys
        for key, prefix, what in written:
            if prefix.startswith(route.prefix) or route.prefix.startswith(prefix):
                problems.append(
                    Problem(
                        f"routes[{index}].prefix",
                        f"({route.prefix!r}) of route {route.name!r} matches keys under "
                        f"{key} ({prefix!r}): the function would be triggered by {what} "
                        "the pipeline writes",
                        f"give the route a prefix that neither starts nor is started by {key}, or set "
                        f"{key} to a prefix no route matches, e.g. 'pipeline-results/'",
                    )
                )
    return problems


def _routes_of(settings: StackSettings, model_name: str) -> list[Route]:
    return [r for r in settings.routes if settings.model_name_of(r) == model_name]


def _payload_limit_problems(settings: StackSettings) -> list[Problem]:
    used = {settings.model_name_of(r) for r in settings.routes}
    limits = sorted(((settings.models[n].object_limit_bytes, n) for n in used), key=lambda item: item[0])
    if not limits:
        return []
    limit, name = limits[0]
    max_object_bytes = settings.function.max_object_bytes
    if max_object_bytes <= limit:
        return []
    model = settings.models[name]
    return [
        Problem(
            "function.maxObjectBytes",
            f"must be an integer from 1 to {limit}, at most the SageMaker {model.endpoint_type} "
            f"InvokeEndpoint payload limit of model {name!r} (got {max_object_bytes})",
            f"`pulumi config set --path 'function.maxObjectBytes' <1..{limit}>`",
        )
    ]


def _queue_poller_problems(settings: StackSettings) -> list[Problem]:
    function, sqs = settings.function, settings.sqs
    if not any(r.via == "sqs" for r in settings.routes):
        return []
    if function.reserved_concurrency is not None and sqs.maximum_concurrency > function.reserved_concurrency:
        return [
            Problem(
                "sqs.maximumConcurrency",
                f"({sqs.maximum_concurrency}) exceeds function.reservedConcurrency "
                f"({function.reserved_concurrency}); Lambda would throttle the queue's pollers",
                "keep sqs.maximumConcurrency at or below function.reservedConcurrency",
            )
        ]
    return []


def model_calls_per_invocation(
    route: Route,
    function: FunctionSettings,
    sqs: SqsSettings,
    model: _ModelBase,
    kinesis: KinesisSettings | None = None,
) -> int:
    """Concurrent InvokeEndpoint calls one invocation of the route's function makes in steady state.

    S3 sends one record per notification, so an async route's event holds one object; an SQS batch holds
    `sqs.batchSize` objects (a Kinesis batch `kinesis.batchSize` records), sent the model's `maxBatchSize` per
    call, at most one call per worker thread.
    """
    if route.via == "sqs":
        batch_size = sqs.batch_size
    elif route.via == "kinesis":
        batch_size = (kinesis or KinesisSettings()).batch_size
    else:
        return 1
    workers = function.max_workers or default_max_workers(function.memory_mb)
    per_call = model.max_batch_size or 1
    return min(workers, -(-batch_size // per_call))


def route_concurrent_invocations(
    route: Route, function: FunctionSettings, sqs: SqsSettings, kinesis: KinesisSettings | None = None
) -> int | None:
    """The most invocations of the route's function that can run at once, or None when nothing bounds it.

    Async routes (sns, lambda, eventbridge) scale with their events, up to the account's unreserved
    concurrency, unless the function has reserved concurrency; an sqs route is also capped by its mapping's
    maximum concurrency; a kinesis route runs one batch per shard and parallelization factor at once (Lambda
    Developer Guide, "Polling and batching streams"), unbounded on an ON_DEMAND stream, whose shards grow.
    """
    reserved = function.reserved_concurrency
    if route.via == "sqs":
        return min(sqs.maximum_concurrency, reserved) if reserved is not None else sqs.maximum_concurrency
    if route.via == "kinesis":
        kinesis = kinesis or KinesisSettings()
        shards = kinesis.shards
        if shards is None:
            return reserved
        pollers = shards * kinesis.parallelization_factor
        return min(pollers, reserved) if reserved is not None else pollers
    return reserved


def check_endpoint_concurrency(settings: StackSettings) -> tuple[list[Problem], list[str]]:
    """Per owned serverless model: the worst-case concurrent calls of the routes using it, summed, must fit
    its max concurrency (SageMaker throttles above it). Bounded excess is an error; unbounded routes warn.
    The stack does not size an endpoint it does not own."""
    problems: list[Problem] = []
    warnings: list[str] = []
    function, sqs, kinesis = settings.function, settings.sqs, settings.kinesis
    for name, model in settings.models.items():
        max_concurrency = getattr(model, "max_concurrency", None)
        routes = _routes_of(settings, name)
        if max_concurrency is None or not routes:
            continue
        bounded: list[tuple[Route, int]] = []
        unbounded: list[Route] = []
        for route in routes:
            invocations = route_concurrent_invocations(route, function, sqs, kinesis)
            if invocations is None:
                unbounded.append(route)
            else:
                calls = model_calls_per_invocation(route, function, sqs, model, kinesis)
                bounded.append((route, invocations * calls))
        total = sum(calls for _, calls in bounded)
        key = f"models.{name}.maxConcurrency"
        if total > max_concurrency:
            shares = ", ".join(f"{route.name!r} ({route.via}) {calls}" for route, calls in bounded)
            problems.append(
                Problem(
                    key,
                    f"({max_concurrency}) is below the {total} concurrent endpoint calls the routes can make "
                    f"at once ({shares}); SageMaker would throttle them",
                    "lower sqs.maximumConcurrency or function.reservedConcurrency, raise "
                    f"models.{name}.maxBatchSize so an SQS batch needs fewer calls, or raise {key} "
                    "(at most 200)",
                )
            )
        warnings += [
            f"route {route.name!r} ({route.via}) has no bound on its concurrent calls to the endpoint of "
            f"model {name!r} (function.reservedConcurrency is unset"
            f"{', and an ON_DEMAND stream adds shards' if route.via == 'kinesis' else ''}): above {key} "
            f"({max_concurrency}) "
            "SageMaker "
            "throttles, and the handler backs off and retries until the invocation runs out of time. "
            "Set function.reservedConcurrency to bound it (README: Deploying for real, concurrency quota)."
            for route in unbounded
        ]
    return problems, warnings


# --- the validated result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    """The validated stack: its settings plus what comes from outside the project namespace (stack, region).

    `routes` carry their resolved `model`; `models` maps each name to a `ServerlessModel`, `ExistingModel`
    or `AsyncModel`.
    """

    project: str
    stack: str
    region: str
    partition: str
    routes: tuple[Route, ...]
    function: FunctionSettings
    sqs: SqsSettings
    async_invoke: AsyncInvokeSettings
    models: Mapping[str, ServerlessModel | ExistingModel | AsyncModel]
    notification_subscriptions: tuple[Subscription, ...]
    ops_subscriptions: tuple[OpsSubscription, ...]
    alarms: AlarmSettings
    bucket: BucketSettings
    deletion_protection: bool
    # Problems that do not stop a deploy (pulumi.log.warn at preview), e.g. an unbounded endpoint caller.
    warnings: tuple[str, ...] = ()
    kinesis: KinesisSettings = dataclasses.field(default_factory=KinesisSettings)
    notification_consumers: tuple[Consumer, ...] = ()

    def model_of(self, route: Route) -> ServerlessModel | ExistingModel | AsyncModel:
        assert route.model is not None
        return self.models[route.model]

    def routes_of(self, model_name: str) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.model == model_name)


def partition_for_region(region: str) -> str:
    """The AWS partition a region belongs to (ARNs and principals differ by partition)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def top_level_keys() -> tuple[str, ...]:
    """The project-namespace keys the schema defines, in schema order."""
    return tuple(field.alias or name for name, field in StackSettings.model_fields.items())


def load_config() -> StackConfig:
    """Read this stack's configuration through `pulumi.Config` and validate it."""
    project_config = pulumi.Config()
    keys = top_level_keys()
    values = {key: _decode(project_config.get(key)) for key in keys}
    # Keys the schema does not define (misspelt, or retired like `model`) are refused by name, unread.
    for key in sorted(set(_configured_project_keys()) - set(keys)):
        values[key] = _UNKNOWN
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
    messages: list[str] = []
    region_fix = "`pulumi config set aws:region <region>`, e.g. us-east-1"
    if not region:
        messages.append(f"aws:region is required (the stack's AWS region). Fix: {region_fix}.")
        region = "us-east-1"  # keep validating the rest with a placeholder
    elif not REGION_PATTERN.match(region):
        messages.append(f"aws:region is not an AWS region name (got {region!r}). Fix: {region_fix}.")

    present = {key: value for key, value in values.items() if value is not None}
    settings: StackSettings | None = None
    try:
        settings = StackSettings.model_validate(present, context={"region": region})
    except ValidationError as error:
        messages += _messages(error, present)
    if messages:
        listing = "\n".join(f"  - {message}" for message in messages)
        raise ConfigError(f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n{listing}")
    assert settings is not None

    _, warnings = check_endpoint_concurrency(settings)
    routes = tuple(r.model_copy(update={"model": settings.model_name_of(r)}) for r in settings.routes)
    deletion_protection = settings.deletion_protection
    return StackConfig(
        project=PROJECT,
        stack=stack,
        region=region,
        partition=partition_for_region(region),
        routes=routes,
        function=settings.function,
        sqs=settings.sqs,
        async_invoke=settings.async_invoke,
        kinesis=settings.kinesis,
        models=dict(settings.models),
        notification_subscriptions=settings.notifications.subscriptions,
        ops_subscriptions=settings.ops.subscriptions,
        alarms=settings.alarms,
        bucket=settings.bucket,
        deletion_protection=stack != "dev" if deletion_protection is None else deletion_protection,
        warnings=tuple(warnings),
        notification_consumers=settings.notifications.consumers,
    )


# --- errors: pydantic's, in this project's words -------------------------------------------------------


@dataclass
class _Located:
    """Where an error sits in the schema: its key path, the field (if any) and the model holding it."""

    path: str
    field: FieldInfo | None
    owner: type[BaseModel] | None
    is_dict_key: bool = False


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional to the type that holds the next loc element."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _union_members(annotation: Any) -> list[type[BaseModel]]:
    annotation = _unwrap(annotation)
    args = typing.get_args(annotation)
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def _locate(loc: tuple[str | int, ...]) -> _Located:
    annotation: Any = StackSettings
    path = ""
    field: FieldInfo | None = None
    owner: type[BaseModel] | None = None
    # pydantic marks an invalid dict key by a trailing "[key]" after the key itself.
    is_dict_key = bool(loc) and loc[-1] == "[key]"
    parts = list(loc[:-1] if is_dict_key else loc)
    while parts:
        part = parts.pop(0)
        current = _unwrap(annotation)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            by_alias = {(f.alias or n): (n, f) for n, f in current.model_fields.items()}
            if part in by_alias:
                owner, field = current, by_alias[part][1]
                annotation = field.annotation
            else:
                owner, field, annotation = current, None, Any
            path = _join(path, part)
        elif origin in (tuple, list) and isinstance(part, int):
            annotation = typing.get_args(current)[0]
            path = _join(path, part)
            field = None
        elif origin is dict:
            annotation = typing.get_args(current)[1]
            path = _join(path, part)
            field = None
            members = _union_members(annotation)
            if len(members) > 1 and parts and isinstance(parts[0], str):
                tag = parts.pop(0)  # pydantic names the discriminated member in the loc: not a key
                annotation = next(
                    (m for m in members if typing.get_args(m.model_fields["mode"].annotation) == (tag,)), Any
                )
        else:
            path = _join(path, part)
            annotation, field = Any, None
    return _Located(path, field, owner, is_dict_key)


def _aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def _extra(field: FieldInfo | None) -> dict[str, Any]:
    extra = field.json_schema_extra if field is not None else None
    return extra if isinstance(extra, dict) else {}


def _constraint(field: FieldInfo | None, name: str) -> Any:
    for item in field.metadata if field is not None else ():
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def _choices(field: FieldInfo | None) -> tuple[str, ...]:
    annotation = _unwrap(field.annotation) if field is not None else None
    if typing.get_origin(annotation) is Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return ()


def _set_fix(path: str, hint: str) -> str:
    return f"`pulumi config set --path '{path}' {hint}`"


def _messages(error: ValidationError, values: Mapping[str, Any]) -> list[str]:
    messages: list[str] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if item["type"] == "config_problems":
            base = _locate(loc).path if loc else ""
            for problem in item["ctx"]["problems"]:
                path = _join(base, problem.path) if problem.path else base
                fix = problem.fix.replace("{path}", path)
                messages.append(f"{PROJECT}:{path} {problem.problem}. Fix: {fix}.")
            continue
        located = _locate(loc)
        if item["type"] in ("union_tag_not_found", "union_tag_invalid"):
            located.path = _join(located.path, "mode")
        problem, fix = _describe(item, located, values)
        key = f"{PROJECT}:{located.path}"
        messages.append(f"{key} {problem}. Fix: {fix}.")
    return messages


# One branch per pydantic error type: the translation table reads best as one function.
def _describe(  # noqa: PLR0911, PLR0912
    item: Mapping[str, Any], at: _Located, values: Mapping[str, Any]
) -> tuple[str, str]:
    kind, value, path, field = item["type"], item.get("input"), at.path, at.field
    extra = _extra(field)
    fix = extra.get("fix", "").replace("{path}", path).replace("{{region}}", "{region}") or None
    top_level = "." not in path and "[" not in path

    if kind == "extra_forbidden":
        name = path.rsplit(".", 1)[-1]
        if top_level and name in RETIRED_KEYS:
            return RETIRED_KEYS[name]
        known = sorted((f.alias or n) for n, f in (at.owner.model_fields.items() if at.owner else ()))
        if top_level:
            return (
                f"is not a setting of this project (known: {', '.join(top_level_keys())})",
                f"remove it: `pulumi config rm {PROJECT}:{name}`",
            )
        remove = f"remove or rename it in the stack file: `pulumi config rm --path '{path}'`"
        if at.owner is ExistingModel and name in _aliases(ServerlessModel):
            return (
                f"is not a known setting of an existing model (known: {', '.join(known)}); {name} configures "
                "an endpoint the stack creates, and the stack creates nothing for an existing one",
                f"{remove}, or set mode: serverless to have the stack create the endpoint",
            )
        return f"is not a known setting (known: {', '.join(known)})", remove
    if kind == "missing":
        if path == "routes":
            return "is required (at least one route)", (
                f"list routes under `{PROJECT}:routes` as {{name, prefix, suffix?, via, model?}} (see README)"
            )
        if path == "models":
            return (
                "is required (at least one model)",
                f"add a `{PROJECT}:models` map of named models (see README)",
            )
        choices = _choices(field)
        return "is required", fix or _set_fix(path, f"<{'|'.join(choices)}>" if choices else "<value>")
    if kind == "union_tag_not_found":
        return "is required", _set_fix(path, "serverless") + " (or existing)"
    if kind == "union_tag_invalid":
        tags = [t.strip("'\" ") for t in item["ctx"]["expected_tags"].split(",")]
        listed = ", ".join(tags[:-1]) + " or " + tags[-1]
        return f"must be {listed} (got {item['ctx']['tag']!r})", _set_fix(path, "serverless")
    if kind == "config_value":
        return item["ctx"]["problem"], item["ctx"]["fix"].replace("{path}", path)
    if kind in ("int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal"):
        low, high = _constraint(field, "ge"), _constraint(field, "le")
        meaning = f", {extra['meaning']}" if "meaning" in extra else ""
        if low is not None and high is not None:
            return f"must be an integer from {low} to {high}{meaning} (got {value!r})", _set_fix(
                path, f"<{low}..{high}>"
            )
        return f"must be an integer{meaning} (got {value!r})", _set_fix(path, "<integer>")
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (got {value!r})", (
            f"`pulumi config set {PROJECT}:{path} true`" if top_level else _set_fix(path, "true")
        )
    if kind == "literal_error":
        choices = _choices(field)
        note = f"; {extra['invalid']}" if "invalid" in extra else ""
        return (
            f"must be one of {', '.join(choices)} (got {value!r}{note})",
            fix or _set_fix(path, choices[0] if choices else "<value>"),
        )
    if kind == "string_pattern_mismatch":
        if at.is_dict_key:
            return (
                "is not a valid model name: it must be 1-32 lowercase letters, digits or '-', starting "
                f"with a letter (got {value!r})",
                f"rename {at.path} in the stack file, e.g. to text-classifier",
            )
        template = extra.get("invalid", "has an invalid format (got {value!r})")
        return template.format(value=value), fix or "see README (Configuration)"
    if kind == "string_too_long":
        limit = item["ctx"]["max_length"]
        meaning = f" ({extra['meaning']})" if "meaning" in extra else ""
        return f"must be at most {limit} characters{meaning}", f"shorten `{path}`"
    if kind == "string_too_short":
        return "must not be empty", fix or _set_fix(path, "<value>")
    if kind == "string_type":
        if path.rsplit(".", 2)[-2:-1] == ["environment"] or ".environment." in path:
            name = path.rsplit(".", 1)[-1]
            return (
                f"must be a string (got {value!r})",
                f'quote the value in the stack file: {name}: "{value}"',
            )
        return f"must be a string (got {value!r})", fix or _set_fix(path, "<text>")
    if kind in ("tuple_type", "list_type", "too_short") and path == "routes":
        return f"must be a non-empty list of routes (got {value!r})", (
            f"list routes under `{PROJECT}:routes` as {{name, prefix, suffix?, via, model?}} (see README)"
        )
    if kind in ("tuple_type", "list_type", "too_short"):
        return (
            f"must be a non-empty list (got {value!r})"
            if kind == "too_short"
            else f"must be a list (got {value!r})",
            (f"write {path} as a YAML list (see README)"),
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if top_level:
            return f"must be a map of settings (got {type(value).__name__})", (
                f"write `{PROJECT}:{path}` as a YAML map in the stack file (see README)"
            )
        return f"must be a map (got {value!r})", "see README (Configuration)"
    return f"is invalid: {item['msg']} (got {value!r})", "see README (Configuration)"
