"""The sequential baseline (a) does the handler's work, one object and four calls at a time, so the latency
benchmark compares like with like; and the benchmark zip is the stack's function code."""

import io
import json
import zipfile
from typing import Any

import pytest

from benchmarks import harness, package_size
from benchmarks.events import sqs_event, store_objects
from benchmarks.fakes import FakeAws, Latencies
from benchmarks.sequential import process_sequentially

OBJECTS = 3
NO_LATENCY = Latencies(0, 0, 0, 0, 0)


# When the item was written, and when the writing execution environment started: differ between runs.
_TIMES = ("processed_at", "environment_started_at")


def _without_processing_time(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        pk: {name: value for name, value in item.items() if name not in _TIMES} for pk, item in items.items()
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    """The same SQS batch through the real handler and through the baseline, each on a fresh fake."""
    stack_config = harness.stack_function_config()
    settings = harness.settings_for(stack_config)
    app = harness.import_handler_module(stack_config)
    outcome = {}
    for name in ("handler", "sequential"):
        fake = FakeAws(NO_LATENCY)
        event = sqs_event(store_objects(fake, OBJECTS, 64))
        with harness.captured_stdout():
            if name == "handler":
                response = harness.run_handler(app, event, fake, settings)
            else:
                response = process_sequentially(event, fake.clients(), settings)
        outcome[name] = {"fake": fake, "response": response}
    return outcome


def test_sequential_baseline_completes_every_object(runs: dict[str, Any]) -> None:
    sequential = runs["sequential"]

    assert harness.check_complete(sequential["fake"], sequential["response"], OBJECTS) == []


def test_sequential_baseline_writes_the_same_results_items_as_the_handler(runs: dict[str, Any]) -> None:
    assert _without_processing_time(runs["sequential"]["fake"].items) == _without_processing_time(
        runs["handler"]["fake"].items
    )


def test_sequential_baseline_publishes_the_same_outcomes_as_the_handler(runs: dict[str, Any]) -> None:
    def outcomes(fake: FakeAws) -> list[str]:
        bodies = [json.loads(entry["Message"]) for entry in fake.published]
        return sorted(
            json.dumps([{k: v for k, v in body.items() if k != "processed_at"}, entry["MessageAttributes"]])
            for body, entry in zip(bodies, fake.published, strict=True)
        )

    assert outcomes(runs["sequential"]["fake"]) == outcomes(runs["handler"]["fake"])


def test_sequential_baseline_makes_one_call_of_each_kind_per_object(runs: dict[str, Any]) -> None:
    assert dict(runs["sequential"]["fake"].calls) == {
        "GetObject": OBJECTS,
        "InvokeEndpoint": OBJECTS,
        "PutItem": OBJECTS,
        "PublishBatch": OBJECTS,
    }


def test_benchmark_zip_holds_exactly_the_stack_function_files() -> None:
    files, source = package_size.function_code_files()

    archive = package_size.build_zip(files)

    assert source == "infra.compute.function_code_files()"
    assert sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == sorted(files)
