"""Benchmark 5: what one million objects cost, per route kind and model mode, handler vs sequential pattern.

The pure model (`Usage` per object, `cost_per_million`) multiplies what one object uses by the prices in
`benchmarks.prices`. `run` fills the usage from measurements: the handler's and the sequential baseline's
wall time (fakes with the latency benchmark's per-call latencies) at the batch each route delivers, the
stack's function and model memory, the results item's size and the published outcome's size.

Per object, by route kind (the handler with the stack's settings; "sequential": one object per invocation,
one InvokeEndpoint and one Publish per object, no batching anywhere):
- sqs: S3 SendMessage + the poller's ReceiveMessage and DeleteMessageBatch per batch (SQS requests); one
  invocation per batch (`sqs.batchSize`), model batching as configured;
- sns: S3 publishes to the route topic (SNS publish), the Lambda delivery is free; one invocation per object;
- lambda: S3 invokes the function directly; one invocation per object;
- eventbridge: S3's event on the default bus and its rule delivery are AWS service events (free); one
  invocation per object.
Every kind: one GetObject, one conditional PutItem (WRUs from the item's size), one outcome published on the
notifications topic (64 KB chunks; PublishBatch bills each entry), and the model's compute (serverless: the
configured memory x the model latency per object; existing: the endpoint's owner pays, 0 here).

Limits: no free tier, no empty receives from idle pollers, no retries, no CloudWatch Logs ingestion, no data
transfer; Lambda duration is the fakes' wall time (real AWS calls add network CPU); KMS requests are taken
as not material per object (S3 Bucket Keys, SQS data-key reuse), which `prices` marks unverified.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from benchmarks import harness, latency
from benchmarks import prices as p
from benchmarks.events import sqs_event, store_objects
from benchmarks.fakes import FakeAws, Latencies
from benchmarks.report import section, table
from localrun.program import PROJECT_NAME, load_stack_config, stack_config_path

MILLION = 1_000_000
ROUTE_KINDS = ("sns", "sqs", "lambda", "eventbridge")
MODEL_MODES = ("serverless", "existing")
CHUNK_BYTES = 64 * 1024  # SQS, SNS: each 64 KB chunk of a payload is one billed request
WRU_BYTES = 1024  # DynamoDB: one write request unit per started KB of item
MODEL_RESPONSE_BYTES = 100  # a text-classification answer, for the data-processed line


@dataclass(frozen=True)
class Usage:
    """What one object uses (fractions where a call serves a batch)."""

    lambda_invocations: float
    lambda_billed_ms: float  # per invocation, rounded up to 1 ms
    lambda_memory_mb: int
    sqs_requests: float
    sns_publishes: float
    eventbridge_events: float
    dynamodb_wru: float
    s3_gets: float
    kms_requests: float
    model_seconds: float  # serverless compute per object; 0 for an existing endpoint
    model_memory_mb: int
    model_data_bytes: float


COST_LINES = (
    "Lambda requests",
    "Lambda GB-s",
    "SQS",
    "SNS",
    "EventBridge",
    "DynamoDB WRU",
    "S3 GET",
    "KMS",
    "SageMaker compute",
    "SageMaker data",
)


def cost_per_million(usage: Usage) -> dict[str, float]:
    """US dollars for one million objects, per cost line (pure)."""
    gb = usage.lambda_memory_mb / 1024
    lambda_seconds = usage.lambda_invocations * usage.lambda_billed_ms / 1000
    return {
        "Lambda requests": MILLION * usage.lambda_invocations * p.LAMBDA_REQUEST.usd,
        "Lambda GB-s": MILLION * lambda_seconds * gb * p.LAMBDA_ARM_GB_SECOND.usd,
        "SQS": MILLION * usage.sqs_requests * p.SQS_REQUEST.usd,
        "SNS": MILLION * usage.sns_publishes * p.SNS_PUBLISH.usd,
        "EventBridge": MILLION * usage.eventbridge_events * p.EVENTBRIDGE_AWS_SERVICE_EVENT.usd,
        "DynamoDB WRU": MILLION * usage.dynamodb_wru * p.DYNAMODB_WRITE_REQUEST_UNIT.usd,
        "S3 GET": MILLION * usage.s3_gets * p.S3_GET.usd,
        "KMS": MILLION * usage.kms_requests * p.KMS_REQUEST.usd,
        "SageMaker compute": MILLION
        * usage.model_seconds
        * (usage.model_memory_mb / 1024)
        * p.SAGEMAKER_SERVERLESS_GB_SECOND.usd,
        "SageMaker data": MILLION * usage.model_data_bytes / 1024**3 * p.SAGEMAKER_SERVERLESS_DATA_GB.usd,
    }


def chunks(size_bytes: int) -> int:
    """Billed requests for one SQS/SNS payload (at least one)."""
    return max(1, math.ceil(size_bytes / CHUNK_BYTES))


def write_request_units(item_bytes: int) -> int:
    return max(1, math.ceil(item_bytes / WRU_BYTES))


def dynamodb_item_bytes(item: dict[str, Any]) -> int:
    """Approximate DynamoDB item size: attribute names plus values (UTF-8; numbers as their digits)."""

    def value_bytes(value: dict[str, Any]) -> int:
        (kind, inner), = value.items()
        if kind in ("S", "N", "B"):
            return len(str(inner).encode())
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_bytes(v) for k, v in inner.items())
        if kind == "L":
            return 3 + sum(1 + value_bytes(v) for v in inner)
        return 1  # BOOL, NULL

    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def published_bytes(entry: dict[str, Any]) -> int:
    """Billed size of one PublishBatch entry: its message plus its attributes' names and string values."""
    return len(entry["Message"].encode()) + sum(
        len(name.encode()) + len(str(value.get("StringValue", "")).encode())
        for name, value in entry.get("MessageAttributes", {}).items()
    )


@dataclass(frozen=True)
class Measured:
    """What the run measured and read from the stack config, in the model's terms."""

    handler_ms: dict[int, float]  # batch size -> wall ms of one invocation
    sequential_ms: float  # one object per invocation
    sqs_batch_size: int
    model_batch_size: int  # inputs per InvokeEndpoint in an sqs batch (1: no model batching)
    lambda_memory_mb: int
    model_memory_mb: int
    item_bytes: int
    outcome_bytes: int
    object_bytes: int
    latencies: Latencies


def usage_for(route_kind: str, model_mode: str, pattern: str, m: Measured) -> Usage:
    """One object's usage on a route kind, model mode and pattern ("handler" or "sequential")."""
    sequential = pattern == "sequential"
    batch = m.sqs_batch_size if route_kind == "sqs" and not sequential else 1
    model_batch = 1 if sequential else max(1, min(batch, m.model_batch_size))
    invocation_ms = m.sequential_ms if sequential else m.handler_ms[batch]
    sqs_requests = 0.0
    if route_kind == "sqs":  # SendMessage by S3, then ReceiveMessage and DeleteMessageBatch per batch
        sqs_requests = 1 + 2 / batch
    sns_publishes = chunks(m.outcome_bytes) + (1 if route_kind == "sns" else 0)
    model_seconds = m.latencies.invoke(model_batch) / model_batch if model_mode == "serverless" else 0.0
    data = (m.object_bytes + MODEL_RESPONSE_BYTES) if model_mode == "serverless" else 0
    return Usage(
        lambda_invocations=1 / batch,
        lambda_billed_ms=math.ceil(invocation_ms),
        lambda_memory_mb=m.lambda_memory_mb,
        sqs_requests=sqs_requests,
        sns_publishes=sns_publishes,
        eventbridge_events=1 if route_kind == "eventbridge" else 0,
        dynamodb_wru=write_request_units(m.item_bytes),
        s3_gets=1,
        kms_requests=0,
        model_seconds=model_seconds,
        model_memory_mb=m.model_memory_mb,
        model_data_bytes=data,
    )


def _stack_numbers() -> tuple[int, int]:
    """`sqs.batchSize` and the benchmark route's model's `memoryMb` from the dev stack."""
    config = load_stack_config(stack_config_path(harness.STACK))
    sqs = json.loads(config[f"{PROJECT_NAME}:sqs"])
    routes = json.loads(config[f"{PROJECT_NAME}:routes"])
    models = json.loads(config[f"{PROJECT_NAME}:models"])
    (route,) = [r for r in routes if r["name"] == harness.ROUTE]
    model = models[route.get("model") or next(iter(models))]
    return int(sqs.get("batchSize", 10)), int(model.get("memoryMb", 2048))


def measure(latencies: Latencies, repeats: int) -> Measured:
    stack_config = harness.stack_function_config()
    app = harness.import_handler_module(stack_config)
    fake = FakeAws(latencies)
    sqs_batch, model_memory = _stack_numbers()
    records = store_objects(fake, sqs_batch, latency.OBJECT_BYTES)
    sequential, handler = latency.implementations(app, fake, stack_config, repeats)[:2]
    for implementation in (sequential, handler):  # warm-up
        with harness.captured_stdout():
            implementation.run(sqs_event(records[:1]))
    handler_ms = {
        batch: latency.measure(handler, fake, sqs_event(records[:batch]), batch).wall_seconds * 1000
        for batch in sorted({1, sqs_batch})
    }
    sequential_ms = latency.measure(sequential, fake, sqs_event(records[:1]), 1).wall_seconds * 1000
    item = next(iter(fake.items.values()))
    outcome_bytes = published_bytes(fake.published[-1])
    return Measured(
        handler_ms=handler_ms,
        sequential_ms=sequential_ms,
        sqs_batch_size=sqs_batch,
        model_batch_size=stack_config.model_max_batch_size or 1,
        lambda_memory_mb=stack_config.memory_mb,
        model_memory_mb=model_memory,
        item_bytes=dynamodb_item_bytes(item),
        outcome_bytes=outcome_bytes,
        object_bytes=latency.OBJECT_BYTES,
        latencies=latencies,
    )


def render(m: Measured) -> str:
    rows = []
    for route_kind in ROUTE_KINDS:
        for model_mode in MODEL_MODES:
            for pattern in ("handler", "sequential"):
                costs = cost_per_million(usage_for(route_kind, model_mode, pattern, m))
                rows.append(
                    (
                        f"{route_kind} / {model_mode} / {pattern}",
                        *(f"{costs[line]:.2f}" for line in COST_LINES),
                        f"{sum(costs.values()):.2f}",
                    )
                )
    unverified = ", ".join(name for name, price in p.ALL.items() if not price.verified)
    return "\n".join(
        [
            section("5. Cost of one million objects (USD, us-east-1 on-demand, no free tier)"),
            f"Lambda {m.lambda_memory_mb} MB arm64, billed ms per invocation from the wall time: handler "
            + ", ".join(f"batch {b} {ms:.0f} ms" for b, ms in m.handler_ms.items())
            + f"; sequential {m.sequential_ms:.0f} ms per object. sqs batch {m.sqs_batch_size}, model batch "
            f"{m.model_batch_size}; serverless model {m.model_memory_mb} MB at the fakes' model latency "
            f"({m.latencies.invoke_endpoint * 1000:g} ms + "
            f"{m.latencies.invoke_endpoint_per_input * 1000:g} ms per input); item {m.item_bytes} B "
            f"({write_request_units(m.item_bytes)} WRU), outcome "
            f"{m.outcome_bytes} B ({chunks(m.outcome_bytes)} chunk); existing = the endpoint owner pays the "
            "model. KMS: not material per object (0).",
            f"prices: benchmarks/prices.py, read {p.PRICES_READ_ON}; unverified: {unverified}",
            "",
            table(("route / model / pattern", *COST_LINES, "total"), rows),
        ]
    )


def run(latencies: Latencies, repeats: int = 5) -> tuple[str, list]:
    return render(measure(latencies, repeats)), []
