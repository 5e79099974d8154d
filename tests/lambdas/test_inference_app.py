"""The deployed handler end to end against moto: every route's event shape, every per-object outcome, the
model under throttling and failing batches, the function's route, the trigger-specific failure reporting,
redelivery and ordering, cold-start configuration."""

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import APP_MODULE, ENDPOINT, TABLE, environment, function_env, load_app
from inference_fakes import (
    BUCKET,
    ROUTE,
    S3_TEST_EVENT,
    CallRecorder,
    FakeModel,
    client_error,
    echo_model,
    eventbridge_event,
    s3_event,
    s3_record,
    sns_envelope,
    sns_event,
    sqs_event,
)

from lambdas.inference import contract
from lambdas.inference.settings import ConfigError

PACKAGE_DIR = Path(contract.__file__).parent


def with_model(app, respond):
    """Serve InvokeEndpoint from `respond` instead of moto (for per-input answers and error shapes)."""
    app.clients = replace(app.clients, sagemaker_runtime=FakeModel(respond))
    return app.clients.sagemaker_runtime


def outcome_attributes(world):
    return sorted(
        (
            json.loads(n["Message"])["pk"],
            n["MessageAttributes"]["status"]["Value"],
            n["MessageAttributes"]["route"]["Value"],
        )
        for n in world.outcomes()
    )


# --- each route's event shape ---------------------------------------------------------------------------
ROUTE_EVENTS = {
    "direct S3": lambda key: s3_event(s3_record(key)),
    "SNS": lambda key: sns_event(s3_event(s3_record(key))),
    "SQS (S3 → SQS or raw SNS delivery)": lambda key: sqs_event(s3_event(s3_record(key))),
    "SQS (SNS envelope)": lambda key: sqs_event(sns_envelope(s3_event(s3_record(key)))),
    "EventBridge": eventbridge_event,
    "SQS (EventBridge)": lambda key: sqs_event(eventbridge_event(key)),
}


@pytest.mark.parametrize("shape", ROUTE_EVENTS)
def test_each_route_shape_ends_as_a_completed_item_scored_by_the_endpoint(app, world, shape, context):
    world.put("docs/report.txt", b"quarterly numbers")
    world.queue_model_results([{"label": "POSITIVE", "score": 0.75}])

    app.handler(ROUTE_EVENTS[shape]("docs/report.txt"), context)

    item = world.item("docs/report.txt")
    assert (item["status"], item["route"], item["endpoint"]) == ("completed", ROUTE, ENDPOINT)
    assert json.loads(json.dumps(item["prediction"], default=float)) == [{"label": "POSITIVE", "score": 0.75}]


def test_a_completed_item_holds_exactly_the_contract_attributes(app, world, context):
    world.put("a.txt", b"text")
    app.handler(s3_event(s3_record("a.txt", size=4)), context)
    assert set(world.item("a.txt")) == {
        *contract.RESULT_ATTRIBUTES,
        "model",
        "model_version",
        contract.SEQUENCER_ORDER_ATTRIBUTE,
        contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE,
    }


def test_an_outcome_is_published_with_status_and_route_attributes(app, world, context):
    world.put("a.txt", b"text")
    app.handler(sqs_event(s3_event(s3_record("a.txt"), s3_record("gone.txt"))), context)
    assert outcome_attributes(world) == [
        (f"s3://{BUCKET}/a.txt", "completed", ROUTE),
        (f"s3://{BUCKET}/gone.txt", "missing", ROUTE),
    ]


def test_the_async_handler_returns_a_summary_of_each_object(app, world, context):
    world.put("a.txt", b"text")
    response = app.handler(s3_event(s3_record("a.txt")), context)
    assert response == {
        "objects": [
            {
                "object_uri": f"s3://{BUCKET}/a.txt",
                "disposition": "written",
                "status": "completed",
                "reason": None,
            }
        ]
    }


# --- keys -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key", ["dir/with space.txt", "plus+sign.txt", "ünïcødé/文字 ✓.txt", "100% sure.txt"]
)
def test_notification_keys_are_decoded_to_the_real_object(app, world, key, context):
    world.put(key, b"text")
    app.handler(sqs_event(s3_event(s3_record(key))), context)
    assert world.item(key)["status"] == "completed"


def test_an_encoded_eventbridge_key_is_read_decoded(app, world, context):
    world.put("my file.txt", b"text")
    app.handler(eventbridge_event("my+file.txt"), context)
    assert world.item("my file.txt")["status"] == "completed"


def test_an_unencoded_eventbridge_key_is_read_as_given(app, world, context):
    world.put("a+b c.txt", b"text")
    app.handler(eventbridge_event("a+b c.txt"), context)
    assert world.item("a+b c.txt")["status"] == "completed" and world.item("a b c.txt") is None


# --- per-object outcomes --------------------------------------------------------------------------------
def test_a_missing_object_is_recorded_missing(app, world, context):
    app.handler(s3_event(s3_record("gone.txt")), context)
    item = world.item("gone.txt")
    assert (item["status"], item["reason"]) == (contract.STATUS_MISSING, contract.REASON_NO_SUCH_KEY)


def test_an_object_larger_than_the_limit_is_rejected_too_large(app, world, context):
    world.put("big.txt", b"x" * 5000)
    app.handler(s3_event(s3_record("big.txt")), context)  # the limit in these tests is 1024 bytes
    item = world.item("big.txt")
    assert (item["status"], item["reason"], item["size"]) == ("rejected", contract.REASON_TOO_LARGE, 5000)


def test_malformed_json_is_rejected(app, world, context):
    world.put("data/bad.json", b'{"inputs": "unterminated')
    app.handler(s3_event(s3_record("data/bad.json")), context)
    assert world.item("data/bad.json")["reason"] == contract.REASON_MALFORMED_JSON


def test_a_json_object_is_sent_to_the_model_as_is(app, world, context):
    world.put("data/q.json", b'{"inputs": "q", "parameters": {"top_k": 3}}')
    model = with_model(app, echo_model)
    app.handler(s3_event(s3_record("data/q.json")), context)
    assert model.requests == [{"inputs": "q", "parameters": {"top_k": 3}}]
    assert world.item("data/q.json")["status"] == "completed"


def test_binary_content_is_rejected_as_not_text(app, world, context):
    world.put("img.png", b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    app.handler(s3_event(s3_record("img.png")), context)
    assert world.item("img.png")["reason"] == contract.REASON_NOT_TEXT


def test_an_empty_object_is_recorded_rejected_as_empty(app, world, context):
    world.put("empty.txt", b"")
    model = with_model(app, echo_model)
    app.handler(s3_event(s3_record("empty.txt", size=0)), context)
    item = world.item("empty.txt")
    assert (item["status"], item["reason"], item["size"]) == ("rejected", contract.REASON_EMPTY_OBJECT, 0)
    assert model.requests == []


def test_a_folder_marker_is_skipped_without_reading_or_writing(app, world, context):
    world.put("docs/2024/", b"")
    s3 = CallRecorder(app.clients.s3)
    app.clients = replace(app.clients, s3=s3)
    response = app.handler(sqs_event(s3_event(s3_record("docs/2024/", size=0))), context)
    assert response == {"batchItemFailures": []}
    assert (s3.calls, world.items(), world.outcomes()) == ([], [], [])


def test_a_model_client_error_is_recorded_failed_and_not_retried(app, world, context):
    def reject(document):
        raise client_error("ModelError", "InvokeEndpoint", 424, OriginalStatusCode=422, OriginalMessage="no")

    world.put("a.txt", b"text")
    with_model(app, reject)
    response = app.handler(sqs_event(s3_event(s3_record("a.txt"))), context)
    assert response == {"batchItemFailures": []}
    assert (world.item("a.txt")["status"], world.item("a.txt")["reason"]) == (
        "failed",
        contract.REASON_MODEL_ERROR,
    )


def test_throttling_on_3_of_10_sqs_records_fails_exactly_those_and_writes_the_other_7(app, world, context):
    throttled = {"doc3", "doc5", "doc8"}

    def respond(document):
        if document["inputs"] in throttled:
            raise client_error("ThrottlingException", "InvokeEndpoint", 400)
        return echo_model(document)

    for index in range(10):
        world.put(f"doc{index}.txt", f"doc{index}".encode())
    with_model(app, respond)
    event = sqs_event(
        *(s3_event(s3_record(f"doc{i}.txt")) for i in range(10)), ids=[f"m{i}" for i in range(10)]
    )

    response = app.handler(event, context)

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["m3", "m5", "m8"]
    assert sorted(item["pk"]["S"] for item in world.items()) == sorted(
        f"s3://{BUCKET}/doc{i}.txt" for i in range(10) if f"doc{i}" not in throttled
    )


def test_batched_model_calls_keep_sqs_partial_failures_per_record(world, handler_clients, context):
    app = load_app(
        function_env(
            **{contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn, contract.ENV_MODEL_MAX_BATCH_SIZE: "10"}
        )
    )
    app.clients = handler_clients
    model = with_model(app, echo_model)
    for index in range(4):
        world.put(f"doc{index}.txt", f"doc{index}".encode())

    response = app.handler(sqs_event(*(s3_event(s3_record(f"doc{i}.txt")) for i in range(4))), context)

    assert response == {"batchItemFailures": []}
    assert len(model.requests) == 1 and sorted(model.requests[0]["inputs"]) == [f"doc{i}" for i in range(4)]
    assert {world.item(f"doc{i}.txt")["prediction"]["label"] for i in range(4)} == {
        f"doc{i}" for i in range(4)
    }


# --- the model under load, and batches it fails -------------------------------------------------------
def poisoned(document):
    """A Hugging Face-like model whose container fails (500) any request holding the input "doc3"."""
    inputs = document["inputs"]
    if "doc3" in inputs:
        raise client_error(
            "ModelError", "InvokeEndpoint", 424, OriginalStatusCode=500, OriginalMessage="boom"
        )
    if isinstance(inputs, list):
        return [{"label": text, "score": 0.5} for text in inputs]
    return [{"label": inputs, "score": 0.5}]


def test_one_input_the_model_keeps_failing_fails_only_its_own_sqs_record(make_app, world, context):
    app = make_app(**{contract.ENV_MODEL_MAX_BATCH_SIZE: "10"})
    model = with_model(app, poisoned)
    for index in range(10):
        world.put(f"doc{index}.txt", f"doc{index}".encode())
    event = sqs_event(
        *(s3_event(s3_record(f"doc{i}.txt")) for i in range(10)), ids=[f"m{i}" for i in range(10)]
    )

    response = app.handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    assert world.item("doc3.txt") is None
    # Every other object keeps the prediction an unsplit batch gives it: its element, not a list.
    assert {world.item(f"doc{i}.txt")["prediction"]["label"] for i in range(10) if i != 3} == {
        f"doc{i}" for i in range(10) if i != 3
    }
    assert all(isinstance(r["inputs"], list) for r in model.requests)


def test_throttling_is_absorbed_by_pauses_within_the_invocation(app, world, context):
    calls = []

    def busy_then_free(document):
        calls.append(document)
        if len(calls) <= 2:
            raise client_error("ThrottlingException", "InvokeEndpoint", 400)
        return echo_model(document)

    world.put("a.txt", b"text")
    with_model(app, busy_then_free)

    app.handler(s3_event(s3_record("a.txt")), context)

    assert world.item("a.txt")["status"] == "completed"
    assert len(context.sleeps) == 2


def test_a_container_429_is_absorbed_like_throttling_not_recorded_failed(app, world, context):
    calls = []

    def overloaded_once(document):
        calls.append(document)
        if len(calls) == 1:
            raise client_error(
                "ModelError", "InvokeEndpoint", 424, OriginalStatusCode=429, OriginalMessage="busy"
            )
        return echo_model(document)

    world.put("a.txt", b"text")
    with_model(app, overloaded_once)
    app.handler(s3_event(s3_record("a.txt")), context)
    assert world.item("a.txt")["status"] == "completed"


def test_throttling_that_outlasts_the_invocation_gives_up_while_the_chain_still_fits_the_timeout(
    app, world, context
):
    def always_throttled(document):
        raise client_error("ThrottlingException", "InvokeEndpoint", 400)

    world.put("a.txt", b"text")
    with_model(app, always_throttled)

    with pytest.raises(app.EventNotProcessedError, match="ThrottlingException"):
        app.handler(s3_event(s3_record("a.txt")), context)

    # Every pause left a worst-case invoke, write and publish inside the function timeout.
    assert context.sleeps and min(context.left_after_sleeps) >= app.MODEL_RETRY_RESERVE_SECONDS
    assert world.item("a.txt") is None


def test_an_objects_first_model_call_at_the_minimum_timeout_has_the_retry_reserve_left():
    app = load_app(function_env())
    worst_read = app.CLIENT_TIMEOUTS["s3"].worst_case_seconds()
    assert worst_read + app.MODEL_RETRY_RESERVE_SECONDS <= contract.HANDLER_MIN_TIMEOUT_SECONDS


# --- ordering and idempotency ---------------------------------------------------------------------------
def test_redelivering_the_same_event_leaves_one_unchanged_item(app, world, context):
    world.put("a.txt", b"text")
    event = sqs_event(s3_event(s3_record("a.txt", sequencer="0055AED6DCD90281E5")))
    app.handler(event, context)
    first = world.item("a.txt")

    response = app.handler(event, context)

    assert response == {"batchItemFailures": []}
    assert len(world.items()) == 1 and world.item("a.txt") == first


def test_an_older_sequencer_after_a_newer_one_keeps_the_newer_result(app, world, context):
    world.put("a.txt", b"text")
    with_model(app, lambda document: {"label": "newer"})
    app.handler(s3_event(s3_record("a.txt", sequencer="0056000000000000FF")), context)
    with_model(app, lambda document: {"label": "older"})

    app.handler(s3_event(s3_record("a.txt", sequencer="0055AED6DCD90281E5FF")), context)

    item = world.item("a.txt")
    assert (item["sequencer"], item["prediction"]) == ("0056000000000000FF", {"label": "newer"})


def test_a_newer_sequencer_replaces_an_older_result(app, world, context):
    world.put("a.txt", b"text")
    with_model(app, lambda document: {"label": "older"})
    app.handler(s3_event(s3_record("a.txt", sequencer="0055AED6DCD90281E5FF")), context)
    with_model(app, lambda document: {"label": "newer"})

    app.handler(s3_event(s3_record("a.txt", sequencer="0056000000000000FF")), context)

    assert world.item("a.txt")["prediction"] == {"label": "newer"}


def test_a_redelivery_after_a_lost_publish_publishes_the_outcome(app, world, context):
    world.put("a.txt", b"text")
    event = s3_event(s3_record("a.txt"))
    real_sns = app.clients.sns
    app.clients = replace(app.clients, sns=None)  # the first attempt cannot publish at all
    with pytest.raises(app.EventNotProcessedError, match="not published"):
        app.handler(event, context)
    assert world.item("a.txt")["status"] == "completed" and world.outcomes() == []

    app.clients = replace(app.clients, sns=real_sns)
    app.handler(event, context)

    assert outcome_attributes(world) == [(f"s3://{BUCKET}/a.txt", "completed", ROUTE)]


# --- the function's route ------------------------------------------------------------------------------
def test_an_sqs_record_for_another_bucket_fails_alone_and_touches_nothing(app, world, context):
    world.s3.create_bucket(Bucket="other-bucket")
    world.s3.put_object(Bucket="other-bucket", Key="a.txt", Body=b"not ours")
    world.put("b.txt", b"ours")
    app.clients = replace(app.clients, s3=CallRecorder(app.clients.s3))
    event = sqs_event(
        s3_event(s3_record("a.txt", bucket="other-bucket")),
        s3_event(s3_record("b.txt")),
        ids=["theirs", "ours"],
    )

    response = app.handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "theirs"}]}
    assert [item["pk"]["S"] for item in world.items()] == [f"s3://{BUCKET}/b.txt"]
    assert app.clients.s3.calls == ["get_object"]  # b.txt only


def test_an_event_for_another_routes_prefix_raises_and_leaves_that_routes_item_alone(
    make_app, world, context
):
    # The `data` function (data/*.json) receives an event for the `uploads` route's object.
    world.put("uploads/a.json", b'{"inputs": "theirs"}')
    uploads_item = {"pk": {"S": f"s3://{BUCKET}/uploads/a.json"}, "status": {"S": "completed"}}
    world.dynamodb.put_item(TableName=TABLE, Item=uploads_item)
    data = make_app(**{contract.ENV_ROUTE_PREFIX: "data/", contract.ENV_ROUTE_SUFFIX: ".json"})
    recorders = {name: CallRecorder(getattr(data.clients, name)) for name in ("s3", "dynamodb", "sns")}
    data.clients = replace(data.clients, **recorders)

    with pytest.raises(data.EventNotProcessedError, match="outside this function's route"):
        data.handler(s3_event(s3_record("uploads/a.json")), context)

    assert world.items() == [uploads_item] and world.outcomes() == []
    assert {name: recorder.calls for name, recorder in recorders.items()} == {
        "s3": [],
        "dynamodb": [],
        "sns": [],
    }


def test_an_sqs_batch_invoked_on_an_async_routes_function_raises_instead_of_answering_a_batch(
    make_app, world, context
):
    # Answered with a partial batch response, an async invoke would count as a success: the event lost.
    world.put("a.txt", b"text")
    uploads = make_app(**{contract.ENV_ROUTE_VIA: "sns"})
    recorders = {name: CallRecorder(getattr(uploads.clients, name)) for name in ("s3", "dynamodb", "sns")}
    uploads.clients = replace(uploads.clients, **recorders)

    with pytest.raises(uploads.EventNotProcessedError, match="an SQS batch reached the function of sns"):
        uploads.handler(sqs_event(s3_event(s3_record("a.txt"))), context)

    assert world.items() == [] and {name: r.calls for name, r in recorders.items()} == {
        "s3": [],
        "dynamodb": [],
        "sns": [],
    }


def test_a_refused_object_is_logged_as_a_permanent_failure_naming_it(make_app, world, caplog, context):
    data = make_app(**{contract.ENV_ROUTE_PREFIX: "data/"})
    with caplog.at_level("ERROR", logger=data.logger.service), pytest.raises(data.EventNotProcessedError):
        data.handler(eventbridge_event("uploads/ü b+c.txt"), context)
    [record] = [r for r in caplog.records if r.name == data.logger.service and r.levelname == "ERROR"]
    assert record.getMessage().startswith("refused (permanent failure)")
    # The URI of the decoded key, as every other log line and results item names an object.
    assert (record.object_uri, record.route) == (f"s3://{BUCKET}/uploads/ü b c.txt", ROUTE)


def test_an_event_under_the_route_prefix_is_processed(make_app, world, context):
    key = "data/ünï côdé+1.json"
    world.put(key, b'{"inputs": "ours"}')
    data = make_app(**{contract.ENV_ROUTE_PREFIX: "data/", contract.ENV_ROUTE_SUFFIX: ".json"})
    with_model(data, echo_model)
    data.handler(sqs_event(s3_event(s3_record(key))), context)
    assert world.item(key)["status"] == "completed"


def test_an_s3_test_event_for_another_bucket_is_acknowledged_without_writing(app, world, context):
    test_event = {**S3_TEST_EVENT, "Bucket": "other-bucket"}
    assert app.handler(sqs_event(test_event), context) == {"batchItemFailures": []}
    assert world.items() == []


# --- failure reporting per trigger ----------------------------------------------------------------------
def test_an_async_event_with_a_transient_object_raises_after_writing_the_others(app, world, context):
    world.put("ok.txt", b"fine")
    world.put("slow.txt", b"slow")

    def respond(document):
        if document["inputs"] == "slow":
            raise client_error("ServiceUnavailable", "InvokeEndpoint", 503)
        return echo_model(document)

    with_model(app, respond)
    with pytest.raises(app.EventNotProcessedError, match=r"slow\.txt"):
        app.handler(s3_event(s3_record("ok.txt"), s3_record("slow.txt")), context)
    assert world.item("ok.txt")["status"] == "completed" and world.item("slow.txt") is None


def test_an_unrecognisable_sqs_record_fails_alone(app, world, context):
    world.put("a.txt", b"text")
    response = app.handler(sqs_event("not json", s3_event(s3_record("a.txt")), ids=["bad", "good"]), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert world.item("a.txt")["status"] == "completed"


def test_an_sqs_batch_where_every_record_fails_reports_each_record(app, context):
    response = app.handler(sqs_event("junk", "more junk", ids=["a", "b"]), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}


def test_an_unrecognisable_sns_message_raises_so_the_event_reaches_the_dlq(app, world, context):
    with pytest.raises(app.EventNotProcessedError, match="not JSON"):
        app.handler(sns_event("Hello from SNS!"), context)


def test_an_event_that_is_no_notification_at_all_raises(app, context):
    with pytest.raises(app.EventNotProcessedError, match="unrecognisable event"):
        app.handler({"invocationSchemaVersion": "1.0", "tasks": []}, context)


def test_an_s3_test_event_is_acknowledged_without_writing(app, world, context):
    assert app.handler(sqs_event(S3_TEST_EVENT), context) == {"batchItemFailures": []}
    assert app.handler(S3_TEST_EVENT, context) == {"objects": []}
    assert world.items() == []


def test_an_object_removed_event_is_skipped_without_writing(app, world, context):
    response = app.handler(s3_event(s3_record("a.txt", event_name="ObjectRemoved:Delete")), context)
    assert response == {"objects": []} and world.items() == []


def test_every_log_line_names_the_route_and_object_lines_name_the_object(app, world, caplog, context):
    world.put("a.txt", b"text")
    removed = s3_record("gone.txt", event_name="ObjectRemoved:Delete")
    with caplog.at_level("INFO", logger=app.logger.service):
        app.handler(sqs_event(s3_event(s3_record("a.txt"), removed)), context)
    records = [r for r in caplog.records if r.name == app.logger.service]
    assert records and all(r.route == ROUTE for r in records)
    assert {r.object_uri for r in records if getattr(r, "object_uri", None)} == {
        f"s3://{BUCKET}/a.txt",
        f"s3://{BUCKET}/gone.txt",
    }


# --- cold start and configuration -----------------------------------------------------------------------
def test_a_missing_required_variable_fails_the_cold_start_naming_it():
    with pytest.raises(ConfigError, match=contract.ENV_RESULTS_TABLE):
        load_app({**function_env(), contract.ENV_RESULTS_TABLE: None})


def test_clients_are_created_on_the_first_invocation_and_reused(world, context):
    app = load_app(function_env(**{contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn}))
    assert app.clients is None
    app.handler(S3_TEST_EVENT, context)
    created = app.clients
    app.handler(S3_TEST_EVENT, context)
    assert created is not None and app.clients is created


def test_client_timeouts_and_retries_are_explicit(handler_clients):
    config = handler_clients.sagemaker_runtime.meta.config
    expected = load_app(function_env()).CLIENT_TIMEOUTS["sagemaker-runtime"]
    assert (config.connect_timeout, config.read_timeout) == (expected.connect, expected.read)
    assert config.retries == {"mode": "standard", "total_max_attempts": expected.attempts}


def test_one_objects_worst_case_call_chain_fits_the_minimum_function_timeout():
    timeouts = load_app(function_env()).CLIENT_TIMEOUTS
    assert sum(t.worst_case_seconds() for t in timeouts.values()) <= contract.HANDLER_MIN_TIMEOUT_SECONDS


def test_two_module_instances_keep_their_own_settings_and_credentials(world):
    a = load_app(function_env(**{contract.ENV_ROUTE_NAME: "alpha", "AWS_ACCESS_KEY_ID": "AKIAALPHA"}))
    b = load_app(function_env(**{contract.ENV_ROUTE_NAME: "beta", "AWS_ACCESS_KEY_ID": "AKIABETA"}))
    assert (a.SETTINGS.route, b.SETTINGS.route) == ("alpha", "beta")
    assert a.create_clients().s3._request_signer._credentials.access_key == "AKIAALPHA"
    assert b._session.get_credentials().access_key == "AKIABETA"


def test_two_module_instances_write_to_their_own_tables_side_by_side(world, handler_clients, context):
    world.dynamodb.create_table(
        TableName="results-beta",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    world.put("a.txt", b"text")
    topic = {contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn}
    alpha = load_app(function_env(**topic, **{contract.ENV_ROUTE_NAME: "alpha"}))
    beta = load_app(
        function_env(**topic, **{contract.ENV_ROUTE_NAME: "beta", contract.ENV_RESULTS_TABLE: "results-beta"})
    )
    alpha.clients = beta.clients = handler_clients

    alpha.handler(s3_event(s3_record("a.txt")), context)
    beta.handler(s3_event(s3_record("a.txt")), context)

    routes = {
        table: [item["route"]["S"] for item in world.dynamodb.scan(TableName=table)["Items"]]
        for table in (TABLE, "results-beta")
    }
    assert routes == {TABLE: ["alpha"], "results-beta": ["beta"]}


def test_loading_an_instance_leaves_the_process_environment_as_it_was():
    with environment({contract.ENV_ROUTE_NAME: None}):
        load_app(function_env())
        import os  # noqa: PLC0415

        assert contract.ENV_ROUTE_NAME not in os.environ


def test_the_handler_package_imports_nothing_from_infra_or_pulumi():
    imported = set()
    for path in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert not imported & {"infra", "pulumi", "pulumi_aws", "localrun"}


def test_the_handler_string_names_this_module():
    assert f"{APP_MODULE}.handler" == contract.HANDLER


def test_importing_the_handler_defers_the_processing_modules_to_the_first_invocation():
    # Cold start: only settings, logger and the botocore session are paid for at import.
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    deferred = [f"{APP_MODULE.rpartition('.')[0]}.{name}" for name in ("pipeline", "events", "adapters")] + [
        "boto3",
        "aws_lambda_powertools.utilities.batch",
    ]
    code = f"import sys, {APP_MODULE}; print([m for m in {deferred!r} if m in sys.modules])"
    completed = subprocess.run(  # noqa: S603 - our own interpreter importing our own module
        [sys.executable, "-c", code],
        env={**os.environ, **function_env()},
        cwd=PACKAGE_DIR.parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == "[]"
