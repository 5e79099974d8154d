"""The deployed handler against moto, for named models: each payload format, large results in S3, model
versions that re-score (both directions), the outcome's model fields, and the clients' connection pools."""

import io
import json
from dataclasses import replace

import boto3
from botocore.awsrequest import AWSResponse
from conftest import function_env, load_app
from inference_fakes import BUCKET, FakeModel, s3_event, s3_record, sqs_event
from moto.core.models import botocore_stubber

from lambdas.inference import contract
from lambdas.inference.domain import MAX_PREDICTION_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


class RawBody(io.BytesIO):
    """An HTTP response body as botocore reads it."""

    def stream(self, **_):
        yield self.getvalue()


def with_model(app, respond):
    app.clients = replace(app.clients, sagemaker_runtime=FakeModel(respond))
    return app.clients.sagemaker_runtime


# --- payload formats ----------------------------------------------------------------------------------
def test_a_json_model_scores_the_configured_field_and_stores_the_answer(make_app, world, context):
    app = make_app(
        **{
            contract.ENV_PAYLOAD_FORMAT: "json",
            contract.ENV_JSON_INPUT_FIELD: "review",
            contract.ENV_JSON_REQUEST_KEY: "inputs",
        }
    )
    model = with_model(app, lambda document: [{"label": document["inputs"]["title"], "score": 0.5}])
    world.put("data/r.json", json.dumps({"review": {"title": "great"}, "id": 1}).encode())

    app.handler(s3_event(s3_record("data/r.json")), context)

    assert model.requests == [{"inputs": {"title": "great"}}]
    assert world.item("data/r.json")["prediction"] == [{"label": "great", "score": 0.5}]


def test_a_json_object_missing_its_field_is_stored_rejected_with_the_reason(make_app, world, context):
    app = make_app(**{contract.ENV_PAYLOAD_FORMAT: "json", contract.ENV_JSON_INPUT_FIELD: "review"})
    world.put("data/r.json", b'{"id": 1}')

    app.handler(s3_event(s3_record("data/r.json")), context)

    item = world.item("data/r.json")
    assert (item["status"], item["reason"]) == (contract.STATUS_REJECTED, contract.REASON_MISSING_JSON_FIELD)


def test_a_binary_object_reaches_the_endpoint_unchanged_with_its_s3_content_type(make_app, world, context):
    # moto's sagemaker-runtime decodes every request body as UTF-8 (moto/core/responses.py, setup_class) and
    # fails on image bytes, so this client's HTTP request is answered here, as the endpoint would, instead.
    app = make_app(**{contract.ENV_PAYLOAD_FORMAT: "binary"})
    world.s3.put_object(Bucket=BUCKET, Key="images/cat.png", Body=PNG, ContentType="image/png")
    sent = []

    def answer(request, **_):
        sent.append(request)
        body = RawBody(json.dumps([{"label": "cat", "score": 0.5}]).encode())
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, body)

    sagemaker = boto3.client("sagemaker-runtime", region_name="us-east-1")
    sagemaker.meta.events.unregister("before-send", botocore_stubber)
    sagemaker.meta.events.register("before-send", answer)
    app.clients = replace(app.clients, sagemaker_runtime=sagemaker)

    app.handler(s3_event(s3_record("images/cat.png")), context)

    [request] = sent
    assert (request.body, request.headers["Content-Type"]) == (PNG, b"image/png")
    assert json.loads(json.dumps(world.item("images/cat.png")["prediction"], default=float)) == [
        {"label": "cat", "score": 0.5}
    ]


def test_a_binary_object_with_s3s_default_content_type_is_rejected_naming_the_fix(make_app, world, context):
    app = make_app(**{contract.ENV_PAYLOAD_FORMAT: "binary"})
    model = with_model(app, lambda document: {})
    world.put("images/cat.png", PNG)  # no ContentType: S3 stores binary/octet-stream

    app.handler(s3_event(s3_record("images/cat.png")), context)

    item = world.item("images/cat.png")
    assert (
        item["reason"] == contract.REASON_UNSUPPORTED_CONTENT_TYPE
        and "ENDPOINT_CONTENT_TYPE" in item["detail"]
    )
    assert model.calls == []


def test_a_binary_object_over_the_serverless_limit_is_rejected_before_it_is_read(make_app, world, context):
    app = make_app(**{contract.ENV_PAYLOAD_FORMAT: "binary"})
    world.s3.put_object(Bucket=BUCKET, Key="images/huge.png", Body=b"x" * 16, ContentType="image/png")

    app.handler(s3_event(s3_record("images/huge.png", size=5_000_000)), context)

    item = world.item("images/huge.png")
    assert (item["status"], item["reason"]) == (contract.STATUS_REJECTED, contract.REASON_TOO_LARGE)
    assert item["detail"].endswith("the serverless InvokeEndpoint limit is 4 MiB (MAX_PAYLOAD_BYTES)")


# --- large results ------------------------------------------------------------------------------------
def large_answer(document):
    return {"embedding": "v" * MAX_PREDICTION_BYTES}


def test_a_result_too_large_for_the_item_is_stored_in_s3_under_the_stack_key(
    app, world, encrypted_bucket, context
):
    with_model(app, large_answer)
    world.put("a.txt", b"text")

    app.handler(s3_event(s3_record("a.txt")), context)

    item = world.item("a.txt")
    bucket, _, key = item["prediction_uri"].removeprefix("s3://").partition("/")
    stored = world.s3.get_object(Bucket=bucket, Key=key)
    assert (item["status"], "prediction" in item) == (contract.STATUS_COMPLETED, False)
    assert (bucket, key.startswith(contract.DEFAULT_LARGE_RESULTS_PREFIX)) == (BUCKET, True)
    assert json.loads(stored["Body"].read()) == large_answer(None)
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"].endswith(encrypted_bucket)) == (
        "aws:kms",
        True,
    )


def test_the_outcome_of_a_large_result_tells_subscribers_where_it_is(app, world, context):
    with_model(app, large_answer)
    world.put("a.txt", b"text")

    app.handler(s3_event(s3_record("a.txt")), context)

    [envelope] = world.outcomes()
    body = json.loads(envelope["Message"])
    assert body["prediction_uri"] == world.item("a.txt")["prediction_uri"] and body["prediction"] is None


def test_a_redelivered_large_result_writes_one_object_and_changes_nothing(app, world, context):
    with_model(app, large_answer)
    world.put("a.txt", b"text")
    event = sqs_event(s3_event(s3_record("a.txt")))
    app.handler(event, context)
    first = world.item("a.txt")

    assert app.handler(event, context) == {"batchItemFailures": []}

    results = world.s3.list_objects_v2(Bucket=BUCKET, Prefix=contract.DEFAULT_LARGE_RESULTS_PREFIX)[
        "Contents"
    ]
    assert world.item("a.txt") == first and len(results) == 1


# --- model versions that re-score ---------------------------------------------------------------------
def deployed(make_app, version, started_at, label):
    """An execution environment of the function with MODEL_VERSION `version`, started at `started_at`."""
    app = make_app(**{contract.ENV_MODEL_NAME: "sentiment", contract.ENV_MODEL_VERSION: version})
    app.ENVIRONMENT_STARTED_AT = started_at
    with_model(app, lambda document: {"label": label})
    return app


def test_a_newer_model_version_re_scores_a_redelivered_event(make_app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt"))
    deployed(make_app, "v1", 1_000, "old").handler(event, context)

    deployed(make_app, "v2", 2_000, "new").handler(event, context)

    item = world.item("a.txt")
    assert (item["model_version"], item["prediction"], item[contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE]) == (
        "v2",
        {"label": "new"},
        2_000,
    )


def test_an_older_model_versions_straggler_does_not_undo_the_re_score(make_app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt"))
    deployed(make_app, "v2", 2_000, "new").handler(event, context)

    response = deployed(make_app, "v1", 1_000, "old").handler(event, context)

    assert response["objects"][0]["disposition"] == "unchanged"
    assert (world.item("a.txt")["model_version"], world.item("a.txt")["prediction"]) == (
        "v2",
        {"label": "new"},
    )


def test_the_same_model_version_in_a_later_environment_writes_nothing(make_app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt"))
    deployed(make_app, "v1", 1_000, "first").handler(event, context)
    first = world.item("a.txt")

    deployed(make_app, "v1", 5_000, "second").handler(event, context)

    assert world.item("a.txt") == first


def test_an_older_event_scored_by_a_newer_model_version_keeps_the_newer_event(make_app, world, context):
    world.put("a.txt", b"text")
    deployed(make_app, "v1", 1_000, "newer event").handler(
        s3_event(s3_record("a.txt", sequencer="0056")), context
    )

    deployed(make_app, "v2", 2_000, "older event").handler(
        s3_event(s3_record("a.txt", sequencer="0055")), context
    )

    assert world.item("a.txt")["prediction"] == {"label": "newer event"}


def test_an_unsequenced_event_never_re_scores(make_app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt", sequencer=None))
    deployed(make_app, "v1", 1_000, "first").handler(event, context)

    deployed(make_app, "v2", 2_000, "second").handler(event, context)

    assert world.item("a.txt")["prediction"] == {"label": "first"}


def test_a_re_score_is_published_with_the_new_model_version(make_app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt"))
    deployed(make_app, "v1", 1_000, "old").handler(event, context)
    world.outcomes()

    deployed(make_app, "v2", 2_000, "new").handler(event, context)

    [envelope] = world.outcomes()
    assert json.loads(envelope["Message"])["model_version"] == "v2"


# --- the outcome's model fields -----------------------------------------------------------------------
def test_the_outcome_names_the_model_and_version_in_its_body_and_the_model_in_an_attribute(
    make_app, world, context
):
    app = make_app(
        **{contract.ENV_MODEL_NAME: "sentiment", contract.ENV_MODEL_VERSION: "sha256:3f2a9c1b0d4e5f60"}
    )
    world.put("a.txt", b"text")

    app.handler(s3_event(s3_record("a.txt")), context)

    [envelope] = world.outcomes()
    body = json.loads(envelope["Message"])
    assert (body["model"], body["model_version"]) == ("sentiment", "sha256:3f2a9c1b0d4e5f60")
    assert envelope["MessageAttributes"][contract.MESSAGE_ATTRIBUTE_MODEL]["Value"] == "sentiment"


def test_each_environment_records_when_it_started():
    app = load_app(function_env())
    assert isinstance(app.ENVIRONMENT_STARTED_AT, int) and app.ENVIRONMENT_STARTED_AT > 1_700_000_000_000


# --- clients and the chain's worst case ---------------------------------------------------------------
def test_every_client_pool_holds_a_connection_for_every_worker(world):
    app = load_app(function_env(**{contract.ENV_MAX_WORKERS: "48"}))
    clients = app.create_clients()
    pools = {
        name: getattr(clients, name).meta.config.max_pool_connections for name in ("s3", "dynamodb", "sns")
    }
    assert pools == dict.fromkeys(pools, 48)
    assert clients.sagemaker_runtime.meta.config.max_pool_connections == 48


def test_one_objects_worst_case_chain_with_a_large_result_fits_the_minimum_function_timeout():
    timeouts = load_app(function_env()).CLIENT_TIMEOUTS
    chain = ("s3", "sagemaker-runtime", "s3", "dynamodb", "sns")  # get, invoke, large result, item, publish
    assert (
        sum(timeouts[service].worst_case_seconds() for service in chain)
        <= contract.HANDLER_MIN_TIMEOUT_SECONDS
    )


def test_the_retry_reserve_counts_the_large_result_write():
    app = load_app(function_env())
    after_model = ("sagemaker-runtime", "s3", "dynamodb", "sns")
    assert (
        sum(app.CLIENT_TIMEOUTS[s].worst_case_seconds() for s in after_model)
        == app.MODEL_RETRY_RESERVE_SECONDS
    )
