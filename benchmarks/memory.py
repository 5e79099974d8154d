"""Benchmark 4: peak Python heap while the real handler processes 100 objects of 1 MiB in one SQS batch,
per payload format (text, stack settings; json, a field sent under "inputs"; binary, PNG-like bytes).

`tracemalloc` traces every allocation made during the handler call (reading bodies, decoding text,
building requests, results, logs) and reports the peak. The objects live in the fake S3 before tracing
starts (S3's memory, not the function's); the fake returns fresh copies of them, as a socket read would.
MAX_OBJECT_BYTES is raised to 2 MiB for this run (the dev stack's limit is 1 MiB, so 1 MiB objects sit
exactly on it). Limits: the peak covers Python allocations only, not the interpreter, boto3 and
Powertools already loaded (tens of MB of RSS on Lambda) nor allocator fragmentation; the fakes' own
request parsing (a stand-in for botocore's HTTP buffers) is included.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

from benchmarks import harness
from benchmarks.events import JSON_FIELD, sqs_event, store_objects
from benchmarks.fakes import FakeAws, Latencies
from benchmarks.report import TargetResult, section, table
from lambdas.inference import contract

OBJECTS = 100
OBJECT_BYTES = 1024 * 1024
MAX_OBJECT_BYTES = 2 * 1024 * 1024
MODEL_BATCH_ON = 10
TARGET_FRACTION = 0.25
MB = 1024 * 1024


@dataclass(frozen=True)
class MemoryMeasurement:
    label: str
    workers: int
    model_batch: int
    budget_bytes: int
    peak_bytes: int
    wall_seconds: float
    problems: list[str]


def run(latencies: Latencies, with_model_batching: bool = False) -> tuple[str, list[TargetResult]]:
    """Peak traced memory with the stack's settings (and, if asked, with model batching on: ~6 s more)."""
    stack_config = harness.stack_function_config()
    app = harness.import_handler_module(stack_config)
    fake = FakeAws(latencies)
    events = {
        payload_format: sqs_event(store_objects(fake, OBJECTS, OBJECT_BYTES, payload_format=payload_format))
        for payload_format in ("text", "json", "binary")
    }
    base = {contract.ENV_MAX_OBJECT_BYTES: str(MAX_OBJECT_BYTES)}
    batched = {**base, contract.ENV_MODEL_MAX_BATCH_SIZE: str(MODEL_BATCH_ON)}
    json_format = {
        **base,
        contract.ENV_PAYLOAD_FORMAT: contract.PAYLOAD_JSON,
        contract.ENV_JSON_INPUT_FIELD: JSON_FIELD,
        contract.ENV_JSON_REQUEST_KEY: "inputs",
    }
    binary_format = {**base, contract.ENV_PAYLOAD_FORMAT: contract.PAYLOAD_BINARY}
    configurations = [
        ("stack settings", "text", harness.settings_for(stack_config, **base)),
        ("json format", "json", harness.settings_for(stack_config, **json_format)),
        ("binary format", "binary", harness.settings_for(stack_config, **binary_format)),
    ]
    if with_model_batching:
        configurations.append(
            (f"model batch {MODEL_BATCH_ON}", "text", harness.settings_for(stack_config, **batched))
        )
    # Warm-up outside tracing: lazy imports and caches are per container, not per batch.
    warm_event = sqs_event(store_objects(fake, 1, 16, prefix="warm/"))
    with harness.captured_stdout():
        harness.run_handler(app, warm_event, fake, configurations[0][2])

    results = []
    for label, payload_format, settings in configurations:
        fake.reset_counters()
        with harness.captured_stdout():
            tracemalloc.start()
            start = time.perf_counter()
            response = harness.run_handler(app, events[payload_format], fake, settings)
            wall = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        problems = harness.check_complete(fake, response, OBJECTS)
        results.append(
            MemoryMeasurement(
                label,
                settings.max_workers,
                settings.model_max_batch_size,
                settings.max_in_flight_bytes,
                peak,
                wall,
                problems,
            )
        )

    memory_mb = stack_config.memory_mb
    rows = [
        (
            m.label,
            str(m.workers),
            str(m.model_batch),
            f"{m.budget_bytes / MB:.0f}",
            f"{m.peak_bytes / MB:.1f}",
            f"{m.peak_bytes / MB / memory_mb:.1%}",
            # The handler admits objects ahead of their writes while their sizes fit the budget.
            f"{m.peak_bytes / (min(OBJECTS, m.budget_bytes // OBJECT_BYTES) * OBJECT_BYTES):.1f}",
            f"{m.wall_seconds:.2f}",
        )
        for m in results
    ]
    lines = [
        section(f"4. Memory ({OBJECTS} objects of {OBJECT_BYTES // 1024} KiB in one SQS batch, tracemalloc)"),
        f"MAX_OBJECT_BYTES={MAX_OBJECT_BYTES} for this run; function memory {memory_mb} MB "
        "(function.memoryMb in Pulumi.dev.yaml); wall time includes tracemalloc's overhead",
        "",
        table(
            (
                "configuration",
                "workers",
                "model batch",
                "in-flight budget MB",
                "peak MB",
                "of function memory",
                "object copies per in-flight object",
                "wall s",
            ),
            rows,
        ),
    ]
    lines += [f"INVALID {m.label}: {'; '.join(m.problems)}" for m in results if m.problems]
    targets = [
        TargetResult(
            f"peak traced memory / function memory [{m.label}]",
            None if m.problems else 100 * m.peak_bytes / MB / memory_mb,
            "<",
            100 * TARGET_FRACTION,
            "%",
            note="; ".join(m.problems),
        )
        for m in results[:3]
    ]
    return "\n".join(lines), targets
