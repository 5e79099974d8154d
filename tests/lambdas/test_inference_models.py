"""Pure rules for named models, without mocks: json and binary payloads and their rejections, the payload
limit, where a large result goes, which stored result a new one replaces (re-scoring), and the model's name
and version on items and outcome messages."""

import json
from datetime import UTC, datetime

import pytest
from inference_fakes import NEW_SEQ, OLD_SEQ, REPLACEMENT_CASES, stored_item

from lambdas.inference import contract
from lambdas.inference.domain import (
    MAX_PREDICTION_BYTES,
    ModelIdentity,
    ObjectMeta,
    ObjectRef,
    Payload,
    Result,
    RouteScope,
    batch_body,
    binary_content_type,
    binary_payload,
    build_json_payload,
    large_result_key,
    media_type,
    needs_large_result,
    outcome_message,
    replaces,
    request_bytes,
    result_item,
    same_event,
    stored_elsewhere,
    text_payload,
    too_large,
)

REF = ObjectRef("ingest-bucket", "data/a.json", "v1", "etag", 10, "0055AED6DCD90281E5", None, "data")
WHEN = datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)
MODEL = ModelIdentity("sentiment", "sha256:3f2a9c1b0d4e5f60", 1_714_564_800_000)


def rejected(result, reason):
    return isinstance(result, Result) and (result.status, result.reason) == (contract.STATUS_REJECTED, reason)


# --- json payloads ----------------------------------------------------------------------------------------
def test_without_a_field_the_json_document_is_sent_as_stored():
    data = b'{"inputs": "hi",  "parameters": {"top_k": 2}}'
    assert build_json_payload(data, None, None) == Payload(body=data)


def test_a_byte_order_mark_is_not_sent_with_the_json_document():
    assert build_json_payload(b'\xef\xbb\xbf{"a": 1}', None, None) == Payload(body=b'{"a": 1}')


def test_the_configured_field_is_sent_as_the_request_body():
    payload = build_json_payload(b'{"text": {"q": "why"}, "id": 7}', "text", None)
    assert json.loads(payload.body) == {"q": "why"}


def test_the_configured_field_is_placed_under_the_request_key():
    payload = build_json_payload(b'{"text": ["a", "b"], "id": 7}', "text", "inputs")
    assert json.loads(payload.body) == {"inputs": ["a", "b"]}


def test_without_a_field_the_whole_document_is_placed_under_the_request_key():
    payload = build_json_payload(b'{"question": "q", "context": "c"}', None, "inputs")
    assert json.loads(payload.body) == {"inputs": {"question": "q", "context": "c"}}


def test_a_text_field_under_the_inputs_key_is_a_text_input_that_can_share_a_batch():
    payload = build_json_payload('{"text": "très bien", "id": 7}'.encode(), "text", "inputs")
    assert payload.text == "très bien"
    assert json.loads(payload.body) == {"inputs": "très bien"}


def test_a_request_other_than_a_lone_text_input_is_sent_alone():
    assert build_json_payload(b'{"text": 5}', "text", "inputs").text is None
    assert build_json_payload(b'{"text": "x"}', "text", "prompt").text is None


def test_malformed_json_is_rejected_saying_where():
    result = build_json_payload(b'{"text": ', "text", None)
    assert rejected(result, contract.REASON_MALFORMED_JSON)
    assert "not valid JSON" in result.detail and "char 9" in result.detail


def test_json_with_nan_is_rejected_as_malformed():
    assert rejected(build_json_payload(b'{"text": NaN}', None, None), contract.REASON_MALFORMED_JSON)


@pytest.mark.parametrize(("data", "kind"), [(b'["a"]', "array"), (b'"a"', "string"), (b"3", "number")])
def test_a_document_that_is_not_an_object_is_rejected_when_a_field_is_configured(data, kind):
    result = build_json_payload(data, "text", "inputs")
    assert rejected(result, contract.REASON_NOT_A_JSON_OBJECT)
    assert f"a JSON {kind}, not an object with a field 'text'" in result.detail


def test_a_document_that_is_not_an_object_is_sent_as_is_without_a_field():
    assert build_json_payload(b'["a", "b"]', None, None) == Payload(body=b'["a", "b"]')


def test_a_document_without_the_field_is_rejected_naming_it():
    result = build_json_payload(b'{"body": "x"}', "text", "inputs")
    assert rejected(result, contract.REASON_MISSING_JSON_FIELD)
    assert "no field 'text' (JSON_INPUT_FIELD)" in result.detail


def test_a_null_field_counts_as_missing():
    assert rejected(build_json_payload(b'{"text": null}', "text", None), contract.REASON_MISSING_JSON_FIELD)


def test_a_json_object_that_is_not_utf8_is_rejected_as_not_text():
    assert rejected(build_json_payload(b'{"text": "\xff"}', "text", None), contract.REASON_NOT_TEXT)


def test_an_empty_json_object_is_rejected_as_empty():
    assert rejected(build_json_payload(b"", None, None), contract.REASON_EMPTY_OBJECT)


# --- binary payloads --------------------------------------------------------------------------------------
def test_the_binary_bytes_are_sent_unchanged_with_their_content_type():
    data = b"\x89PNG\r\n\x1a\n\x00\xff"
    assert binary_payload(data, "image/png") == Payload(body=data, content_type="image/png")


def test_an_empty_binary_object_is_rejected_as_empty():
    assert rejected(binary_payload(b"", "image/png"), contract.REASON_EMPTY_OBJECT)


def test_a_configured_content_type_wins_over_the_objects_own():
    assert binary_content_type("audio/x-flac", "binary/octet-stream") == "audio/x-flac"


def test_the_objects_own_content_type_is_sent_as_its_media_type():
    assert binary_content_type(None, "Image/JPEG; charset=binary") == "image/jpeg"


@pytest.mark.parametrize("content_type", sorted(contract.HF_DECODED_CONTENT_TYPES))
def test_every_content_type_the_hugging_face_container_decodes_is_accepted(content_type):
    assert binary_content_type(None, content_type) == content_type


@pytest.mark.parametrize(
    "stored", ["binary/octet-stream", "application/octet-stream", None, "", "audio/wav", "image/heic"]
)
def test_an_object_type_the_container_does_not_decode_is_rejected_when_none_is_configured(stored):
    result = binary_content_type(None, stored)
    assert rejected(result, contract.REASON_UNSUPPORTED_CONTENT_TYPE)
    assert "ENDPOINT_CONTENT_TYPE" in result.detail


def test_the_toolkits_audio_types_are_its_own_spellings():
    # decoder_encoder.py keys: audio/x-flac, audio/mpeg, audio/wave, audio/ogg, audio/x-audio.
    audio = {t for t in contract.HF_DECODED_CONTENT_TYPES if t.startswith("audio/")}
    assert audio == {"audio/x-flac", "audio/mpeg", "audio/wave", "audio/ogg", "audio/x-audio"}


def test_a_media_type_drops_parameters_and_case():
    assert media_type(" Text/CSV ; charset=utf-8") == "text/csv"


# --- the payload limit ------------------------------------------------------------------------------------
def test_too_large_names_the_serverless_invoke_endpoint_limit():
    result = too_large(5_452_595, contract.SERVERLESS_MAX_PAYLOAD_BYTES, contract.ENV_MAX_PAYLOAD_BYTES)
    assert (result.status, result.reason) == (contract.STATUS_REJECTED, contract.REASON_TOO_LARGE)
    assert result.detail == (
        "object is 5.2 MiB (5452595 bytes); the serverless InvokeEndpoint limit is 4 MiB (MAX_PAYLOAD_BYTES)"
    )


def test_too_large_names_the_real_time_invoke_endpoint_limit():
    result = too_large(7_000_000, contract.REALTIME_MAX_PAYLOAD_BYTES, contract.ENV_MAX_PAYLOAD_BYTES)
    assert result.detail.endswith("the real-time InvokeEndpoint limit is 6 MiB (MAX_PAYLOAD_BYTES)")


def test_too_large_names_the_object_limit_and_its_variable():
    result = too_large(2048, 1024, contract.ENV_MAX_OBJECT_BYTES)
    assert (
        result.detail
        == "object is 2.0 KiB (2048 bytes); the limit is 1.0 KiB (1024 bytes) (MAX_OBJECT_BYTES)"
    )


def test_too_large_of_an_unknown_size_says_it_exceeds_the_limit():
    assert too_large(None, 1024, contract.ENV_MAX_OBJECT_BYTES).detail.startswith(
        "object is more than 1024 bytes"
    )


def test_a_batched_text_request_counts_the_list_around_it():
    payload = text_payload('a "quoted" text')
    assert request_bytes(payload, batched=True) == len(batch_body([payload.text]))
    assert request_bytes(payload, batched=False) == len(payload.body)


# --- large results ----------------------------------------------------------------------------------------
def test_only_a_completed_prediction_over_the_item_budget_goes_to_s3():
    assert needs_large_result(Result(contract.STATUS_COMPLETED, prediction="x" * MAX_PREDICTION_BYTES))
    assert not needs_large_result(
        Result(contract.STATUS_COMPLETED, prediction="x" * (MAX_PREDICTION_BYTES - 2))
    )
    assert not needs_large_result(Result(contract.STATUS_REJECTED, contract.REASON_TOO_LARGE))


def test_a_large_result_key_is_the_same_for_a_redelivery():
    assert large_result_key("results/", REF, None, "v1") == large_result_key("results/", REF, None, "v1")


def test_a_large_result_key_is_a_sha256_under_the_prefix():
    key = large_result_key("results/", REF, ObjectMeta("v1", '"etag"', 10), "v1")
    assert key.startswith("results/") and key.endswith(".json") and len(key) == len("results/") + 64 + 5
    assert RouteScope("data", "ingest-bucket").is_own_result(key)


@pytest.mark.parametrize(
    ("other_ref", "other_meta", "other_version"),
    [
        (REF, None, "v2"),  # another model version re-scores into its own object
        (ObjectRef(**{**REF.__dict__, "sequencer": "0055AED6DCD90281E6"}), None, "v1"),  # a later upload
        (REF, ObjectMeta(version_id="v2"), "v1"),  # another object version
        (ObjectRef(**{**REF.__dict__, "key": "data/b.json"}), None, "v1"),  # another object
    ],
)
def test_a_large_result_key_differs_for_another_event_object_version_or_model_version(
    other_ref, other_meta, other_version
):
    assert large_result_key("results/", REF, None, "v1") != large_result_key(
        "results/", other_ref, other_meta, other_version
    )


def test_an_item_whose_prediction_went_to_s3_has_its_uri_instead():
    result = stored_elsewhere(Result(contract.STATUS_COMPLETED, prediction=[1] * 10), "s3://b/results/x.json")
    item = result_item(REF, None, result, "ep", WHEN, model=MODEL)
    assert "prediction" not in item and item["prediction_uri"] == "s3://b/results/x.json"


def test_an_outcome_message_of_a_large_result_carries_its_uri():
    result = stored_elsewhere(Result(contract.STATUS_COMPLETED, prediction="big"), "s3://b/results/x.json")
    body = json.loads(outcome_message(result_item(REF, None, result, "ep", WHEN, model=MODEL)).body)
    assert (body["prediction"], body["prediction_uri"]) == (None, "s3://b/results/x.json")


def test_a_key_under_the_results_prefix_that_the_pipeline_did_not_name_is_an_input():
    scope = RouteScope("data", "ingest-bucket")
    assert not scope.is_own_result("results/report.json")
    assert not scope.is_own_result("data/" + "0" * 64 + ".json")


# --- model name and version on items and messages ---------------------------------------------------------
def test_an_item_records_the_model_its_version_and_its_environments_start():
    item = result_item(REF, None, Result(contract.STATUS_COMPLETED, prediction=1), "ep", WHEN, model=MODEL)
    assert (item["model"], item["model_version"], item[contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE]) == (
        "sentiment",
        "sha256:3f2a9c1b0d4e5f60",
        1_714_564_800_000,
    )


def test_an_outcome_message_carries_the_model_and_its_version():
    item = result_item(REF, None, Result(contract.STATUS_COMPLETED, prediction=1), "ep", WHEN, model=MODEL)
    body = json.loads(outcome_message(item).body)
    assert (body["model"], body["model_version"]) == ("sentiment", "sha256:3f2a9c1b0d4e5f60")
    assert contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE not in body


def test_an_outcome_message_has_a_model_attribute_for_filter_policies():
    item = result_item(REF, None, Result(contract.STATUS_COMPLETED, prediction=1), "ep", WHEN, model=MODEL)
    assert outcome_message(item).attributes[contract.MESSAGE_ATTRIBUTE_MODEL] == {
        "DataType": "String",
        "StringValue": "sentiment",
    }


def test_a_rejections_detail_is_on_the_item_and_in_the_message():
    result = too_large(9_000_000, contract.SERVERLESS_MAX_PAYLOAD_BYTES, contract.ENV_MAX_PAYLOAD_BYTES)
    item = result_item(REF, None, result, "ep", WHEN, model=MODEL)
    assert item[contract.RESULT_DETAIL_ATTRIBUTE] == result.detail
    assert json.loads(outcome_message(item).body)["detail"] == result.detail


# --- which stored result a new one replaces ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("stored", "new", "replaced"),
    [case[1:] for case in REPLACEMENT_CASES],
    ids=[case[0] for case in REPLACEMENT_CASES],
)
def test_a_new_result_replaces_the_stored_one_exactly_as_the_results_contract_says(stored, new, replaced):
    assert replaces(stored, new) is replaced


def test_a_newer_model_version_re_scores_the_same_event():
    assert replaces(stored_item(version="v1", started=1000), stored_item(version="v2", started=2000))


def test_an_older_model_versions_straggler_does_not_undo_a_re_score():
    assert not replaces(stored_item(version="v2", started=2000), stored_item(version="v1", started=1000))


def test_the_same_model_version_writes_nothing_for_the_same_event():
    assert not replaces(stored_item(version="v1", started=1000), stored_item(version="v1", started=9000))


def test_a_result_of_no_known_version_never_re_scores():
    new = {**stored_item(version="v2", started=2000), "model_version": None}
    assert not replaces(stored_item(), new)


def test_a_stored_result_of_the_same_sequencer_is_the_same_event():
    assert same_event(stored_item(version="v2"), stored_item(version="v1"))
    assert not same_event(stored_item(NEW_SEQ), stored_item(OLD_SEQ))
