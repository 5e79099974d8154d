"""Benchmark 5: a kinesis route's batch of records: records per second per shard against the critical path.

The real handler gets a batch of 100 Kinesis records of one shard (the event the mapping delivers, each
record `{"id", "text"}` of about 2 KB) with the stack's settings for a kinesis route and the same fakes
and latencies as benchmark 1. A record carries its input, so there is no GetObject: the bound is
InvokeEndpoint(all the batch's inputs) + PutItem + PublishBatch, one of each in sequence.

Records per second per shard = records in the batch / wall time of its invocation: the mapping sends a
shard's next batch only once the previous one returned (with `kinesis.parallelizationFactor` 1, as the dev
stack sets; N runs up to N batches of a shard at once). It leaves out the mapping's own polling and the
batching window, so it is what the function can take, not what a deployed stream delivers.
"""

from __future__ import annotations

import json

from benchmarks import harness
from benchmarks.events import STREAM_NAME, STREAM_ROUTE, kinesis_event
from benchmarks.fakes import OPERATIONS, FakeAws, Latencies
from benchmarks.latency import OBJECT_BYTES, Implementation, measure
from benchmarks.report import TargetResult, section, table
from lambdas.inference import contract
from lambdas.inference.settings import Settings
from localrun.program import PROJECT_NAME, load_stack_config, stack_config_path

BATCH = 100  # kinesis.batchSize's default (the dev stack reads 10 at a time; 100 is the figure asked for)


def parallelization_factor(stack: str = harness.STACK) -> int:
    config = load_stack_config(stack_config_path(stack))
    return int(json.loads(config.get(f"{PROJECT_NAME}:kinesis", "{}")).get("parallelizationFactor", 1))


def stream_settings(stack_config: harness.StackFunctionConfig) -> Settings:
    """The stack's function settings as a kinesis route's function has them (its stream, no S3 filter)."""
    return harness.settings_for(
        stack_config,
        **{
            contract.ENV_ROUTE_NAME: STREAM_ROUTE,
            contract.ENV_ROUTE_VIA: "kinesis",
            contract.ENV_STREAM_NAME: STREAM_NAME,
            contract.ENV_ROUTE_PREFIX: "",
            contract.ENV_ROUTE_SUFFIX: "",
        },
    )


def run(latencies: Latencies, repeats: int = 5) -> tuple[str, list[TargetResult]]:
    """Time the handler on a batch of `BATCH` records; return the table (records per second are figures,
    not targets: nothing was asked of them)."""
    stack_config = harness.stack_function_config()
    app = harness.import_handler_module(stack_config)
    fake = FakeAws(latencies)
    settings = stream_settings(stack_config)
    handler = Implementation(
        f"(b) handler, kinesis route, stack settings (model batch {settings.model_max_batch_size})",
        settings,
        lambda event: harness.run_handler(app, event, fake, settings),
        lambda batch: max(1, min(repeats, 3)),
    )
    with harness.captured_stdout():
        handler.run(kinesis_event(1, OBJECT_BYTES))  # warm-up
    measured = measure(handler, fake, kinesis_event(BATCH, OBJECT_BYTES), BATCH)
    bound = latencies.record_critical_path(BATCH)
    factor = parallelization_factor()
    rows = [
        (
            measured.implementation,
            str(BATCH),
            str(measured.runs),
            f"{measured.wall_seconds * 1000:.0f}",
            f"{bound * 1000:.0f}",
            f"{measured.wall_seconds / bound:.2f}",
            f"{BATCH / measured.wall_seconds:.0f}",
            f"{BATCH / bound:.0f}",
            *(f"{measured.calls_per_object(operation):.2f}" for operation in OPERATIONS),
            f"{measured.calls_per_object():.2f}",
        )
    ]
    lines = [
        section("5. Kinesis batch: records per second per shard (in-process fakes, no GetObject)"),
        f"a batch of {BATCH} records of about {OBJECT_BYTES} bytes, one shard; fake latencies as in 1; "
        f"parallelization factor {factor} (records/s per shard x factor with more)",
        "bound = InvokeEndpoint(batch inputs) + PutItem + PublishBatch, one of each in sequence",
        "",
        table(
            (
                "implementation",
                "batch",
                "runs",
                "wall ms",
                "bound ms",
                "x bound",
                "records/s/shard",
                "bound records/s",
                *(f"{operation}/rec" for operation in OPERATIONS),
                "calls/rec",
            ),
            rows,
        ),
    ]
    if measured.problems:
        lines.append(f"INVALID: {'; '.join(measured.problems)}\n  last log lines:\n{measured.log_tail}")
    return "\n".join(lines), []
