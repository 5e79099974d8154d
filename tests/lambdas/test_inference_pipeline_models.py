"""The pipeline with in-process fakes, for named models: each payload format, InvokeEndpoint's limit, large
results to S3, the model's identity on results, and admission by the bytes in flight."""

import json
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
from lambdas.inference.domain import MAX_PREDICTION_BYTES, ObjectRef
from lambdas.inference.pipeline import TRANSIENT, UNCHANGED, WRITTEN, Clients, process

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def ref(key, *, size=None, sequencer="0055AED6DCD90281E5", version_id=None):
    return ObjectRef(BUCKET, key, version_id, "etag", size, sequencer, "2024-05-01T12:00:00Z", ROUTE)


def world(objects=None, *, model=echo_model, content_types=None, put_errors=None, table=None):
    return Clients(
        s3=FakeS3(objects or {}, content_types=content_types, put_errors=put_errors),
        sagemaker_runtime=model if isinstance(model, FakeModel) else FakeModel(model),
        dynamodb=table or FakeTable(),
        sns=FakeTopic(),
    )


def item_of(clients, key):
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    raw = clients.dynamodb.items[f"s3://{BUCKET}/{key}"]
    return {name: TypeDeserializer().deserialize(value) for name, value in raw.items()}


def json_settings(**overrides):
    return settings(payload_format=contract.PAYLOAD_JSON, **overrides)


def binary_settings(**overrides):
    return settings(payload_format=contract.PAYLOAD_BINARY, **overrides)


# --- json ---------------------------------------------------------------------------------------------
def test_a_json_model_is_sent_the_configured_field_under_its_request_key():
    clients = world({"a.json": b'{"text": {"q": "why"}, "id": 7}'})
    process([ref("a.json")], clients, json_settings(json_input_field="text", json_request_key="inputs"))
    [call] = clients.sagemaker_runtime.calls
    assert (json.loads(call["Body"]), call["ContentType"]) == ({"inputs": {"q": "why"}}, "application/json")


def test_a_json_model_is_sent_the_whole_document_as_stored_without_a_field():
    document = b'{"inputs": "a", "parameters": {"top_k": 2}}'
    clients = world({"a.json": document})
    process([ref("a.json")], clients, json_settings())
    assert clients.sagemaker_runtime.calls[0]["Body"] == document


def test_json_text_fields_under_the_inputs_key_share_a_batched_request():
    objects = {f"d{index}.json": json.dumps({"text": f"t{index}"}).encode() for index in range(4)}
    clients = world(objects)
    outcomes = process(
        [ref(key) for key in objects],
        clients,
        json_settings(json_input_field="text", json_request_key="inputs", model_max_batch_size=4),
    )
    [request] = clients.sagemaker_runtime.requests  # inputs in the order their reads completed
    assert sorted(request["inputs"]) == ["t0", "t1", "t2", "t3"]
    assert [item_of(clients, f"d{i}.json")["prediction"]["label"] for i in range(4)] == [
        "t0",
        "t1",
        "t2",
        "t3",
    ]
    assert all(o.disposition == WRITTEN for o in outcomes)


def test_a_json_object_without_its_field_is_rejected_with_the_reason_and_no_model_call():
    clients = world({"a.json": b'{"body": "x"}'})
    [outcome] = process([ref("a.json")], clients, json_settings(json_input_field="text"))
    item = item_of(clients, "a.json")
    assert (item["status"], item["reason"]) == (contract.STATUS_REJECTED, contract.REASON_MISSING_JSON_FIELD)
    assert "'text'" in item["detail"] and clients.sagemaker_runtime.calls == []
    assert outcome.disposition == WRITTEN


def test_a_json_document_that_is_not_an_object_is_rejected_when_a_field_is_configured():
    clients = world({"a.json": b"[1, 2]"})
    process([ref("a.json")], clients, json_settings(json_input_field="text"))
    assert item_of(clients, "a.json")["reason"] == contract.REASON_NOT_A_JSON_OBJECT


def test_malformed_json_is_rejected_in_the_json_format_too():
    clients = world({"a.json": b"{nope"})
    process([ref("a.json")], clients, json_settings())
    assert item_of(clients, "a.json")["reason"] == contract.REASON_MALFORMED_JSON


# --- binary -------------------------------------------------------------------------------------------
def test_a_binary_object_is_sent_unchanged_with_its_s3_content_type():
    clients = world({"cat.png": PNG}, content_types={"cat.png": "image/png"})
    [outcome] = process([ref("cat.png")], clients, binary_settings())
    [call] = clients.sagemaker_runtime.calls
    assert (call["Body"], call["ContentType"]) == (PNG, "image/png")
    assert outcome.result.status == contract.STATUS_COMPLETED


def test_a_configured_content_type_is_sent_whatever_s3_says():
    clients = world({"clip.flac": b"fLaC...."}, content_types={"clip.flac": "binary/octet-stream"})
    process([ref("clip.flac")], clients, binary_settings(binary_content_type="audio/x-flac"))
    assert clients.sagemaker_runtime.calls[0]["ContentType"] == "audio/x-flac"


def test_binary_objects_are_never_batched():
    objects = {f"i{index}.png": PNG for index in range(3)}
    clients = world(objects, content_types=dict.fromkeys(objects, "image/png"))
    process([ref(key) for key in objects], clients, binary_settings(model_max_batch_size=10))
    assert [call["Body"] for call in clients.sagemaker_runtime.calls] == [PNG] * 3


@pytest.mark.parametrize("stored", ["binary/octet-stream", "application/octet-stream", None])
def test_a_binary_object_of_a_type_the_model_cannot_decode_is_rejected_without_reading_it(stored):
    clients = world({"blob": PNG}, content_types={"blob": stored} if stored else {})
    process([ref("blob")], clients, binary_settings())
    item = item_of(clients, "blob")
    assert (item["status"], item["reason"]) == (
        contract.STATUS_REJECTED,
        contract.REASON_UNSUPPORTED_CONTENT_TYPE,
    )
    assert clients.s3.bodies[0].bytes_read == 0 and clients.sagemaker_runtime.calls == []


def test_a_binary_object_the_event_says_exceeds_the_payload_limit_is_rejected_without_reading_it():
    size = 5_452_595
    clients = world({"big.png": b"x"})
    [outcome] = process([ref("big.png", size=size)], clients, binary_settings())
    item = item_of(clients, "big.png")
    assert (item["status"], item["reason"]) == (contract.STATUS_REJECTED, contract.REASON_TOO_LARGE)
    assert item["detail"] == (
        "object is 5.2 MiB (5452595 bytes); the serverless InvokeEndpoint limit is 4 MiB (MAX_PAYLOAD_BYTES)"
    )
    assert clients.s3.calls == [] and outcome.disposition == WRITTEN


def test_a_binary_object_s3_says_exceeds_the_payload_limit_is_rejected_without_downloading_it():
    clients = world({"big.png": b"x" * 3000}, content_types={"big.png": "image/png"})
    process([ref("big.png")], clients, binary_settings(max_payload_bytes=2048))
    assert "3000 bytes" in item_of(clients, "big.png")["detail"]
    assert clients.s3.bodies[0].bytes_read == 0 and clients.s3.bodies[0].closed


def test_a_binary_object_over_the_object_limit_but_within_the_payload_limit_is_sent():
    # MAX_OBJECT_BYTES bounds text and JSON; a binary object is the request, bounded by MAX_PAYLOAD_BYTES.
    clients = world({"cat.png": PNG}, content_types={"cat.png": "image/png"})
    process([ref("cat.png", size=len(PNG))], clients, binary_settings(max_object_bytes=16))
    assert item_of(clients, "cat.png")["status"] == contract.STATUS_COMPLETED


# --- text: InvokeEndpoint's limit on the built request ------------------------------------------------
def test_a_text_whose_request_would_exceed_the_payload_limit_is_rejected_too_large():
    # 300 control characters are 300 bytes of object and 1,800 of JSON request (each is \\u00XX).
    clients = world({"ctl.txt": b"\x01" * 300})
    process([ref("ctl.txt")], clients, settings(max_payload_bytes=1024))
    item = item_of(clients, "ctl.txt")
    assert (item["status"], item["reason"]) == (contract.STATUS_REJECTED, contract.REASON_TOO_LARGE)
    assert item["detail"].startswith("the model request is 1.8 KiB") and "MAX_PAYLOAD_BYTES" in item["detail"]
    assert clients.sagemaker_runtime.calls == []


def test_a_batched_chunk_stays_within_the_configured_payload_limit():
    objects = {f"t{index}.txt": b"x" * 400 for index in range(3)}
    clients = world(objects)
    process(
        [ref(key, size=400) for key in objects],
        clients,
        settings(model_max_batch_size=3, max_payload_bytes=1000),
    )
    assert all(len(call["Body"]) <= 1000 for call in clients.sagemaker_runtime.calls)
    assert sorted(len(r["inputs"]) for r in clients.sagemaker_runtime.requests) == [1, 2]


# --- large results ------------------------------------------------------------------------------------
def large_model(document):
    return {"embedding": "v" * MAX_PREDICTION_BYTES}


def test_a_prediction_too_large_for_the_item_is_written_to_s3_and_the_item_points_to_it():
    clients = world({"a.txt": b"text"}, model=large_model)
    [outcome] = process([ref("a.txt")], clients, settings(model_version="v7"))
    item = item_of(clients, "a.txt")
    [put] = clients.s3.puts
    assert (outcome.disposition, item["status"]) == (WRITTEN, contract.STATUS_COMPLETED)
    assert "prediction" not in item and item["prediction_uri"] == f"s3://{BUCKET}/{put['Key']}"
    assert json.loads(put["Body"]) == large_model(None)
    assert (put["Bucket"], put["ContentType"], put["IfNoneMatch"]) == (BUCKET, "application/json", "*")


def test_a_large_result_is_named_under_the_large_results_prefix():
    clients = world({"a.txt": b"text"}, model=large_model)
    process([ref("a.txt")], clients, settings(large_results_prefix="big/"))
    assert clients.s3.puts[0]["Key"].startswith("big/")


def test_the_outcome_message_of_a_large_result_carries_its_uri_not_the_prediction():
    clients = world({"a.txt": b"text"}, model=large_model)
    process([ref("a.txt")], clients, settings())
    body = json.loads(clients.sns.messages[0]["Message"])
    assert body["prediction"] is None and body["prediction_uri"].startswith(f"s3://{BUCKET}/results/")


def test_a_failed_large_result_write_makes_the_object_transient_and_writes_no_item():
    first = world({"a.txt": b"text"}, model=large_model)
    process([ref("a.txt")], first, settings())
    key = first.s3.puts[0]["Key"]
    clients = world(
        {"a.txt": b"text"}, model=large_model, put_errors={key: client_error("SlowDown", "PutObject", 503)}
    )
    [outcome] = process([ref("a.txt")], clients, settings())
    assert outcome.disposition == TRANSIENT and "PutObject" in outcome.error
    assert clients.dynamodb.calls == [] and clients.sns.calls == []


def test_a_redelivered_large_result_points_to_the_object_the_first_delivery_wrote():
    clients = world({"a.txt": b"text"}, model=large_model)
    process([ref("a.txt")], clients, settings())
    first_uri = item_of(clients, "a.txt")["prediction_uri"]
    process([ref("a.txt")], clients, settings())  # the fake table stores unconditionally
    assert item_of(clients, "a.txt")["prediction_uri"] == first_uri
    assert len(clients.s3.written) == 1 and len(clients.s3.puts) == 2


# --- the model's identity on results ------------------------------------------------------------------
def test_each_item_records_the_model_its_version_and_the_environment_start():
    clients = world({"a.txt": b"text"})
    process(
        [ref("a.txt")],
        clients,
        settings(model_name="sentiment", model_version="sha256:3f2a"),
        environment_started_at=1_714_564_800_000,
    )
    item = item_of(clients, "a.txt")
    assert (item["model"], item["model_version"], item[contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE]) == (
        "sentiment",
        "sha256:3f2a",
        1_714_564_800_000,
    )


def test_without_a_model_name_the_endpoint_names_the_model():
    clients = world({"a.txt": b"text"})
    process([ref("a.txt")], clients, settings())
    assert item_of(clients, "a.txt")["model"] == "model-endpoint"


def test_the_outcome_message_names_the_model_in_a_filterable_attribute():
    clients = world({"a.txt": b"text"})
    process([ref("a.txt")], clients, settings(model_name="sentiment", model_version="v2"))
    [message] = clients.sns.messages
    assert message["MessageAttributes"][contract.MESSAGE_ATTRIBUTE_MODEL]["StringValue"] == "sentiment"
    assert json.loads(message["Message"])["model_version"] == "v2"


def test_the_write_lets_a_later_environment_of_another_model_version_re_score_the_event():
    clients = world({"a.txt": b"text"})
    process([ref("a.txt")], clients, settings(model_version="v2"), environment_started_at=2000)
    request = clients.dynamodb.calls[0]
    assert "#version <> :version" in request["ConditionExpression"]
    assert request["ExpressionAttributeValues"][":version"] == {"S": "v2"}
    assert request["ExpressionAttributeValues"][":started"] == {"N": "2000"}


def test_a_stored_re_score_of_the_same_event_is_published_again_not_overwritten():
    stored = {
        "pk": {"S": f"s3://{BUCKET}/a.txt"},
        "status": {"S": "completed"},
        "route": {"S": ROUTE},
        "model_version": {"S": "v2"},
        contract.SEQUENCER_ORDER_ATTRIBUTE: {"S": ref("a.txt").sequencer.ljust(64, "0")},
    }
    clients = world({"a.txt": b"text"}, table=FakeTable(stored={f"s3://{BUCKET}/a.txt": stored}))
    [outcome] = process([ref("a.txt")], clients, settings(model_version="v1"), environment_started_at=1)
    assert (outcome.disposition, outcome.published) == (UNCHANGED, True)
    assert json.loads(clients.sns.messages[0]["Message"])["model_version"] == "v2"


# --- admission by bytes in flight ---------------------------------------------------------------------
class Tracking:
    """Counts the bytes of objects read but not yet past the model, and the peak of that sum."""

    def __init__(self, objects):
        self.lock, self.now, self.peak = threading.Lock(), 0, 0
        self.objects = objects

    def clients(self):
        tracking = self

        class S3(FakeS3):
            def get_object(self, **request):
                response = super().get_object(**request)
                with tracking.lock:
                    tracking.now += len(tracking.objects[request["Key"]])
                    tracking.peak = max(tracking.peak, tracking.now)
                return response

        class Model(FakeModel):
            def invoke_endpoint(self, **request):
                threading.Event().wait(0.002)
                text = json.loads(request["Body"])["inputs"]
                with tracking.lock:
                    tracking.now -= len(text)
                return super().invoke_endpoint(**request)

        return Clients(S3(self.objects), Model(echo_model), FakeTable(), FakeTopic())


def test_the_bytes_of_objects_in_flight_never_exceed_the_memory_budget():
    objects = {f"t{index}.txt": b"x" * 400 for index in range(12)}
    tracking = Tracking(objects)
    outcomes = process(
        [ref(key, size=400) for key in objects],
        tracking.clients(),
        settings(max_workers=8, max_in_flight_bytes=1000, max_object_bytes=1024),
    )
    assert all(o.disposition == WRITTEN for o in outcomes)
    assert 400 <= tracking.peak <= 1000


def test_an_object_larger_than_the_whole_budget_is_processed_alone():
    objects = {"big.txt": b"x" * 900, "small.txt": b"y" * 10}
    tracking = Tracking(objects)
    outcomes = process(
        [ref("big.txt", size=900), ref("small.txt", size=10)],
        tracking.clients(),
        settings(max_in_flight_bytes=500, max_object_bytes=1024),
    )
    assert [o.result.status for o in outcomes] == ["completed", "completed"]
    assert tracking.peak == 900


def test_an_object_of_unknown_size_counts_as_the_largest_that_may_be_read():
    objects = {f"t{index}.txt": b"x" * 10 for index in range(4)}
    tracking = Tracking(objects)
    process(
        [ref(key) for key in objects],
        tracking.clients(),
        settings(max_in_flight_bytes=2048, max_object_bytes=1024),
    )
    assert tracking.peak <= 20  # two unknown-size objects fill the budget


def test_small_objects_are_read_together_up_to_the_pool_size():
    # Sixteen reads must be in flight at once to pass the barrier: no fixed window below the pool holds them.
    barrier = threading.Barrier(16, timeout=10)

    class MeetingS3(FakeS3):
        def get_object(self, **request):
            barrier.wait()
            return super().get_object(**request)

    objects = {f"t{index}.txt": b"x" * 100 for index in range(16)}
    clients = world()
    clients = Clients(MeetingS3(objects), clients.sagemaker_runtime, clients.dynamodb, clients.sns)
    outcomes = process([ref(key, size=100) for key in objects], clients, settings(max_workers=16))
    assert all(o.disposition == WRITTEN for o in outcomes)


def test_an_object_refused_for_its_size_holds_no_budget():
    objects = {"huge.txt": b"x", "a.txt": b"a" * 900}
    tracking = Tracking(objects)
    outcomes = process(
        [ref("huge.txt", size=10**9), ref("a.txt", size=900)],
        tracking.clients(),
        settings(max_in_flight_bytes=1000, max_object_bytes=1024),
    )
    assert [o.result.reason for o in outcomes] == [contract.REASON_TOO_LARGE, None]
