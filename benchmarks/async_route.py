"""Benchmark 6: an async route's submitting function: AWS calls per object, and its duration against the
time the async endpoint takes to answer.

The route is the dev stack's first route whose model has `mode: async` (the documents route, `via: lambda`:
S3 invokes the function with one record per notification). Its function's environment is the one the stack
sets (`infra.compute.function_environment` on the parsed stack config, dummy physical names). The real
handler runs in-process with the fakes of benchmark 1; per object it makes the conditional PutItem of the
`in_progress` item, InvokeEndpointAsync with the object's S3 location (it never reads the object) and the
PublishBatch of the outcome, and returns.

The fake async endpoint answers InvokeEndpointAsync once the request is accepted (its own latency, an
assumption: `Latencies.invoke_endpoint_async`), then ends the inference on a timer after the simulated model
latency (capped by the request's InvocationTimeoutSeconds, past which SageMaker reports a failure on the error
topic). Short inferences are waited for, to see the output written after the function returned; long ones
are cancelled. The bound is PutItem + InvokeEndpointAsync + PublishBatch, one of each in sequence.

For comparison only, the same model on an sqs route (a batch of `sqs.batchSize` objects in one invocation):
the one place PublishBatch is shared between objects; the dev stack routes documents via lambda.

Limits: as benchmark 1 (fixed latencies, no network CPU); the result writer's side (GetObject of the output,
UpdateItem, the outcome's publish) and what SageMaker does (queueing, instance start from zero, its S3 reads
and writes and notifications) are not measured here.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import cost, harness
from benchmarks.events import BUCKET, s3_event, sqs_event, store_objects
from benchmarks.fakes import ACCOUNT_ID, ASYNC_SUBMIT_OPERATIONS, REGION, FakeAws, Latencies
from benchmarks.report import TargetResult, section, table
from infra import compute
from infra.config import AsyncModel, Route, StackConfig, parse_config, top_level_keys
from lambdas.inference import contract
from lambdas.inference.settings import MEMORY_SIZE_ENV, Settings, load_settings
from localrun.program import PROJECT_NAME, load_stack_config, stack_config_path

MODEL_SECONDS = (1.0, 60.0, 3600.0)  # what the simulated async endpoint takes to answer
WAIT_LIMIT_SECONDS = 2.0  # inferences at most this long are waited for (their output observed)
SEVERAL = 10  # objects in the several-objects rows
DOCUMENT_BYTES = 2048


@dataclass(frozen=True)
class AsyncRoute:
    """The stack's async route, its model and the function's settings as the stack sets them."""

    route: Route
    model_name: str
    model: AsyncModel
    sqs_batch_size: int
    memory_mb: int
    settings: Settings  # the route's own (`via` as configured)
    sqs_settings: Settings  # the same route and model on an sqs route (comparison only)


def stack_config(stack: str = harness.STACK) -> StackConfig:
    """`Pulumi.<stack>.yaml` parsed and validated as the program does (infra.config.parse_config)."""
    flat = load_stack_config(stack_config_path(stack))
    values = {}
    for key in top_level_keys():
        raw = flat.get(f"{PROJECT_NAME}:{key}")
        if raw is not None:
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                values[key] = raw
    return parse_config(values, stack=stack, region=flat.get("aws:region"))


def function_environment(config: StackConfig, route: Route) -> dict[str, str]:
    """The variables the stack sets on the route's function (dummy physical names), plus Lambda's memory."""
    variables = compute.function_environment(
        route,
        config.function,
        config.models[route.model or ""],
        large_results_prefix=config.bucket.large_results_prefix,
        bucket_name=BUCKET,
        table_name="results",
        endpoint_name=route.model or "model",
        notifications_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:notifications",
    )
    environment = {name: str(value) for name, value in variables.items()}
    return {**environment, MEMORY_SIZE_ENV: str(config.function.memory_mb)}


def stack_async_route(stack: str = harness.STACK) -> AsyncRoute:
    """The first route of the stack whose model is async (ValueError when there is none)."""
    config = stack_config(stack)
    routes = [r for r in config.routes if isinstance(config.models.get(r.model or ""), AsyncModel)]
    if not routes:
        raise ValueError(f"stack {stack!r} has no route on a model with mode: async")
    route = routes[0]
    model = config.models[route.model or ""]
    assert isinstance(model, AsyncModel)
    return AsyncRoute(
        route=route,
        model_name=route.model or "",
        model=model,
        sqs_batch_size=config.sqs.batch_size,
        memory_mb=config.function.memory_mb,
        settings=load_settings(function_environment(config, route)),
        sqs_settings=load_settings(function_environment(config, route.model_copy(update={"via": "sqs"}))),
    )


@dataclass(frozen=True)
class CallCount:
    """The AWS calls a set of objects cost on the submit side, by operation."""

    shape: str
    objects: int
    invocations: int
    calls: dict[str, int]
    problems: list[str]

    def per_object(self, operation: str | None = None) -> float:
        total = self.calls.get(operation, 0) if operation else sum(self.calls.values())
        return total / self.objects

    def others_per_object(self) -> float:
        """Calls of any operation but the three a submission makes (GetObject would be one: none is made)."""
        return sum(n for op, n in self.calls.items() if op not in ASYNC_SUBMIT_OPERATIONS) / self.objects


@dataclass(frozen=True)
class Duration:
    """The submitting function's wall time for one object at one simulated model latency."""

    model_seconds: float
    timeout_seconds: int
    runs: int
    wall_seconds: float  # median of the runs
    after_accept_seconds: float  # median: InvokeEndpointAsync answered -> the function returned
    output_after_return: float | None  # observed: function returned -> output written (None: not waited)
    problems: list[str]

    @property
    def times_out(self) -> bool:
        return self.model_seconds > self.timeout_seconds


def submit_problems(fake: FakeAws, objects: int, failures: Sequence[str] = ()) -> list[str]:
    """Why a run did not submit every object as an `in_progress` item with its outcome published."""
    problems = list(failures)
    if fake.unsupported:
        problems.append(f"called operations the fakes do not implement: {sorted(set(fake.unsupported))}")
    if len(fake.items) != objects:
        problems.append(f"{len(fake.items)} results items written, expected {objects}")
    statuses = {item["status"]["S"] for item in fake.items.values()}
    if statuses - {contract.STATUS_IN_PROGRESS}:
        problems.append(f"statuses written: {sorted(statuses)}")
    if any(contract.INFERENCE_ID_ATTRIBUTE not in item for item in fake.items.values()):
        problems.append("an in_progress item without its inference id")
    if len(fake.async_submissions) != objects:
        problems.append(f"{len(fake.async_submissions)} InvokeEndpointAsync accepted, expected {objects}")
    if len(fake.published) != objects:
        problems.append(f"{len(fake.published)} outcomes published, expected {objects}")
    return problems


def _invoke(run: Callable[[dict[str, Any]], dict[str, Any]], event: dict[str, Any]) -> list[str]:
    """Run the handler once; its failures (a raised event, batch item failures) as problems."""
    try:
        response = run(event)
    except Exception as err:  # reported as the run's problem, printed INVALID
        return [f"{type(err).__name__}: {err}"]
    failures = response.get("batchItemFailures") or []
    return [f"{len(failures)} batch item failure(s)"] if failures else []


def count_calls(
    fake: FakeAws, run: Callable[[dict[str, Any]], dict[str, Any]], events: list[dict[str, Any]], objects: int
) -> tuple[list[str], dict[str, int]]:
    """Problems and calls by operation of `events` run one after the other (fresh counters)."""
    fake.reset_counters()
    failures: list[str] = []
    with harness.captured_stdout():
        for event in events:
            failures += _invoke(run, event)
    problems = submit_problems(fake, objects, failures)
    calls = dict(fake.calls)
    fake.cancel_async()
    return problems, calls


def measure_duration(
    fake: FakeAws,
    run: Callable[[dict[str, Any]], dict[str, Any]],
    event: dict[str, Any],
    *,
    model_seconds: float,
    timeout_seconds: int,
    runs: int,
) -> Duration:
    """Median wall time of `runs` invocations of one object with the endpoint taking `model_seconds`."""
    fake.async_inference_seconds = model_seconds
    walls, after_accept, problems, returned_at = [], [], [], 0.0
    for _ in range(runs):
        fake.reset_counters()
        with harness.captured_stdout():
            start = time.perf_counter()
            failures = _invoke(run, event)
            returned_at = time.perf_counter()
        walls.append(returned_at - start)
        problems = submit_problems(fake, 1, failures)
        if problems:
            break
        after_accept.append(returned_at - fake.async_submissions[0].accepted_at)
    output_after = None
    waited = not problems and model_seconds <= min(WAIT_LIMIT_SECONDS, timeout_seconds)
    if waited and fake.wait_async(model_seconds + 1):
        output_after = fake.async_submissions[0].finished_at - returned_at  # type: ignore[operator]
    fake.cancel_async()
    return Duration(
        model_seconds,
        timeout_seconds,
        len(walls),
        statistics.median(walls),
        statistics.median(after_accept) if after_accept else math.nan,
        output_after,
        problems,
    )


def call_table(counts: Sequence[CallCount]) -> str:
    """Calls per object by operation: the three a submission makes, anything else, and their sum."""
    rows = [
        (
            count.shape,
            str(count.objects),
            str(count.invocations),
            *(f"{count.per_object(operation):.2f}" for operation in ASYNC_SUBMIT_OPERATIONS),
            f"{count.others_per_object():.2f}",
            f"{count.per_object():.2f}",
        )
        for count in counts
    ]
    return table(
        (
            "submitting function",
            "objects",
            "invocations",
            *(f"{operation}/obj" for operation in ASYNC_SUBMIT_OPERATIONS),
            "other/obj",
            "calls/obj",
        ),
        rows,
    )


def inference_column(duration: Duration) -> str:
    """What the simulated endpoint did with the submission, relative to the function's return."""
    if duration.times_out:
        return (
            f"past InvocationTimeoutSeconds {duration.timeout_seconds}: error topic at "
            f"+{duration.timeout_seconds} s (not waited)"
        )
    if duration.output_after_return is not None:
        return f"output written {duration.output_after_return:.2f} s after the function returned (observed)"
    return f"output due +{duration.model_seconds:g} s after submission (not waited)"


def duration_table(durations: Sequence[Duration], latencies: Latencies) -> str:
    bound = latencies.async_submit_path()
    rows = [
        (
            f"{d.model_seconds:g} s",
            str(d.runs),
            f"{d.wall_seconds * 1000:.0f}",
            f"{bound * 1000:.0f}",
            f"{d.wall_seconds / bound:.2f}",
            f"{d.after_accept_seconds * 1000:.0f}",
            inference_column(d),
        )
        for d in durations
    ]
    return table(
        (
            "model takes",
            "runs",
            "function wall ms",
            "bound ms",
            "x bound",
            "ms after accepted",
            "the inference (simulated endpoint)",
        ),
        rows,
    )


def spread(durations: Sequence[Duration]) -> float:
    """Median wall time at the slowest model over that at the fastest (1.0: no dependence)."""
    by_latency = sorted(durations, key=lambda d: d.model_seconds)
    return by_latency[-1].wall_seconds / by_latency[0].wall_seconds


def submit_usage(billed_ms: float, memory_mb: int, item_bytes: int, outcome_bytes: int) -> cost.Usage:
    """One object's usage on the submit side: one invocation (S3 invokes it directly, free), one conditional
    PutItem, one outcome published; no S3 GET (SageMaker reads the object); InvokeEndpointAsync is taken to
    have no per-request price (unverified). Instance-hours, the result writer and SageMaker's own S3 and SNS
    use are left out."""
    return cost.Usage(
        lambda_invocations=1,
        lambda_billed_ms=math.ceil(billed_ms),
        lambda_memory_mb=memory_mb,
        sqs_requests=0,
        sns_publishes=cost.chunks(outcome_bytes),
        eventbridge_events=0,
        dynamodb_wru=cost.write_request_units(item_bytes),
        s3_gets=0,
        kms_requests=0,
        model_seconds=0,
        model_memory_mb=0,
        model_data_bytes=0,
    )


SUBMIT_COST_LINES = ("Lambda requests", "Lambda GB-s", "SNS", "DynamoDB WRU")


def submit_cost_line(usage: cost.Usage) -> str:
    costs = cost.cost_per_million(usage)
    assert not {line for line, usd in costs.items() if usd} - set(SUBMIT_COST_LINES)
    parts = ", ".join(f"{line} {costs[line]:.2f}" for line in SUBMIT_COST_LINES)
    return (
        f"submit side of one million objects (USD, prices as in 5; Lambda {usage.lambda_memory_mb} MB "
        f"billed {usage.lambda_billed_ms:.0f} ms, {usage.dynamodb_wru:g} WRU, {usage.sns_publishes:g} "
        f"publish chunk): {parts}; total {sum(costs.values()):.2f}. Not included: the endpoint's "
        "instance-hours (load-dependent), any SageMaker data-processed charge (prices.py has no async "
        "figure), SageMaker's S3 read of the input, write of the output and its notification, and the "
        "result writer (invocation, GetObject, UpdateItem, outcome publish)"
    )


def run(
    latencies: Latencies, repeats: int = 5, model_seconds: Sequence[float] = MODEL_SECONDS
) -> tuple[str, list[TargetResult]]:
    """Count the submit side's calls and time it at each model latency; figures, not targets."""
    target = stack_async_route()
    app = harness.import_handler_module(harness.stack_function_config())
    fake = FakeAws(latencies, async_inference_seconds=max(model_seconds))
    records = store_objects(
        fake, max(SEVERAL, target.sqs_batch_size), DOCUMENT_BYTES, target.route.key_prefix, "document"
    )
    timeout = target.settings.async_invocation_timeout_seconds or 900

    def handler(settings: Settings) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda event: harness.run_handler(app, event, fake, settings)

    own, via_sqs = handler(target.settings), handler(target.sqs_settings)
    with harness.captured_stdout():  # warm-up: the async module's first import, thread start-up
        own(s3_event(records[0]))
        via_sqs(sqs_event(records[:1]))
    fake.cancel_async()

    route = target.route
    per_record = f"{route.name} route (via {route.via}), one S3 record per invocation"
    shapes = [
        (per_record, own, [s3_event(records[0])], 1),
        (per_record, own, [s3_event(record) for record in records[:SEVERAL]], SEVERAL),
        (
            f"the same model on an sqs route, one batch (comparison only; dev routes it via {route.via})",
            via_sqs,
            [sqs_event(records[: target.sqs_batch_size])],
            target.sqs_batch_size,
        ),
    ]
    counts = []
    for shape, runner, events, objects in shapes:
        problems, calls = count_calls(fake, runner, events, objects)
        counts.append(CallCount(shape, objects, len(events), calls, problems))

    durations = [
        measure_duration(
            fake, own, s3_event(records[0]), model_seconds=seconds, timeout_seconds=timeout, runs=repeats
        )
        for seconds in model_seconds
    ]
    item = next(iter(fake.items.values()), None)
    outcome = fake.published[-1] if fake.published else None

    lines = [
        section(f"6. Async route {route.name!r} (model {target.model_name!r}): the submitting function"),
        f"fake latency per call: PutItem {latencies.put_item * 1000:g} ms, InvokeEndpointAsync "
        f"{latencies.invoke_endpoint_async * 1000:g} ms (assumed: it only queues the request), PublishBatch "
        f"{latencies.publish_batch * 1000:g} ms; documents of {DOCUMENT_BYTES} bytes under "
        f"{route.key_prefix!r}; stack settings ({target.settings.max_workers} workers, "
        f"InvocationTimeoutSeconds {timeout})",
        "",
        "AWS calls per object on the submit side:",
        call_table(counts),
        "",
        "function duration for one object vs the model's latency (wall = median of 'runs'; bound = "
        f"PutItem + InvokeEndpointAsync + PublishBatch = {latencies.async_submit_path() * 1000:g} ms; a "
        "synchronous InvokeEndpoint would hold the function for the model's whole latency, and gives up at "
        "60 s):",
        duration_table(durations, latencies),
        f"function wall at {max(model_seconds):g} s / at {min(model_seconds):g} s of model latency: "
        f"{spread(durations):.2f}x (the model's latency: {max(model_seconds) / min(model_seconds):g}x)",
    ]
    if item is not None and outcome is not None:
        billed = max(d.wall_seconds for d in durations) * 1000
        usage = submit_usage(
            billed, target.memory_mb, cost.dynamodb_item_bytes(item), cost.published_bytes(outcome)
        )
        lines.append(submit_cost_line(usage))
    for count in counts:
        if count.problems:
            lines.append(f"INVALID {count.shape} ({count.objects} objects): {'; '.join(count.problems)}")
    for duration in durations:
        if duration.problems:
            lines.append(f"INVALID at {duration.model_seconds:g} s: {'; '.join(duration.problems)}")
    return "\n".join(lines), []
