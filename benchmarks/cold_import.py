"""Benchmark 2: cold import of the handler module, as a ratio to `import boto3` alone.

Each sample is a fresh interpreter (subprocess) timing one import with `time.perf_counter`
around it, so interpreter start-up is excluded. Handler and boto3 runs alternate (and swap
order every round) so machine drift hits both alike; one unmeasured warm-up of each writes the
bytecode caches first. The environment holds the handler's required variables with dummy
values and fake credentials, so the import succeeds offline. Limits: this machine's disk cache
and CPU, not Lambda's; the Lambda runtime imports from a fresh zip extraction, usually slower.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fakes import REGION
from benchmarks.report import TargetResult, section, table
from lambdas.inference import contract

PROJECT_DIR = Path(__file__).resolve().parent.parent
HANDLER_MODULE = contract.HANDLER.rpartition(".")[0]
SAMPLES = 15
TARGET_RATIO = 1.3

# Time one import and list the top-level packages it loaded.
_PROBE = """
import sys, time, json
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "packages": sorted({{m.partition(".")[0] for m in sys.modules}})}}))
"""


@dataclass(frozen=True)
class ImportSample:
    seconds: float
    packages: frozenset[str]


@dataclass(frozen=True)
class ColdImport:
    handler_seconds: list[float]
    boto3_seconds: list[float]
    extra_packages: list[str]  # top-level packages the handler import loads beyond boto3's
    error: str | None = None

    @property
    def ratio(self) -> float:
        return statistics.median(self.handler_seconds) / statistics.median(self.boto3_seconds)


def probe_environment() -> dict[str, str]:
    """This process's environment plus what the handler needs to import offline."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))
    }
    environment.update(
        {
            "AWS_ACCESS_KEY_ID": "benchmark",
            "AWS_SECRET_ACCESS_KEY": "benchmark",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            contract.ENV_RESULTS_TABLE: "results",
            contract.ENV_ENDPOINT_NAME: "model",
            contract.ENV_NOTIFICATIONS_TOPIC_ARN: f"arn:aws:sns:{REGION}:123456789012:notifications",
            contract.ENV_ROUTE_NAME: "batch",
            "PYTHONPATH": str(PROJECT_DIR),
        }
    )
    return environment


def import_once(module: str, environment: dict[str, str]) -> ImportSample:
    """Import `module` in a fresh interpreter; raise with its stderr if the import fails."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter running our own probe
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr.strip()[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return ImportSample(result["seconds"], frozenset(result["packages"]))


def measure(samples: int = SAMPLES) -> ColdImport:
    environment = probe_environment()
    try:
        handler_warm = import_once(HANDLER_MODULE, environment)
        boto3_warm = import_once("boto3", environment)
    except RuntimeError as err:
        return ColdImport([], [], [], error=str(err))
    handler_seconds, boto3_seconds = [], []
    for round_number in range(samples):
        order = ((HANDLER_MODULE, handler_seconds), ("boto3", boto3_seconds))
        for module, results in order if round_number % 2 == 0 else reversed(order):
            results.append(import_once(module, environment).seconds)
    extra = sorted(handler_warm.packages - boto3_warm.packages - set(sys.stdlib_module_names) - {"lambdas"})
    return ColdImport(handler_seconds, boto3_seconds, extra)


def run(samples: int = SAMPLES) -> tuple[str, list[TargetResult]]:
    """Print-ready table and the cold-import target."""
    result = measure(samples)
    title = section(f"2. Cold import (median of {samples} fresh interpreters each, interleaved)")
    if result.error:
        return f"{title}\n{result.error}", [
            TargetResult(
                "cold import / import boto3",
                None,
                "<=",
                TARGET_RATIO,
                "x",
                note="handler import failed",
            ),
        ]
    handler_ms = statistics.median(result.handler_seconds) * 1000
    boto3_ms = statistics.median(result.boto3_seconds) * 1000
    rows = [
        (
            "import boto3",
            f"{boto3_ms:.1f}",
            f"{min(result.boto3_seconds) * 1000:.1f}",
            f"{max(result.boto3_seconds) * 1000:.1f}",
            "1.00",
        ),
        (
            f"import {HANDLER_MODULE}",
            f"{handler_ms:.1f}",
            f"{min(result.handler_seconds) * 1000:.1f}",
            f"{max(result.handler_seconds) * 1000:.1f}",
            f"{result.ratio:.2f}",
        ),
    ]
    extra = ", ".join(result.extra_packages) or "none"
    text = "\n".join(
        [
            title,
            table(("import", "median ms", "min ms", "max ms", "ratio to boto3"), rows),
            f"handler import beyond boto3: {handler_ms - boto3_ms:+.1f} ms; "
            f"third-party packages it loads that boto3 does not: {extra}",
        ]
    )
    return text, [TargetResult("cold import / import boto3", result.ratio, "<=", TARGET_RATIO, "x")]
