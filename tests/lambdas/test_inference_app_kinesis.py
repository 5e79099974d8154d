"""A kinesis route's handler against moto: each record's item and outcome, the partial batch response (the
first failed sequence number), idempotent re-reads, ordering by sequence number per id, model batching across
the records of one batch, and nothing read from S3."""

import json
from dataclasses import replace

import pytest
from boto3.dynamodb.types import TypeDeserializer
from conftest import TABLE
from inference_fakes import (
    STREAM,
    FakeModel,
    client_error,
    echo_model,
    kinesis_event,
    kinesis_record,
    sequence,
)

from lambdas.inference import contract

KINESIS_ENV = {contract.ENV_ROUTE_VIA: "kinesis", contract.ENV_STREAM_NAME: STREAM}


@pytest.fixture
def kinesis_app(make_app):
    return make_app(**KINESIS_ENV)


def with_model(app, respond):
    app.clients = replace(app.clients, sagemaker_runtime=FakeModel(respond))
    return app.clients.sagemaker_runtime


def item(world, pk):
    raw = world.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")
    return None if raw is None else {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}


def no_s3(app):
    """The handler's S3 client refuses every call: a record is never read from a bucket."""

    class NoS3:
        def __getattr__(self, name):
            raise AssertionError(f"a kinesis record made an S3 call ({name})")

    app.clients = replace(app.clients, s3=NoS3())


def test_each_record_ends_as_a_completed_item_keyed_by_its_id(kinesis_app, world, context):
    no_s3(kinesis_app)
    with_model(kinesis_app, echo_model)
    response = kinesis_app.handler(
        kinesis_event(kinesis_record({"id": "r1", "text": "great"}, sequence(1))), context
    )
    assert response == {"batchItemFailures": []}
    stored = item(world, f"kinesis://{STREAM}/r1")
    assert (stored["status"], stored["route"], stored["sequencer"]) == ("completed", "uploads", sequence(1))


def test_a_records_outcome_is_published_with_status_and_route(kinesis_app, world, context):
    with_model(kinesis_app, echo_model)
    kinesis_app.handler(kinesis_event(kinesis_record("plain text", sequence(1))), context)
    [notification] = world.outcomes()
    assert json.loads(notification["Message"])["pk"] == f"kinesis://{STREAM}/pk-1/{sequence(1)}"
    attributes = notification["MessageAttributes"]
    assert (attributes["status"]["Value"], attributes["route"]["Value"]) == ("completed", "uploads")


def test_a_record_that_is_no_input_is_stored_rejected_and_the_batch_succeeds(kinesis_app, world, context):
    response = kinesis_app.handler(kinesis_event(kinesis_record(b"\xff\x00", sequence(1))), context)
    assert response == {"batchItemFailures": []}
    stored = item(world, f"kinesis://{STREAM}/pk-1/{sequence(1)}")
    assert (stored["status"], stored["reason"]) == ("rejected", contract.REASON_NOT_TEXT)


def test_a_transient_failure_reports_the_first_failed_sequence_number(kinesis_app, world, context):
    throttled = {"t2", "t4"}

    def respond(document):
        if document["inputs"] in throttled:
            raise client_error("ValidationError", "InvokeEndpoint", 500)
        return echo_model(document)

    with_model(kinesis_app, respond)
    event = kinesis_event(*(kinesis_record(f"t{i}", sequence(i)) for i in range(6)))

    response = kinesis_app.handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(2)}]}
    assert item(world, f"kinesis://{STREAM}/pk-1/{sequence(2)}") is None
    assert item(world, f"kinesis://{STREAM}/pk-1/{sequence(5)}")["status"] == "completed"


def test_a_re_read_batch_changes_no_item(kinesis_app, world, context):
    with_model(kinesis_app, echo_model)
    event = kinesis_event(*(kinesis_record({"id": f"r{i}", "text": f"t{i}"}, sequence(i)) for i in range(3)))
    kinesis_app.handler(event, context)
    before = {i["pk"]["S"]: i for i in world.items()}

    response = kinesis_app.handler(event, context)

    assert response == {"batchItemFailures": []}
    assert {i["pk"]["S"]: i for i in world.items()} == before


def test_an_older_sequence_number_for_the_same_id_never_overwrites_a_newer_result(
    kinesis_app, world, context
):
    with_model(kinesis_app, echo_model)
    kinesis_app.handler(kinesis_event(kinesis_record({"id": "r", "text": "newer"}, sequence(9))), context)

    kinesis_app.handler(kinesis_event(kinesis_record({"id": "r", "text": "older"}, sequence(3))), context)

    stored = item(world, f"kinesis://{STREAM}/r")
    assert (stored["sequencer"], stored["prediction"]["label"]) == (sequence(9), "newer")


def test_a_newer_sequence_number_for_the_same_id_replaces_the_result(kinesis_app, world, context):
    with_model(kinesis_app, echo_model)
    kinesis_app.handler(kinesis_event(kinesis_record({"id": "r", "text": "older"}, sequence(3))), context)

    kinesis_app.handler(kinesis_event(kinesis_record({"id": "r", "text": "newer"}, sequence(9))), context)

    assert item(world, f"kinesis://{STREAM}/r")["prediction"]["label"] == "newer"


def test_text_records_of_one_batch_share_batched_model_calls(make_app, world, context):
    app = make_app(**KINESIS_ENV, **{contract.ENV_MODEL_MAX_BATCH_SIZE: "10"})
    model = with_model(app, echo_model)

    app.handler(kinesis_event(*(kinesis_record(f"t{i}", sequence(i)) for i in range(4))), context)

    assert len(model.requests) == 1 and sorted(model.requests[0]["inputs"]) == [f"t{i}" for i in range(4)]
    # Batched, each record's prediction is its element of the answer (the shape files get).
    assert item(world, f"kinesis://{STREAM}/pk-1/{sequence(0)}")["prediction"] == {
        "label": "t0",
        "score": 0.5,
    }


def test_a_record_of_another_stream_fails_as_a_permanent_failure(kinesis_app, world, context):
    other = "arn:aws:kinesis:us-east-1:123456789012:stream/other"
    response = kinesis_app.handler(kinesis_event(kinesis_record("x", sequence(1), stream_arn=other)), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence(1)}]}
    assert world.items() == []


def test_a_kinesis_event_reaching_an_sqs_routes_function_is_refused_whole(make_app, context):
    app = make_app(**{contract.ENV_ROUTE_VIA: "sqs"})
    with pytest.raises(app.EventNotProcessedError, match="aws:kinesis"):
        app.handler(kinesis_event(kinesis_record("x", sequence(1))), context)
