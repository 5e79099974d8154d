"""The kinesis batch benchmark does a kinesis route's work: every record scored, written and published,
keyed by its id, without reading S3; its bound leaves GetObject out."""

from typing import Any

import pytest

from benchmarks import harness
from benchmarks.events import STREAM_NAME, kinesis_event
from benchmarks.fakes import GET_OBJECT, INVOKE_ENDPOINT, FakeAws, Latencies
from benchmarks.stream import stream_settings
from lambdas.inference.contract import TABLE_PARTITION_KEY

RECORDS = 12
NO_LATENCY = Latencies(0, 0, 0, 0, 0)


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    stack_config = harness.stack_function_config()
    app = harness.import_handler_module(stack_config)
    fake = FakeAws(NO_LATENCY)
    with harness.captured_stdout():
        response = harness.run_handler(app, kinesis_event(RECORDS, 64), fake, stream_settings(stack_config))
    return {"fake": fake, "response": response}


def test_kinesis_batch_completes_and_publishes_every_record(run: dict[str, Any]) -> None:
    assert harness.check_complete(run["fake"], run["response"], RECORDS) == []


def test_kinesis_batch_results_are_keyed_by_the_records_ids(run: dict[str, Any]) -> None:
    keys = sorted(item[TABLE_PARTITION_KEY]["S"] for item in run["fake"].items.values())
    assert keys == [f"kinesis://{STREAM_NAME}/bench-{i:04d}" for i in range(RECORDS)]


def test_kinesis_batch_reads_nothing_from_s3_and_calls_the_model(run: dict[str, Any]) -> None:
    calls = run["fake"].calls
    assert (calls.get(GET_OBJECT, 0), calls.get(INVOKE_ENDPOINT, 0) > 0) == (0, True)


def test_record_critical_path_is_the_file_bound_without_get_object() -> None:
    latencies = Latencies(0.03, 0.08, 0.002, 0.01, 0.015)
    assert latencies.record_critical_path(10) == pytest.approx(latencies.critical_path(10) - 0.03)
