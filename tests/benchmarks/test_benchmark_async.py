"""The async route benchmark does an async route's submit-side work: per object one PutItem of the
`in_progress` item, one InvokeEndpointAsync and one PublishBatch, and no read of the object; its tables and
cost line are plain arithmetic on what was counted (no timing is asserted)."""

from typing import Any

import pytest

from benchmarks import async_route, harness
from benchmarks.async_route import CallCount, Duration, call_table, inference_column, spread, submit_usage
from benchmarks.cost import cost_per_million
from benchmarks.events import s3_event, sqs_event, store_objects
from benchmarks.fakes import (
    ASYNC_SUBMIT_OPERATIONS,
    GET_OBJECT,
    INVOKE_ENDPOINT_ASYNC,
    PUBLISH_BATCH,
    PUT_ITEM,
    FakeAws,
    Latencies,
)
from lambdas.inference import contract

NO_LATENCY = Latencies(0, 0, 0, 0, 0, 0)
OBJECTS = 3
SUBMIT = {PUT_ITEM: 1, INVOKE_ENDPOINT_ASYNC: 1, PUBLISH_BATCH: 1}


@pytest.fixture(scope="module")
def target() -> async_route.AsyncRoute:
    return async_route.stack_async_route()


@pytest.fixture(scope="module")
def runs(target: async_route.AsyncRoute) -> dict[str, Any]:
    """The real handler on the stack's async route: one S3 record per invocation, then one SQS batch."""
    app = harness.import_handler_module(harness.stack_function_config())
    fake = FakeAws(NO_LATENCY, async_inference_seconds=3600)  # nothing ends during the test
    records = store_objects(fake, OBJECTS, 256, target.route.key_prefix, "document")

    def own(event: dict[str, Any]) -> dict[str, Any]:
        return harness.run_handler(app, event, fake, target.settings)

    def via_sqs(event: dict[str, Any]) -> dict[str, Any]:
        return harness.run_handler(app, event, fake, target.sqs_settings)

    try:
        per_record = async_route.count_calls(fake, own, [s3_event(r) for r in records], OBJECTS)
        items = dict(fake.items)
        batch = async_route.count_calls(fake, via_sqs, [sqs_event(records)], OBJECTS)
    finally:
        fake.cancel_async()
    return {"per_record": per_record, "batch": batch, "items": items}


def test_the_benchmarked_route_is_the_dev_stacks_documents_route_on_its_async_model(target):
    assert (target.route.name, target.route.via, target.model_name) == ("documents", "lambda", "summarizer")
    assert target.settings.submits_async and target.settings.route_via == "lambda"
    assert target.sqs_settings.route_via == "sqs"


def test_each_object_costs_one_put_item_one_invoke_endpoint_async_and_one_publish_batch(runs):
    problems, calls = runs["per_record"]
    assert problems == []
    assert calls == {operation: OBJECTS for operation in ASYNC_SUBMIT_OPERATIONS}


def test_the_submitting_function_never_reads_the_object(runs):
    assert GET_OBJECT not in runs["per_record"][1]
    assert GET_OBJECT not in runs["batch"][1]


def test_every_object_is_left_in_progress_with_its_inference_id(runs):
    items = runs["items"].values()
    statuses = {(item["status"]["S"], contract.INFERENCE_ID_ATTRIBUTE in item) for item in items}
    assert (len(runs["items"]), statuses) == (OBJECTS, {(contract.STATUS_IN_PROGRESS, True)})


def test_an_sqs_batch_on_the_async_model_shares_only_the_publish(runs):
    problems, calls = runs["batch"]
    assert problems == []
    assert calls == {PUT_ITEM: OBJECTS, INVOKE_ENDPOINT_ASYNC: OBJECTS, PUBLISH_BATCH: 1}


def test_call_table_lists_the_three_submit_operations_per_object():
    count = CallCount("documents route", 2, 2, {PUT_ITEM: 2, INVOKE_ENDPOINT_ASYNC: 2, PUBLISH_BATCH: 2}, [])
    header, _, row = call_table([count]).splitlines()
    assert [h for h in header.split() if h.endswith("/obj")] == [
        "PutItem/obj",
        "InvokeEndpointAsync/obj",
        "PublishBatch/obj",
        "other/obj",
        "calls/obj",
    ]
    assert row.split()[-5:] == ["1.00", "1.00", "1.00", "0.00", "3.00"]


def test_calls_outside_the_three_are_counted_as_other():
    count = CallCount("x", 2, 1, {**SUBMIT, GET_OBJECT: 2}, [])
    assert (count.others_per_object(), count.per_object()) == (1.0, 2.5)


def duration(model_seconds: float, wall: float = 0.05, output_after: float | None = None) -> Duration:
    return Duration(model_seconds, 900, 5, wall, 0.02, output_after, [])


def test_the_inference_column_says_what_the_endpoint_did_and_whether_it_was_waited_for():
    assert inference_column(duration(1, output_after=0.98)) == (
        "output written 0.98 s after the function returned (observed)"
    )
    assert inference_column(duration(60)) == "output due +60 s after submission (not waited)"
    assert inference_column(duration(3600)).startswith("past InvocationTimeoutSeconds 900: error topic")


def test_spread_compares_the_slowest_models_row_with_the_fastest():
    assert spread([duration(3600, wall=0.06), duration(1, wall=0.05), duration(60)]) == pytest.approx(1.2)


def test_submit_side_cost_is_one_invocation_one_write_one_publish_and_no_s3_or_model_line():
    costs = cost_per_million(submit_usage(49.2, 1024, 400, 400))
    assert costs == pytest.approx(
        {
            "Lambda requests": 0.20,
            "Lambda GB-s": 1_000_000 * 0.050 * 1 * 0.0000133334,  # billed 50 ms at 1 GB
            "SQS": 0.0,
            "SNS": 0.50,
            "EventBridge": 0.0,
            "DynamoDB WRU": 0.625,
            "S3 GET": 0.0,
            "KMS": 0.0,
            "SageMaker compute": 0.0,
            "SageMaker data": 0.0,
        }
    )
