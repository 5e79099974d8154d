"""The cost model's arithmetic on tiny examples (pure: no fakes, no timing)."""

from __future__ import annotations

import pytest

from benchmarks import prices
from benchmarks.cost import Measured, Usage, chunks, cost_per_million, usage_for, write_request_units
from benchmarks.fakes import Latencies

# One object in a batch of ten: a tenth of a 200 ms, 1 GB invocation, 1.2 SQS requests, one publish, one WRU,
# one GET, 10 ms of a 2 GB serverless model, no data.
TINY = Usage(
    lambda_invocations=0.1,
    lambda_billed_ms=200,
    lambda_memory_mb=1024,
    sqs_requests=1.2,
    sns_publishes=1,
    eventbridge_events=0,
    dynamodb_wru=1,
    s3_gets=1,
    kms_requests=0,
    model_seconds=0.010,
    model_memory_mb=2048,
    model_data_bytes=0,
)


def test_cost_of_a_million_objects_multiplies_usage_by_the_prices():
    costs = cost_per_million(TINY)
    assert costs == pytest.approx(
        {
            "Lambda requests": 100_000 * 0.20 / 1_000_000,  # 100k invocations
            "Lambda GB-s": 100_000 * 0.2 * 1 * prices.LAMBDA_ARM_GB_SECOND.usd,  # 20,000 GB-s
            "SQS": 1_200_000 * 0.40 / 1_000_000,
            "SNS": 1_000_000 * 0.50 / 1_000_000,
            "EventBridge": 0.0,
            "DynamoDB WRU": 1_000_000 * 0.625 / 1_000_000,
            "S3 GET": 1_000_000 * 0.0004 / 1000,
            "KMS": 0.0,
            "SageMaker compute": 1_000_000 * 0.010 * 2 * prices.SAGEMAKER_SERVERLESS_GB_SECOND.usd,
            "SageMaker data": 0.0,
        }
    )
    assert costs["Lambda GB-s"] == pytest.approx(0.266668)
    assert costs["SageMaker compute"] == pytest.approx(0.40)


@pytest.mark.parametrize(("size", "expected"), [(0, 1), (64 * 1024, 1), (64 * 1024 + 1, 2), (256 * 1024, 4)])
def test_sqs_and_sns_bill_one_request_per_started_64_kb_chunk(size, expected):
    assert chunks(size) == expected


@pytest.mark.parametrize(("size", "expected"), [(417, 1), (1024, 1), (1025, 2)])
def test_dynamodb_bills_one_write_request_unit_per_started_kb(size, expected):
    assert write_request_units(size) == expected


MEASURED = Measured(
    handler_ms={1: 150.0, 10: 190.2},
    sequential_ms=149.0,
    sqs_batch_size=10,
    model_batch_size=10,
    lambda_memory_mb=1024,
    model_memory_mb=2048,
    item_bytes=400,
    outcome_bytes=400,
    object_bytes=2048,
    latencies=Latencies(),
)


def test_sqs_handler_shares_one_invocation_receive_delete_and_model_call_across_the_batch():
    usage = usage_for("sqs", "serverless", "handler", MEASURED)
    assert usage.lambda_invocations == pytest.approx(0.1)
    assert usage.lambda_billed_ms == 191  # rounded up to the millisecond
    assert usage.sqs_requests == pytest.approx(1.2)  # SendMessage + (Receive + DeleteBatch) / 10
    assert usage.model_seconds == pytest.approx((0.080 + 10 * 0.002) / 10)


def test_sequential_pattern_pays_one_invocation_and_one_model_call_per_object():
    usage = usage_for("sqs", "serverless", "sequential", MEASURED)
    assert (usage.lambda_invocations, usage.lambda_billed_ms, usage.sqs_requests) == (1, 149, 3)
    assert usage.model_seconds == pytest.approx(0.082)


def test_existing_endpoint_costs_the_stack_no_model_compute():
    costs = cost_per_million(usage_for("lambda", "existing", "handler", MEASURED))
    assert (costs["SageMaker compute"], costs["SageMaker data"]) == (0, 0)


def test_sns_route_pays_the_route_topic_publish_besides_the_outcome():
    assert usage_for("sns", "existing", "handler", MEASURED).sns_publishes == 2
    assert usage_for("lambda", "existing", "handler", MEASURED).sns_publishes == 1
