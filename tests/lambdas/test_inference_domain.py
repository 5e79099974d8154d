"""Pure domain rules: route scope, sequencer ordering, payloads, throttling backoff, predictions, results
items and outcome messages."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lambdas.inference import contract
from lambdas.inference.domain import (
    SEQUENCER_WIDTH,
    SNS_MAX_REQUEST_BYTES,
    THROTTLE_BACKOFF_BASE_SECONDS,
    THROTTLE_BACKOFF_CAP_SECONDS,
    ModelIdentity,
    ObjectMeta,
    ObjectRef,
    Payload,
    Result,
    RouteScope,
    batch_body,
    build_payload,
    completed_result,
    full_jitter_delay,
    is_folder_marker,
    iso_utc,
    leaves_room,
    needs_large_result,
    outcome_message,
    parse_prediction,
    publish_chunks,
    result_item,
    sequencer_order,
    split_batched_prediction,
    to_jsonable,
)

REF = ObjectRef(
    bucket="ingest-bucket",
    key="docs/a b+c.txt",
    version_id="v1",
    etag="abc",
    size=5,
    sequencer="0055AED6DCD90281E5",
    event_time="2024-05-01T12:00:00.000Z",
    route="uploads",
)
WHEN = datetime(2024, 5, 1, 12, 0, 1, 234000, tzinfo=UTC)
# The model attributes every item and outcome carries (prediction_uri replaces a large prediction only).
MODEL_FIELDS = ("model", "model_version")
assert set(MODEL_FIELDS) < set(contract.RESULT_MODEL_ATTRIBUTES)


# --- route scope ----------------------------------------------------------------------------------------
DATA = RouteScope("data", "ingest-bucket", prefix="data/", suffix=".json")


@pytest.mark.parametrize(
    "key", ["data/a.json", "data/ünïcødé 文字 ✓.json", "data/a+b c.json", "data/sub/dir/x.json", "data/.json"]
)
def test_a_key_under_the_prefix_and_with_the_suffix_is_in_the_route(key):
    assert DATA.matches("ingest-bucket", key)


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        ("other-bucket", "data/a.json"),  # another bucket
        ("ingest-bucket", "uploads/a.json"),  # another route's prefix
        ("ingest-bucket", "data/a.txt"),  # not the suffix
        ("ingest-bucket", "Data/a.json"),  # S3 compares key names exactly
        ("ingest-bucket", "data/a.JSON"),
        ("ingest-bucket", "xdata/a.json"),  # the prefix starts the key, it does not occur in it
        ("ingest-bucket", "data%2Fa.json"),  # an encoded key is not the key S3 matched
    ],
)
def test_a_key_outside_the_bucket_prefix_or_suffix_is_not_in_the_route(bucket, key):
    assert not DATA.matches(bucket, key)


def test_an_empty_prefix_and_suffix_match_every_key_of_the_bucket():
    everything = RouteScope("all", "ingest-bucket")
    assert everything.matches("ingest-bucket", "ünï côdé+/any.bin")
    assert not everything.matches("other-bucket", "any.bin")


def test_a_prefix_with_unicode_spaces_and_plus_is_matched_as_key_text():
    scope = RouteScope("r", "ingest-bucket", prefix="dossiers à+b/")
    assert scope.matches("ingest-bucket", "dossiers à+b/x.txt")
    assert not scope.matches("ingest-bucket", "dossiers à b/x.txt")


def data_ref(key, fallback_key=None):
    return replace(REF, key=key, fallback_key=fallback_key, route="data")


def test_a_reference_in_the_route_is_admitted_unchanged():
    assert DATA.admit(data_ref("data/a.json")) == data_ref("data/a.json")


def test_a_reference_outside_the_route_is_not_admitted():
    assert DATA.admit(data_ref("uploads/a.json")) is None


def test_a_fallback_key_outside_the_route_is_dropped_so_it_is_never_read():
    # EventBridge "data/a+b.json" decodes to "data/a b.json"; only the decoded key has the prefix here.
    scope = RouteScope("r", "ingest-bucket", prefix="data/a b")
    assert scope.admit(data_ref("data/a b.json", fallback_key="data/a+b.json")) == data_ref("data/a b.json")


def test_a_decoded_key_outside_the_route_leaves_the_key_as_given():
    # EventBridge may carry the key unencoded: "data+x/a.json" is itself the route's key, its decoding is not.
    scope = RouteScope("r", "ingest-bucket", prefix="data+x/")
    admitted = scope.admit(data_ref("data x/a.json", fallback_key="data+x/a.json"))
    assert admitted == data_ref("data+x/a.json")


def test_both_keys_in_the_route_keep_the_fallback():
    ref = data_ref("data/a b.json", fallback_key="data/a+b.json")
    assert DATA.admit(ref) == ref


@pytest.mark.parametrize(("key", "size"), [("docs/", 0), ("docs/", None), ("a/b/c/", 0)])
def test_an_empty_or_unsized_key_ending_in_a_slash_is_a_folder_marker(key, size):
    assert is_folder_marker(key, size)


@pytest.mark.parametrize(("key", "size"), [("docs/", 12), ("docs", 0), ("docs/a.txt", None)])
def test_a_key_with_content_or_without_a_trailing_slash_is_not_a_folder_marker(key, size):
    assert not is_folder_marker(key, size)


# --- sequencers -----------------------------------------------------------------------------------------
def test_a_longer_sequencer_with_the_same_prefix_is_later():
    # Right-padding "0055AED6DCD90281E5" gives "...E500", which sorts before "...E501".
    assert sequencer_order("0055AED6DCD90281E501") > sequencer_order("0055AED6DCD90281E5")


def test_a_shorter_sequencer_can_be_later_than_a_longer_one():
    # Left-padding would wrongly compare 0x0056... (18 digits) as smaller than 0x0055... (20 digits).
    assert sequencer_order("0056000000000000FF") > sequencer_order("0055AED6DCD90281E5FF")


def test_an_equal_sequencer_is_not_later():
    assert not sequencer_order("0055AED6DCD90281E5") > sequencer_order("0055AED6DCD90281E5")


def test_trailing_zeros_do_not_make_a_sequencer_later():
    assert not sequencer_order("0055AED6DCD90281E500") > sequencer_order("0055AED6DCD90281E5")


def test_sequencer_order_ignores_letter_case():
    assert sequencer_order("00ab") == sequencer_order("00AB")


def test_sequencer_order_is_right_padded_to_a_fixed_width():
    order = sequencer_order("00AB")
    assert order == "00AB" + "0" * (SEQUENCER_WIDTH - 4)


@pytest.mark.parametrize(
    "sequencer", [None, "", "Happy Sequencer", "0066LIFECYCLE890", "F" * (SEQUENCER_WIDTH + 1)]
)
def test_an_absent_or_non_hexadecimal_sequencer_has_no_order(sequencer):
    assert sequencer_order(sequencer) is None


# --- payloads -------------------------------------------------------------------------------------------
def test_text_is_sent_as_inputs():
    payload = build_payload("notes/a.txt", "héllo wörld".encode())
    assert json.loads(payload.body) == {"inputs": "héllo wörld"}
    assert payload.text == "héllo wörld"


def test_a_json_object_is_sent_as_its_own_json():
    data = b'{"inputs": "x", "parameters": {"top_k": 2}}'
    payload = build_payload("data/a.json", data)
    assert payload == Payload(body=data, text=None)


def test_a_json_object_that_is_only_a_text_input_can_share_a_batch():
    assert build_payload("data/a.JSON", b'{"inputs": "hello"}').text == "hello"


def test_malformed_json_is_rejected():
    assert build_payload("data/a.json", b'{"inputs": ') == Result(
        contract.STATUS_REJECTED, contract.REASON_MALFORMED_JSON
    )


def test_json_with_nan_is_rejected_as_malformed():
    assert build_payload("data/a.json", b'{"x": NaN}').reason == contract.REASON_MALFORMED_JSON


def test_binary_bytes_are_rejected_as_not_text():
    assert build_payload("img/a.png", b"\x89PNG\r\n\x1a\n\xff\xfe") == Result(
        contract.STATUS_REJECTED, contract.REASON_NOT_TEXT
    )


@pytest.mark.parametrize("key", ["notes/empty.txt", "data/empty.json"])
def test_an_empty_object_is_rejected_as_empty(key):
    assert build_payload(key, b"") == Result(contract.STATUS_REJECTED, contract.REASON_EMPTY_OBJECT)


def test_an_object_holding_only_a_byte_order_mark_is_rejected_as_empty():
    assert build_payload("a.txt", b"\xef\xbb\xbf").reason == contract.REASON_EMPTY_OBJECT


def test_whitespace_is_content_and_is_sent_to_the_model():
    assert build_payload("a.txt", b" \n").text == " \n"


def test_a_byte_order_mark_is_not_part_of_the_text():
    assert build_payload("a.txt", "\ufeffhi".encode()).text == "hi"


# --- throttling backoff --------------------------------------------------------------------------------
def test_the_backoff_ceiling_doubles_with_each_attempt_from_the_base():
    ceilings = [full_jitter_delay(attempt, fraction=1.0) for attempt in range(4)]
    base = THROTTLE_BACKOFF_BASE_SECONDS
    assert ceilings == [base, 2 * base, 4 * base, 8 * base]


def test_the_backoff_never_exceeds_its_cap_however_many_attempts():
    assert full_jitter_delay(10_000, fraction=1.0) == THROTTLE_BACKOFF_CAP_SECONDS


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.999])
def test_full_jitter_draws_the_delay_uniformly_below_the_ceiling(fraction):
    # Full jitter: sleep = random_between(0, min(cap, base * 2 ** attempt)).
    assert full_jitter_delay(3, fraction) == pytest.approx(fraction * 8 * THROTTLE_BACKOFF_BASE_SECONDS)


def test_a_wait_leaves_room_only_if_what_is_needed_still_fits_after_it():
    assert leaves_room(remaining=200.0, delay=10.0, needed=190.0)
    assert not leaves_room(remaining=200.0, delay=10.5, needed=190.0)


def test_a_batch_body_lists_the_inputs_in_order():
    assert json.loads(batch_body(["a", "b"])) == {"inputs": ["a", "b"]}


# --- predictions ----------------------------------------------------------------------------------------
def test_prediction_floats_become_decimals():
    assert parse_prediction(b'[{"label": "POSITIVE", "score": 0.9987}]') == [
        {"label": "POSITIVE", "score": Decimal("0.9987")}
    ]


def test_a_non_json_response_is_kept_as_text():
    assert parse_prediction(b"positive") == "positive"


def test_numbers_beyond_dynamodb_range_are_kept_as_text():
    assert parse_prediction(b"[1e200, 2]") == ["1E+200", Decimal(2)]


def test_overly_precise_numbers_are_rounded_to_38_digits():
    value = parse_prediction(b"0.12345678901234567890123456789012345678901234")
    assert len(value.as_tuple().digits) == 38


def test_a_prediction_too_large_for_the_item_is_completed_and_goes_to_s3():
    # Replaces prediction_too_large (a failed result): the prediction is written to S3 instead of the item.
    result = completed_result("x" * 400_000)
    assert result == Result(contract.STATUS_COMPLETED, prediction="x" * 400_000)
    assert needs_large_result(result)


def test_a_batched_response_of_the_right_length_splits_by_position():
    assert split_batched_prediction([{"a": 1}, {"b": 2}], 2) == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize("response", [[{"a": 1}], {"a": 1}, "text"])
def test_a_batched_response_of_another_shape_cannot_be_split(response):
    assert split_batched_prediction(response, 2) is None


# --- results items --------------------------------------------------------------------------------------
def test_a_results_item_has_exactly_the_contract_attributes_plus_the_ordering_attribute():
    item = result_item(REF, None, Result(contract.STATUS_COMPLETED, prediction={"label": "x"}), "ep", WHEN)
    # The contract's attributes now include the model's name and version (RESULT_MODEL_ATTRIBUTES; a
    # prediction_uri only replaces a large prediction); environment_started_at is internal, like the order.
    assert set(item) == {
        *contract.RESULT_ATTRIBUTES,
        *MODEL_FIELDS,
        contract.SEQUENCER_ORDER_ATTRIBUTE,
        contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE,
    }


def test_a_results_item_records_provenance():
    model = ModelIdentity("sentiment", "sha256:3f2a9c1b0d4e5f60", 1_714_564_800_000)
    item = result_item(REF, None, Result(contract.STATUS_COMPLETED, prediction=[1]), "ep", WHEN, model=model)
    assert item == {
        "pk": "s3://ingest-bucket/docs/a b+c.txt",
        "status": "completed",
        "reason": None,
        "prediction": [1],
        "route": "uploads",
        "sequencer": "0055AED6DCD90281E5",
        "version_id": "v1",
        "etag": "abc",
        "size": 5,
        "endpoint": "ep",
        "processed_at": "2024-05-01T12:00:01.234Z",
        "model": "sentiment",
        "model_version": "sha256:3f2a9c1b0d4e5f60",
        contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE: 1_714_564_800_000,
        contract.SEQUENCER_ORDER_ATTRIBUTE: sequencer_order("0055AED6DCD90281E5"),
    }


def test_what_s3_returned_overrides_the_event_metadata():
    meta = ObjectMeta(version_id="v2", etag='"quoted"', size=9)
    item = result_item(REF, meta, Result(contract.STATUS_COMPLETED), "ep", WHEN)
    assert (item["version_id"], item["etag"], item["size"]) == ("v2", "quoted", 9)


def test_an_item_without_sequencer_has_no_ordering_attribute():
    ref = ObjectRef("b", "k", None, None, None, None, None, "r")
    assert contract.SEQUENCER_ORDER_ATTRIBUTE not in result_item(
        ref, None, Result("missing", "x"), "ep", WHEN
    )


def test_processed_at_is_iso_8601_utc():
    assert iso_utc(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000Z"


# --- outcome messages -----------------------------------------------------------------------------------
def test_an_outcome_message_carries_the_item_fields_as_json():
    item = result_item(REF, None, Result("completed", prediction={"score": Decimal("0.5")}), "ep", WHEN)
    body = json.loads(outcome_message(item).body)
    assert body["pk"] == "s3://ingest-bucket/docs/a b+c.txt"
    assert body["prediction"] == {"score": 0.5}
    assert set(body) == {*contract.RESULT_ATTRIBUTES, *MODEL_FIELDS}


def test_an_outcome_message_has_status_and_route_attributes():
    item = result_item(REF, None, Result("rejected", "too_large"), "ep", WHEN)
    assert outcome_message(item).attributes == {
        contract.MESSAGE_ATTRIBUTE_STATUS: {"DataType": "String", "StringValue": "rejected"},
        contract.MESSAGE_ATTRIBUTE_ROUTE: {"DataType": "String", "StringValue": "uploads"},
    }


def test_a_prediction_too_large_for_sns_is_omitted_from_the_message():
    item = result_item(REF, None, Result("completed", prediction="x" * 270_000), "ep", WHEN)
    message = outcome_message(item)
    body = json.loads(message.body)
    assert body["prediction"] is None and body["prediction_omitted"] is True
    assert message.size < SNS_MAX_REQUEST_BYTES


def test_decimals_become_json_numbers():
    assert to_jsonable({"a": [Decimal("1"), Decimal("0.25")]}) == {"a": [1, 0.25]}


def test_publish_chunks_hold_at_most_ten_messages():
    assert [len(chunk) for chunk in publish_chunks([100] * 23)] == [10, 10, 3]


def test_publish_chunks_stay_within_the_request_size():
    chunks = publish_chunks([100_000, 100_000, 100_000, 10])
    assert chunks == [[0, 1], [2, 3]]
