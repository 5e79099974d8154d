"""Benchmark 2: cold import of the handler module, as a ratio to `import boto3` alone.

Each sample is a fresh interpreter (subprocess) timing one import with `time.perf_counter` around it,
so interpreter start-up is excluded. The handler is imported from the deployment zip (built as the
stack builds it, extracted to a temp dir) with bytecode writing off: like Lambda, whose /var/task holds
our sources without `.pyc` and is read-only, every cold start compiles our modules. Handler and boto3
runs alternate, swapping order every round, so machine drift hits both alike; one unmeasured warm-up
of each fills the OS file cache. The environment holds the handler's required variables with dummy
values and fake credentials, so the import succeeds offline.

Cold-start work the handler defers past its import (creating clients, modules imported on first use)
is measured in the same processes and printed as information: `app.create_clients()`, then one
invocation with the fakes attached to those clients minus a second, warm invocation.

Limits: this machine's CPU and disk cache, not Lambda's (a fraction of a vCPU at 1024 MB, so absolute
times there are longer; the ratio is what carries over); Powertools is imported from the venv, with
bytecode, rather than from its layer.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import package_size
from benchmarks.fakes import REGION
from benchmarks.harness import function_environment, stack_function_config
from benchmarks.report import TargetResult, section, table
from lambdas.inference import contract

PROJECT_DIR = Path(__file__).resolve().parent.parent
HANDLER_MODULE, _, HANDLER_FUNCTION = contract.HANDLER.rpartition(".")
SAMPLES = 15
DEFERRED_EVERY = 3
TARGET_RATIO = 1.3

# Time one import, list the top-level packages it loaded, and optionally the deferred cold-start work.
_PROBE = """
import json, sys, time
start = time.perf_counter()
import {module} as probed
result = {{
    "seconds": time.perf_counter() - start,
    "packages": sorted({{m.partition(".")[0] for m in sys.modules}}),
}}
if {first_call} and hasattr(probed, "create_clients"):
    start = time.perf_counter()
    clients = probed.create_clients()
    result["clients_seconds"] = time.perf_counter() - start
    sys.path.append({project_dir!r})  # the fakes, after the deployed package on the path
    from benchmarks.events import LambdaContext, sqs_event, store_objects
    from benchmarks.fakes import FakeAws, Latencies
    fake = FakeAws(Latencies(0, 0, 0, 0, 0))
    probed.clients = fake.attach(clients)
    event = sqs_event(store_objects(fake, 1, 64))
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        probed.{function}(event, LambdaContext())
        timings.append(time.perf_counter() - start)
    result["first_call_extra_seconds"] = timings[0] - timings[1]
print("\\n" + json.dumps(result))  # last line; the handler's log lines come before it
"""


@dataclass(frozen=True)
class ImportSample:
    seconds: float
    packages: frozenset[str]
    clients_seconds: float | None = None  # app.create_clients(), when measured
    first_call_extra_seconds: float | None = None  # first invocation minus a warm one, when measured


@dataclass(frozen=True)
class ColdImport:
    handler: list[ImportSample]
    boto3: list[ImportSample]
    extra_packages: list[str]  # top-level packages the handler import loads beyond boto3's
    error: str | None = None

    @property
    def handler_seconds(self) -> float:
        return statistics.median(sample.seconds for sample in self.handler)

    @property
    def boto3_seconds(self) -> float:
        return statistics.median(sample.seconds for sample in self.boto3)

    def deferred_median(self, attribute: str) -> float | None:
        values = [getattr(s, attribute) for s in self.handler if getattr(s, attribute) is not None]
        return statistics.median(values) if values else None

    @property
    def ratio(self) -> float:
        return self.handler_seconds / self.boto3_seconds


def probe_environment(code_dir: Path) -> dict[str, str]:
    """This process's environment, minus AWS and Lambda variables, plus what the handler needs offline."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))
    }
    environment.update(function_environment(stack_function_config()))
    environment.update(
        {
            "AWS_ACCESS_KEY_ID": "benchmark",
            "AWS_SECRET_ACCESS_KEY": "benchmark",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PYTHONPATH": str(code_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return environment


def import_once(
    module: str, environment: dict[str, str], cwd: Path, first_call: bool = False
) -> ImportSample:
    """Import `module` in a fresh interpreter; raise with its stderr if that fails."""
    code = _PROBE.format(
        module=module, first_call=first_call, project_dir=str(PROJECT_DIR), function=HANDLER_FUNCTION
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter running our own probe
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr.strip()[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return ImportSample(
        result["seconds"],
        frozenset(result["packages"]),
        result.get("clients_seconds"),
        result.get("first_call_extra_seconds"),
    )


def measure(samples: int = SAMPLES) -> ColdImport:
    """Interleaved handler and boto3 imports in fresh interpreters, after one warm-up of each."""
    with tempfile.TemporaryDirectory(prefix="inference-zip-") as extracted:
        code_dir = Path(extracted)
        files, _ = package_size.function_code_files()
        with zipfile.ZipFile(io.BytesIO(package_size.build_zip(files))) as archive:
            archive.extractall(code_dir)
        environment = probe_environment(code_dir)
        try:
            handler_warm = import_once(HANDLER_MODULE, environment, code_dir)
            boto3_warm = import_once("boto3", environment, code_dir)
            handler, boto3 = [], []
            for round_number in range(samples):
                # The deferred work is timed in every third handler sample only: it doubles a sample's cost.
                deferred = round_number % DEFERRED_EVERY == 0
                runs = [(HANDLER_MODULE, handler, deferred), ("boto3", boto3, False)]
                for module, results, first_call in runs if round_number % 2 == 0 else reversed(runs):
                    results.append(import_once(module, environment, code_dir, first_call))
        except RuntimeError as err:
            return ColdImport([], [], [], error=str(err))
    extra = handler_warm.packages - boto3_warm.packages - set(sys.stdlib_module_names) - {"lambdas"}
    return ColdImport(handler, boto3, sorted(extra))


def run(samples: int = SAMPLES) -> tuple[str, list[TargetResult]]:
    """Print-ready table and the cold-import target."""
    result = measure(samples)
    title = section(f"2. Cold import (median of {samples} fresh interpreters each, interleaved)")
    name = "cold import handler / import boto3"
    if result.error:
        return f"{title}\n{result.error}", [
            TargetResult(name, None, "<=", TARGET_RATIO, "x", note="handler import failed (see its table)")
        ]
    rows = [
        _row("import boto3", [s.seconds for s in result.boto3], 1.0),
        _row(
            f"import {HANDLER_MODULE} (deployment zip, no .pyc)",
            [s.seconds for s in result.handler],
            result.ratio,
        ),
    ]
    boto3_ms = result.boto3_seconds * 1000
    lines = [
        title,
        table(("import", "median ms", "min ms", "max ms", "ratio to boto3"), rows),
        f"handler import beyond boto3: {result.handler_seconds * 1000 - boto3_ms:+.1f} ms; third-party "
        f"packages it loads that boto3 does not: {', '.join(result.extra_packages) or 'none'}",
    ]
    clients = result.deferred_median("clients_seconds")
    first_call = result.deferred_median("first_call_extra_seconds")
    if clients is not None and first_call is not None:
        measured = sum(s.clients_seconds is not None for s in result.handler)
        total = (result.handler_seconds + clients + first_call) / result.boto3_seconds
        lines.append(
            f"deferred past the import (information, median of {measured}): create_clients() and what it "
            f"imports {clients * 1000:.1f} ms + first invocation's extra (lazy imports) "
            f"{first_call * 1000:.1f} ms; "
            f"import + both = {total:.2f}x import boto3"
        )
    text = "\n".join(lines)
    return text, [TargetResult(name, result.ratio, "<=", TARGET_RATIO, "x")]


def _row(label: str, seconds: list[float], ratio: float) -> tuple[str, ...]:
    return (
        label,
        f"{statistics.median(seconds) * 1000:.1f}",
        f"{min(seconds) * 1000:.1f}",
        f"{max(seconds) * 1000:.1f}",
        f"{ratio:.2f}",
    )
