"""The pipeline with in-process fake clients: isolation, batching, publishing and redelivery rules."""

import json
import logging
import threading

import pytest
from inference_fakes import (
    BUCKET,
    ROUTE,
    FakeModel,
    FakeS3,
    FakeTable,
    FakeTopic,
    client_error,
    echo_model,
    settings,
)

from lambdas.inference import contract
from lambdas.inference.domain import ObjectRef, full_jitter_delay, sequencer_order
from lambdas.inference.pipeline import (
    MAX_THROTTLED_RETRIES,
    TRANSIENT,
    UNCHANGED,
    WRITTEN,
    Clients,
    Deadline,
    process,
)


def ref(key, *, size=None, sequencer="0055AED6DCD90281E5", fallback_key=None, version_id=None):
    return ObjectRef(
        BUCKET, key, version_id, "etag", size, sequencer, "2024-05-01T12:00:00Z", ROUTE, fallback_key
    )


def world(objects=None, *, model=echo_model, s3_errors=None, table=None, topic=None):
    return Clients(
        s3=FakeS3(objects or {}, s3_errors),
        sagemaker_runtime=model if isinstance(model, FakeModel) else FakeModel(model),
        dynamodb=table or FakeTable(),
        sns=topic or FakeTopic(),
    )


def texts(n, prefix="t"):
    return {f"{prefix}{index}.txt": f"{prefix}{index}".encode() for index in range(n)}


def model_error(status):
    return client_error(
        "ModelError", "InvokeEndpoint", 424, OriginalStatusCode=status, OriginalMessage="bad input"
    )


def status_of(clients, key):
    return clients.dynamodb.items[f"s3://{BUCKET}/{key}"]["status"]["S"]


# --- one object ----------------------------------------------------------------------------------------
def test_an_object_is_read_scored_written_and_published():
    clients = world({"a.txt": b"hello"})
    [outcome] = process([ref("a.txt")], clients, settings())
    assert (outcome.disposition, outcome.result.status, outcome.published) == (WRITTEN, "completed", True)
    item = clients.dynamodb.items[f"s3://{BUCKET}/a.txt"]
    assert item["prediction"]["M"]["label"] == {"S": "hello"}
    assert json.loads(clients.sns.messages[0]["Message"])["status"] == "completed"


def test_the_write_is_conditional_on_the_sequencer():
    clients = world({"a.txt": b"hello"})
    process([ref("a.txt")], clients, settings())
    request = clients.dynamodb.calls[0]
    assert "#order < :order" in request["ConditionExpression"]
    assert request["ExpressionAttributeValues"][":order"] == {"S": sequencer_order("0055AED6DCD90281E5")}


def test_an_event_without_sequencer_only_writes_a_new_item():
    clients = world({"a.txt": b"hello"})
    process([ref("a.txt", sequencer=None)], clients, settings())
    assert clients.dynamodb.calls[0]["ConditionExpression"] == "attribute_not_exists(#pk)"


def test_the_event_version_is_read():
    clients = world({"a.txt": b"hello"})
    process([ref("a.txt", version_id="v7")], clients, settings())
    assert clients.s3.calls[0]["VersionId"] == "v7"


def test_a_missing_object_is_recorded_missing():
    clients = world({})
    [outcome] = process([ref("gone.txt")], clients, settings())
    assert (outcome.result.status, outcome.result.reason) == (
        contract.STATUS_MISSING,
        contract.REASON_NO_SUCH_KEY,
    )
    assert status_of(clients, "gone.txt") == "missing"


def test_an_object_the_event_says_is_too_large_is_rejected_without_reading_it():
    clients = world({"big.txt": b"x" * 2000})
    [outcome] = process([ref("big.txt", size=2000)], clients, settings(max_object_bytes=1024))
    assert (outcome.result.status, outcome.result.reason) == (
        contract.STATUS_REJECTED,
        contract.REASON_TOO_LARGE,
    )
    assert clients.s3.calls == []


def test_an_object_s3_says_is_too_large_is_rejected_without_downloading_its_body():
    clients = world({"big.txt": b"x" * 2000})
    [outcome] = process([ref("big.txt")], clients, settings(max_object_bytes=1024))
    assert outcome.result.reason == contract.REASON_TOO_LARGE
    assert clients.s3.bodies[0].bytes_read == 0 and clients.s3.bodies[0].closed


def test_an_empty_object_is_rejected_empty_without_calling_the_model():
    clients = world({"empty.txt": b""})
    [outcome] = process([ref("empty.txt", size=0)], clients, settings())
    assert (outcome.result.status, outcome.result.reason) == (
        contract.STATUS_REJECTED,
        contract.REASON_EMPTY_OBJECT,
    )
    assert clients.sagemaker_runtime.requests == [] and status_of(clients, "empty.txt") == "rejected"


def test_an_archived_object_is_rejected():
    clients = world({}, s3_errors={"cold.txt": client_error("InvalidObjectState", "GetObject", 403)})
    [outcome] = process([ref("cold.txt")], clients, settings())
    assert outcome.result.reason == contract.REASON_ARCHIVED


def test_a_model_client_error_is_recorded_failed():
    def respond(document):
        raise model_error(400)

    [outcome] = process([ref("a.txt")], world({"a.txt": b"x"}, model=respond), settings())
    assert (outcome.result.status, outcome.result.reason) == (
        contract.STATUS_FAILED,
        contract.REASON_MODEL_ERROR,
    )


def test_a_model_server_error_is_transient_and_writes_nothing():
    def respond(document):
        raise model_error(503)

    clients = world({"a.txt": b"x"}, model=respond)
    [outcome] = process([ref("a.txt")], clients, settings())
    assert outcome.disposition == TRANSIENT and clients.dynamodb.calls == [] and clients.sns.calls == []


def test_an_eventbridge_key_that_does_not_exist_decoded_is_read_as_given():
    clients = world({"a+b.txt": b"literal plus"})
    [outcome] = process([ref("a b.txt", fallback_key="a+b.txt")], clients, settings())
    assert outcome.ref.key == "a+b.txt"
    assert status_of(clients, "a+b.txt") == "completed"


def test_a_missing_object_with_a_missing_fallback_is_recorded_under_the_decoded_key():
    clients = world({})
    [outcome] = process([ref("a b.txt", fallback_key="a+b.txt")], clients, settings())
    assert outcome.result.status == "missing" and outcome.ref.key == "a b.txt"


# --- isolation and concurrency -------------------------------------------------------------------------
def test_one_object_failing_transiently_does_not_fail_the_others():
    clients = world(texts(5), s3_errors={"t2.txt": client_error("SlowDown", "GetObject", 503)})
    outcomes = process([ref(key) for key in texts(5)], clients, settings())
    assert [o.disposition for o in outcomes] == [WRITTEN, WRITTEN, TRANSIENT, WRITTEN, WRITTEN]


def test_an_unexpected_exception_fails_only_its_object():
    def respond(document):
        if document["inputs"] == "t1":
            raise RuntimeError("bug")
        return echo_model(document)

    outcomes = process([ref(key) for key in texts(3)], world(texts(3), model=respond), settings())
    assert [o.disposition for o in outcomes] == [WRITTEN, TRANSIENT, WRITTEN]
    assert "bug" in outcomes[1].error


def test_objects_are_read_concurrently():
    # Four reads must be in flight together to pass the barrier; sequential reads would break it.
    barrier = threading.Barrier(4, timeout=10)

    class MeetingS3(FakeS3):
        def get_object(self, **request):
            barrier.wait()
            return super().get_object(**request)

    clients = world()
    clients = Clients(MeetingS3(texts(4)), clients.sagemaker_runtime, clients.dynamodb, clients.sns)
    outcomes = process([ref(key) for key in texts(4)], clients, settings(max_workers=4))
    assert all(o.disposition == WRITTEN for o in outcomes)


def test_concurrency_never_exceeds_the_pool_size():
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    class CountingS3(FakeS3):
        def get_object(self, **request):
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            try:
                threading.Event().wait(0.002)
                return super().get_object(**request)
            finally:
                with lock:
                    state["now"] -= 1

    base = world()
    clients = Clients(CountingS3(texts(12)), base.sagemaker_runtime, base.dynamodb, base.sns)
    process([ref(key) for key in texts(12)], clients, settings(max_workers=3))
    assert 1 <= state["peak"] <= 3


@pytest.mark.parametrize(("workers", "model_batch"), [(2, 1), (2, 4)])
def test_objects_read_but_not_yet_scored_never_exceed_the_pool_or_model_batch_size(workers, model_batch):
    # Each of them holds its bytes in memory; without the bound every object of the batch is read first.
    lock, state = threading.Lock(), {"read": 0, "scored": 0, "peak": 0}

    class CountingS3(FakeS3):
        def get_object(self, **request):
            response = super().get_object(**request)
            with lock:
                state["read"] += 1
                state["peak"] = max(state["peak"], state["read"] - state["scored"])
            return response

    class CountingModel(FakeModel):
        def invoke_endpoint(self, **request):
            response = super().invoke_endpoint(**request)
            inputs = json.loads(request["Body"])["inputs"]
            with lock:
                state["scored"] += len(inputs) if isinstance(inputs, list) else 1
            return response

    base = world()
    clients = Clients(CountingS3(texts(12)), CountingModel(echo_model), base.dynamodb, base.sns)
    outcomes = process(
        [ref(key) for key in texts(12)],
        clients,
        settings(max_workers=workers, model_max_batch_size=model_batch),
    )
    assert all(o.disposition == WRITTEN for o in outcomes)
    assert 1 <= state["peak"] <= max(workers, model_batch)


def test_the_same_event_twice_in_one_batch_is_processed_once():
    clients = world({"a.txt": b"x"})
    outcomes = process([ref("a.txt"), ref("a.txt")], clients, settings())
    assert len(clients.s3.calls) == 1 and [o.disposition for o in outcomes] == [WRITTEN, WRITTEN]


def test_every_object_log_line_names_the_object_and_route():
    records = []
    log = logging.getLogger("test-inference-pipeline")
    log.addHandler(type("Collect", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
    log.setLevel(logging.INFO)
    clients = world(texts(2), s3_errors={"t1.txt": client_error("SlowDown", "GetObject", 503)})
    process([ref(key) for key in texts(2)], clients, settings(), log)
    assert {r.getMessage() for r in records} >= {
        "object processed",
        "object will be retried: transient failure",
    }
    assert all(r.object_uri.startswith(f"s3://{BUCKET}/t") and r.route == ROUTE for r in records)


# --- model batching ------------------------------------------------------------------------------------
def test_text_inputs_are_sent_in_chunks_of_the_batch_size():
    clients = world(texts(5))
    outcomes = process([ref(key) for key in texts(5)], clients, settings(model_max_batch_size=3))
    sizes = sorted(len(request["inputs"]) for request in clients.sagemaker_runtime.requests)
    assert sizes == [2, 3]
    assert all(o.result.status == "completed" for o in outcomes)


def test_batched_predictions_are_mapped_back_by_position():
    clients = world(texts(6))
    process([ref(key) for key in texts(6)], clients, settings(model_max_batch_size=6))
    labels = {pk: item["prediction"]["M"]["label"]["S"] for pk, item in clients.dynamodb.items.items()}
    assert labels == {f"s3://{BUCKET}/t{index}.txt": f"t{index}" for index in range(6)}


def test_a_batch_of_ten_costs_about_two_calls_per_object():
    clients = world(texts(10))
    process([ref(key) for key in texts(10)], clients, settings(model_max_batch_size=10, max_workers=10))
    calls = (
        len(clients.s3.calls),
        len(clients.sagemaker_runtime.requests),
        len(clients.dynamodb.calls),
        len(clients.sns.calls),
    )
    assert calls == (10, 1, 10, 1)


def test_json_objects_other_than_a_lone_text_input_are_sent_alone():
    objects = {"a.txt": b"a", "b.txt": b"b", "c.json": b'{"inputs": "c", "parameters": {"top_k": 1}}'}
    clients = world(objects)
    process([ref(key) for key in objects], clients, settings(model_max_batch_size=5))
    requests = clients.sagemaker_runtime.requests
    assert {"inputs": "c", "parameters": {"top_k": 1}} in requests
    assert [sorted(r["inputs"]) for r in requests if isinstance(r["inputs"], list)] == [["a", "b"]]


def labels_for_every_input(document):
    inputs = document["inputs"]
    return [{"label": "ok"} for _ in inputs] if isinstance(inputs, list) else {"label": "ok"}


def test_a_chunk_is_cut_before_its_request_would_exceed_the_model_payload_limit():
    # Two of these texts fit in one request; a third would take it over SageMaker's payload limit (the
    # serverless one, Settings' default).
    limit = contract.SERVERLESS_MAX_PAYLOAD_BYTES
    text = b"x" * (limit * 2 // 5)
    objects = {f"big{index}.txt": text for index in range(3)}
    clients = world(objects, model=labels_for_every_input)
    outcomes = process(
        [ref(key, size=len(text)) for key in objects],
        clients,
        settings(model_max_batch_size=3, max_object_bytes=limit),
    )
    assert all(o.result.status == "completed" for o in outcomes)
    requests = clients.sagemaker_runtime.requests
    assert sorted(len(r["inputs"]) if isinstance(r["inputs"], list) else 1 for r in requests) == [1, 2]
    assert all(len(json.dumps(r, separators=(",", ":"))) <= limit for r in requests)


def hugging_face_text_classification(document):
    """Answers as the HF text-classification pipeline does: one {label, score} per listed input, and a
    one-element list for a single input."""
    inputs = document["inputs"]
    if isinstance(inputs, list):
        return [{"label": text.upper(), "score": 0.5} for text in inputs]
    return [{"label": inputs.upper(), "score": 0.5}]


def test_with_batching_on_a_text_stores_the_same_prediction_whatever_the_size_of_its_chunk():
    stored, requests = {}, {}
    for model_batch in (2, 3):  # chunks of 2 and 1, or one chunk of 3
        clients = world(texts(3), model=hugging_face_text_classification)
        process([ref(key) for key in texts(3)], clients, settings(model_max_batch_size=model_batch))
        stored[model_batch] = {pk: item["prediction"] for pk, item in clients.dynamodb.items.items()}
        requests[model_batch] = clients.sagemaker_runtime.requests
    assert sorted(len(r["inputs"]) for r in requests[2]) == [1, 2]
    assert [sorted(r["inputs"]) for r in requests[3]] == [["t0", "t1", "t2"]]
    assert stored[2] == stored[3]
    assert stored[2][f"s3://{BUCKET}/t0.txt"] == {"M": {"label": {"S": "T0"}, "score": {"N": "0.5"}}}


def test_with_batching_on_a_chunk_of_one_is_sent_as_a_one_input_list():
    clients = world({"a.txt": b"a"})
    process([ref("a.txt")], clients, settings(model_max_batch_size=4))
    assert clients.sagemaker_runtime.requests == [{"inputs": ["a"]}]


def test_with_batching_off_a_text_is_sent_as_a_string_and_the_answer_stored_as_it_is():
    clients = world({"a.txt": b"a"}, model=hugging_face_text_classification)
    process([ref("a.txt")], clients, settings(model_max_batch_size=1))
    assert clients.sagemaker_runtime.requests == [{"inputs": "a"}]
    prediction = clients.dynamodb.items[f"s3://{BUCKET}/a.txt"]["prediction"]
    assert prediction == {"L": [{"M": {"label": {"S": "A"}, "score": {"N": "0.5"}}}]}


def test_a_batched_response_of_the_wrong_length_sends_each_input_alone_as_a_one_input_list():
    def respond(document):
        inputs = document["inputs"]
        return {"label": "one answer for everything"} if len(inputs) > 1 else echo_model(document)

    clients = world(texts(3), model=respond)
    outcomes = process([ref(key) for key in texts(3)], clients, settings(model_max_batch_size=3))
    assert all(o.result.status == "completed" for o in outcomes)
    requests = clients.sagemaker_runtime.requests
    assert sorted(r["inputs"] for r in requests[1:]) == [["t0"], ["t1"], ["t2"]]
    assert clients.dynamodb.items[f"s3://{BUCKET}/t1.txt"]["prediction"]["M"]["label"] == {"S": "t1"}


def test_a_model_that_does_not_batch_stores_each_text_as_with_batching_off():
    def not_batching(document):
        inputs = document["inputs"]
        return (
            {"label": "a list?"} if isinstance(inputs, list) else hugging_face_text_classification(document)
        )

    stored = {}
    for model_batch in (1, 3):
        clients = world(texts(3), model=not_batching)
        outcomes = process(
            [ref(key) for key in texts(3)], clients, settings(model_max_batch_size=model_batch)
        )
        assert all(o.result.status == "completed" for o in outcomes)
        stored[model_batch] = {pk: item["prediction"] for pk, item in clients.dynamodb.items.items()}
    assert stored[3] == stored[1]
    assert stored[3][f"s3://{BUCKET}/t0.txt"] == {"L": [{"M": {"label": {"S": "T0"}, "score": {"N": "0.5"}}}]}


def test_a_chunk_the_model_rejects_is_retried_input_by_input_so_only_the_bad_input_fails():
    def respond(document):
        inputs = document["inputs"]
        if "bad" in (inputs if isinstance(inputs, list) else [inputs]):
            raise model_error(400)
        return echo_model(document)

    objects = {"a.txt": b"a", "bad.txt": b"bad", "c.txt": b"c"}
    outcomes = process(
        [ref(key) for key in objects], world(objects, model=respond), settings(model_max_batch_size=3)
    )
    assert [o.result.status for o in outcomes] == ["completed", "failed", "completed"]


def test_a_chunk_failing_transiently_fails_only_its_own_objects():
    def respond(document):
        if "poison" in document["inputs"]:
            raise client_error("ThrottlingException", "InvokeEndpoint", 400)
        return echo_model(document)

    objects = {**texts(3), "poison.txt": b"poison"}
    clients = world(objects, model=respond)
    outcomes = process([ref(key) for key in objects], clients, settings(model_max_batch_size=2))
    failed_request = next(r["inputs"] for r in clients.sagemaker_runtime.requests if "poison" in r["inputs"])
    transient = {o.ref.key.removesuffix(".txt") for o in outcomes if o.disposition == TRANSIENT}
    assert transient == set(failed_request) and len(transient) == 2
    assert sum(o.disposition == WRITTEN for o in outcomes) == 2


def rejecting_bad(document):
    """A Hugging Face-like model whose container answers 400 to any request holding the input "bad"."""
    if "bad" in document["inputs"]:
        raise model_error(400)
    return hugging_face_text_classification(document)


def test_with_batching_on_an_input_isolated_from_a_rejected_chunk_keeps_its_batched_prediction():
    objects = {"a.txt": b"a", "bad.txt": b"bad", "c.txt": b"c"}
    clients = world(objects, model=rejecting_bad)
    process([ref(key) for key in objects], clients, settings(model_max_batch_size=3))
    assert sorted(r["inputs"] for r in clients.sagemaker_runtime.requests[1:]) == [["a"], ["bad"], ["c"]]
    # Its element of the answer, as in an unsplit chunk: {label, score}, not the one-element list.
    expected = {"M": {"label": {"S": "A"}, "score": {"N": "0.5"}}}
    assert clients.dynamodb.items[f"s3://{BUCKET}/a.txt"]["prediction"] == expected


def test_with_batching_on_a_chunk_of_one_the_model_rejects_is_failed_without_a_resend():
    clients = world({"bad.txt": b"bad"}, model=rejecting_bad)
    [outcome] = process([ref("bad.txt")], clients, settings(model_max_batch_size=4))
    assert (outcome.result.status, outcome.result.reason) == ("failed", contract.REASON_MODEL_ERROR)
    assert clients.sagemaker_runtime.requests == [{"inputs": ["bad"]}]


def test_one_input_the_model_keeps_failing_with_a_5xx_is_retried_alone_and_the_others_are_written():
    def poisoned(document):
        if "poison" in document["inputs"]:
            raise model_error(500)
        return hugging_face_text_classification(document)

    objects = {**texts(3), "poison.txt": b"poison"}
    clients = world(objects, model=poisoned)
    outcomes = process([ref(key) for key in objects], clients, settings(model_max_batch_size=4))
    assert [o.disposition for o in outcomes] == [WRITTEN, WRITTEN, WRITTEN, TRANSIENT]
    assert [o.result.status for o in outcomes[:3]] == ["completed"] * 3
    assert f"s3://{BUCKET}/poison.txt" not in clients.dynamodb.items
    assert sorted(r["inputs"] for r in clients.sagemaker_runtime.requests[1:]) == [
        ["poison"],
        ["t0"],
        ["t1"],
        ["t2"],
    ]


def test_a_chunk_throttled_by_the_container_with_429_is_never_split():
    def overloaded(document):
        raise model_error(429)

    clients = world(texts(3), model=overloaded)
    outcomes = process([ref(key) for key in texts(3)], clients, settings(model_max_batch_size=3))
    assert [o.disposition for o in outcomes] == [TRANSIENT] * 3
    assert [len(r["inputs"]) for r in clients.sagemaker_runtime.requests] == [3]


# --- throttling and the invocation's deadline ----------------------------------------------------------
RESERVE = 186.0


class Clock:
    """Simulated invocation time: a pause advances it, and the deadline reads what is left of it."""

    def __init__(self, remaining):
        self.left = remaining
        self.sleeps = []
        self.left_after_sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.left -= seconds
        self.left_after_sleeps.append(self.left)

    def deadline(self, reserve=RESERVE):
        return Deadline(remaining=lambda: self.left, reserve=reserve)


def throttled(times, error):
    """A model that raises `error()` for its first `times` calls, then answers like echo_model."""
    calls = []

    def respond(document):
        calls.append(document)
        if len(calls) <= times:
            raise error()
        return echo_model(document)

    return respond


def throttling():
    return client_error("ThrottlingException", "InvokeEndpoint", 400)


def test_a_model_error_429_is_transient_not_recorded_failed():
    clients = world({"a.txt": b"a"}, model=throttled(1, lambda: model_error(429)))
    [outcome] = process([ref("a.txt")], clients, settings())
    assert outcome.disposition == TRANSIENT and clients.dynamodb.calls == []


def test_a_throttled_call_is_retried_after_full_jitter_pauses_and_its_result_written():
    clock = Clock(remaining=RESERVE + 60)
    clients = world({"a.txt": b"a"}, model=throttled(2, throttling))
    [outcome] = process(
        [ref("a.txt")], clients, settings(), deadline=clock.deadline(), sleep=clock.sleep, jitter=lambda: 0.5
    )
    assert (outcome.disposition, outcome.result.status) == (WRITTEN, "completed")
    assert clock.sleeps == [full_jitter_delay(0, 0.5), full_jitter_delay(1, 0.5)]


def test_a_container_429_is_absorbed_like_throttling():
    clock = Clock(remaining=RESERVE + 60)
    clients = world({"a.txt": b"a"}, model=throttled(1, lambda: model_error(429)))
    [outcome] = process([ref("a.txt")], clients, settings(), deadline=clock.deadline(), sleep=clock.sleep)
    assert outcome.result.status == "completed" and len(clock.sleeps) == 1


def test_a_throttled_chunk_is_retried_whole_with_backoff():
    clock = Clock(remaining=RESERVE + 60)
    clients = world(texts(3), model=throttled(1, throttling))
    outcomes = process(
        [ref(key) for key in texts(3)],
        clients,
        settings(model_max_batch_size=3),
        deadline=clock.deadline(),
        sleep=clock.sleep,
    )
    assert all(o.result.status == "completed" for o in outcomes)
    assert [sorted(r["inputs"]) for r in clients.sagemaker_runtime.requests] == [["t0", "t1", "t2"]] * 2


def test_throttling_outlasting_the_deadline_fails_the_object_transiently_after_pauses_that_kept_the_reserve():
    # With jitter 1.0 the pauses are 0.2, 0.4, 0.8 s: the third would leave less than the reserve.
    clock = Clock(remaining=RESERVE + 1.0)
    clients = world({"a.txt": b"a"}, model=throttled(10**6, throttling))
    [outcome] = process(
        [ref("a.txt")], clients, settings(), deadline=clock.deadline(), sleep=clock.sleep, jitter=lambda: 1.0
    )
    assert outcome.disposition == TRANSIENT and clients.dynamodb.calls == []
    assert clock.sleeps == [full_jitter_delay(0, 1.0), full_jitter_delay(1, 1.0)]
    assert all(left >= RESERVE for left in clock.left_after_sleeps)
    assert "gave up after 3 attempt(s)" in outcome.error


def test_without_a_deadline_a_throttled_call_is_not_retried():
    slept = []
    clients = world({"a.txt": b"a"}, model=throttled(1, throttling))
    [outcome] = process([ref("a.txt")], clients, settings(), sleep=slept.append)
    assert outcome.disposition == TRANSIENT and slept == []
    assert len(clients.sagemaker_runtime.requests) == 1


def test_a_clock_that_never_advances_still_ends_the_retries():
    clients = world({"a.txt": b"a"}, model=throttled(10**6, throttling))
    deadline = Deadline(remaining=lambda: 10_000.0, reserve=RESERVE)
    [outcome] = process([ref("a.txt")], clients, settings(), deadline=deadline, sleep=lambda _: None)
    assert outcome.disposition == TRANSIENT
    assert len(clients.sagemaker_runtime.requests) == MAX_THROTTLED_RETRIES + 1


def test_inputs_of_a_failed_chunk_are_not_resent_when_the_deadline_leaves_no_room():
    def failing(document):
        raise model_error(500)

    clock = Clock(remaining=RESERVE - 1)
    clients = world(texts(2), model=failing)
    outcomes = process(
        [ref(key) for key in texts(2)],
        clients,
        settings(model_max_batch_size=2),
        deadline=clock.deadline(),
        sleep=clock.sleep,
    )
    assert [o.disposition for o in outcomes] == [TRANSIENT, TRANSIENT]
    assert len(clients.sagemaker_runtime.requests) == 1
    assert all("no time left" in o.error for o in outcomes)


def test_the_first_call_of_an_object_is_made_whatever_the_deadline_says():
    # The function timeout is sized for one object's chain (contract.HANDLER_MIN_TIMEOUT_SECONDS).
    clients = world({"a.txt": b"a"})
    [outcome] = process([ref("a.txt")], clients, settings(), deadline=Clock(remaining=1).deadline())
    assert outcome.result.status == "completed"


# --- publishing ----------------------------------------------------------------------------------------
def test_outcomes_are_published_in_batches_of_at_most_ten():
    clients = world(texts(25))
    process([ref(key) for key in texts(25)], clients, settings())
    assert sorted(len(call) for call in clients.sns.calls) == [5, 10, 10]
    assert all(len({entry["Id"] for entry in call}) == len(call) for call in clients.sns.calls)


def test_each_outcome_message_carries_status_and_route_attributes():
    clients = world({"a.txt": b"a"}, s3_errors={})
    process([ref("a.txt"), ref("gone.txt")], clients, settings())
    attributes = sorted(
        (e["MessageAttributes"]["status"]["StringValue"], e["MessageAttributes"]["route"]["StringValue"])
        for e in clients.sns.messages
    )
    assert attributes == [("completed", ROUTE), ("missing", ROUTE)]


def test_an_outcome_sns_refuses_makes_its_object_transient():
    clients = world(texts(3), topic=FakeTopic(refuse={f"s3://{BUCKET}/t1.txt"}))
    outcomes = process([ref(key) for key in texts(3)], clients, settings())
    assert [o.disposition for o in outcomes] == [WRITTEN, TRANSIENT, WRITTEN]
    assert "not published" in outcomes[1].error


def test_a_failed_publish_call_makes_its_objects_transient():
    clients = world(texts(2), topic=FakeTopic(error=client_error("Throttling", "PublishBatch", 400)))
    outcomes = process([ref(key) for key in texts(2)], clients, settings())
    assert [o.disposition for o in outcomes] == [TRANSIENT, TRANSIENT]


# --- redelivery ----------------------------------------------------------------------------------------
def stored_item(sequencer):
    return {
        "pk": {"S": f"s3://{BUCKET}/a.txt"},
        "status": {"S": "completed"},
        "route": {"S": ROUTE},
        "sequencer": {"S": sequencer},
        contract.SEQUENCER_ORDER_ATTRIBUTE: {"S": sequencer_order(sequencer)},
    }


def test_a_redelivered_event_changes_nothing_and_publishes_the_stored_outcome_again():
    table = FakeTable(stored={f"s3://{BUCKET}/a.txt": stored_item("0055AED6DCD90281E5")})
    clients = world({"a.txt": b"a"}, table=table)
    [outcome] = process([ref("a.txt")], clients, settings())
    assert (outcome.disposition, outcome.published) == (UNCHANGED, True)
    assert json.loads(clients.sns.messages[0]["Message"])["sequencer"] == "0055AED6DCD90281E5"


def test_an_event_older_than_the_stored_result_changes_nothing_and_publishes_nothing():
    table = FakeTable(stored={f"s3://{BUCKET}/a.txt": stored_item("0056000000000000")})
    clients = world({"a.txt": b"a"}, table=table)
    [outcome] = process([ref("a.txt")], clients, settings())
    assert (outcome.disposition, outcome.published) == (UNCHANGED, False)
    assert clients.sns.calls == []


def test_dynamodb_throttling_is_transient():
    error = client_error("ProvisionedThroughputExceededException", "PutItem", 400)
    clients = world({"a.txt": b"a"}, table=FakeTable(errors={f"s3://{BUCKET}/a.txt": error}))
    [outcome] = process([ref("a.txt")], clients, settings())
    assert outcome.disposition == TRANSIENT and clients.sns.calls == []


def test_no_references_make_no_calls():
    clients = world()
    assert process([], clients, settings()) == []
