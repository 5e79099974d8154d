"""`python -m benchmarks` (`make bench`): issue 5's four benchmarks, a kinesis batch, the cost model and an
async route's submitting function; a table each and a summary.

Figures are printed, never asserted: the summary says which targets are met.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from benchmarks import async_route, cold_import, cost, latency, memory, package_size, stream
from benchmarks.fakes import Latencies
from benchmarks.report import TargetResult, section, summary

BENCHMARKS = ("latency", "cold-import", "package", "memory", "stream", "cost", "async")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    defaults = Latencies()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        choices=BENCHMARKS,
        action="append",
        help="run only this benchmark (repeatable); default: all",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per handler row (median printed)")
    parser.add_argument(
        "--import-samples",
        type=int,
        default=cold_import.SAMPLES,
        help="fresh interpreters per kind of import",
    )
    parser.add_argument(
        "--memory-with-model-batch",
        action="store_true",
        help=f"also measure memory with MODEL_MAX_BATCH_SIZE={memory.MODEL_BATCH_ON} (about 6 s more)",
    )
    latency_group = parser.add_argument_group("fake latency per call, in milliseconds")
    latency_group.add_argument("--get-ms", type=float, default=defaults.get_object * 1000)
    latency_group.add_argument("--invoke-ms", type=float, default=defaults.invoke_endpoint * 1000)
    latency_group.add_argument(
        "--invoke-per-input-ms",
        type=float,
        default=defaults.invoke_endpoint_per_input * 1000,
    )
    latency_group.add_argument("--put-ms", type=float, default=defaults.put_item * 1000)
    latency_group.add_argument("--publish-ms", type=float, default=defaults.publish_batch * 1000)
    latency_group.add_argument(
        "--invoke-async-ms",
        type=float,
        default=defaults.invoke_endpoint_async * 1000,
        help="InvokeEndpointAsync until accepted (assumed; the model's time is --async-model-seconds)",
    )
    parser.add_argument(
        "--async-model-seconds",
        type=float,
        nargs="+",
        default=list(async_route.MODEL_SECONDS),
        help="what the simulated async endpoint takes to answer, one duration row each (async benchmark)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    latencies = Latencies(
        get_object=arguments.get_ms / 1000,
        invoke_endpoint=arguments.invoke_ms / 1000,
        invoke_endpoint_per_input=arguments.invoke_per_input_ms / 1000,
        put_item=arguments.put_ms / 1000,
        publish_batch=arguments.publish_ms / 1000,
        invoke_endpoint_async=arguments.invoke_async_ms / 1000,
    )
    runners: dict[str, Callable[[], tuple[str, list[TargetResult]]]] = {
        "latency": lambda: latency.run(latencies, arguments.repeats),
        "cold-import": lambda: cold_import.run(arguments.import_samples),
        "package": package_size.run,
        "memory": lambda: memory.run(latencies, arguments.memory_with_model_batch),
        "stream": lambda: stream.run(latencies, arguments.repeats),
        "cost": lambda: cost.run(latencies, arguments.repeats),
        "async": lambda: async_route.run(latencies, arguments.repeats, arguments.async_model_seconds),
    }
    started = time.perf_counter()
    targets: list[TargetResult] = []
    for name in arguments.only or BENCHMARKS:
        text, measured = runners[name]()
        print(text, flush=True)
        targets.extend(measured)
    print(section("Summary (issue 5 targets)"))
    print(summary(targets))
    met = sum(target.met for target in targets)
    command = " ".join(["python -m benchmarks", *argv])
    print(f"\n{met} of {len(targets)} targets met; took {time.perf_counter() - started:.0f} s ({command})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
