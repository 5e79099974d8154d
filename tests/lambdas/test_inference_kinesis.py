"""Kinesis records, pure: how a record's data becomes a model request or a rejection, how a record is keyed
and ordered, and how a Kinesis event is normalised for a kinesis route's function (and refused by others)."""

import json

import pytest
from inference_fakes import BUCKET, ROUTE, STREAM, kinesis_event, kinesis_record, sequence

from lambdas.inference import contract
from lambdas.inference.domain import (
    Payload,
    Result,
    RouteScope,
    kinesis_record_uri,
    record_id,
    record_payload,
    result_item,
    sequence_number_order,
)
from lambdas.inference.events import Source, normalise_event

KINESIS_SCOPE = RouteScope(ROUTE, BUCKET, via="kinesis", stream=STREAM)


def text_request(data: bytes) -> Payload | Result:
    return record_payload(data, contract.PAYLOAD_TEXT, None, None)


def json_request(data: bytes, field: str | None = None, key: str | None = None) -> Payload | Result:
    return record_payload(data, contract.PAYLOAD_JSON, field, key)


# --- record data -> request -----------------------------------------------------------------------------
def test_a_text_record_object_sends_its_text_field():
    built = text_request(b'{"id": "r1", "text": "great service"}')
    assert isinstance(built, Payload) and built.text == "great service"
    assert json.loads(built.body) == {"inputs": "great service"}


def test_plain_utf8_data_is_the_text_of_a_text_model():
    built = text_request("café au lait".encode())
    assert isinstance(built, Payload) and built.text == "café au lait"


def test_a_json_record_object_sends_its_input_document():
    built = json_request(b'{"input": {"question": "why?", "context": "because"}}')
    assert isinstance(built, Payload) and json.loads(built.body) == {"question": "why?", "context": "because"}


def test_a_json_records_input_honours_the_input_field_and_request_key():
    built = json_request(b'{"input": {"review": "fine", "x": 1}}', field="review", key="inputs")
    assert isinstance(built, Payload) and json.loads(built.body) == {"inputs": "fine"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe\x00", contract.REASON_NOT_TEXT),
        (b"", contract.REASON_EMPTY_RECORD),
        (b"   \n", contract.REASON_EMPTY_RECORD),
        (b'{"text": "unterminated', contract.REASON_MALFORMED_JSON),
        (b'{"id": "r1"}', contract.REASON_MALFORMED_RECORD),
        (b'{"text": ""}', contract.REASON_MALFORMED_RECORD),
        (b'{"text": 42}', contract.REASON_MALFORMED_RECORD),
        (b'{"text": "ok", "extra": 1}', contract.REASON_MALFORMED_RECORD),
        (b'{"id": 7, "text": "ok"}', contract.REASON_MALFORMED_RECORD),
    ],
    ids=["not utf-8", "empty", "whitespace", "broken json", "no text", "empty text", "text not a string",
         "unknown field", "id not a string"],
)  # fmt: skip
def test_a_text_record_that_is_no_input_is_rejected_with_its_reason(data, reason):
    built = text_request(data)
    assert isinstance(built, Result) and (built.status, built.reason) == (contract.STATUS_REJECTED, reason)
    assert built.detail


def test_plain_text_is_refused_by_a_json_model():
    built = json_request(b"just words")
    assert isinstance(built, Result) and built.reason == contract.REASON_NOT_A_JSON_OBJECT


def test_a_json_record_without_input_is_rejected():
    built = json_request(b'{"id": "r1"}')
    assert isinstance(built, Result) and built.reason == contract.REASON_MALFORMED_RECORD


# --- keys and order -------------------------------------------------------------------------------------
def test_a_record_with_an_id_is_keyed_by_stream_and_id():
    assert kinesis_record_uri("s", "pk", "123", "order-7") == "kinesis://s/order-7"


def test_a_record_without_an_id_is_keyed_by_partition_key_and_sequence_number():
    assert kinesis_record_uri("s", "pk", "123", None) == "kinesis://s/pk/123"


def test_the_record_id_is_read_from_a_json_object_only():
    assert record_id(b'{"id": "r1", "text": "x"}') == "r1"
    assert record_id(b'"r1"') is None and record_id(b"id") is None


def test_an_overlong_id_is_no_key():
    assert record_id(json.dumps({"id": "x" * 257, "text": "t"}).encode()) is None


def test_padded_sequence_numbers_compare_as_strings_like_numbers():
    small, large = "9" * 20, "1" + "0" * 20
    assert int(small) < int(large)
    assert sequence_number_order(small) < sequence_number_order(large)
    assert len(sequence_number_order(small)) == len(sequence_number_order("1" * 129))


@pytest.mark.parametrize("value", ["", "01", "12a", "-5", None])
def test_something_else_than_a_sequence_number_has_no_order(value):
    assert sequence_number_order(value) is None


# --- normalising a Kinesis event ------------------------------------------------------------------------
def test_kinesis_records_become_refs_carrying_their_data_in_shard_order():
    event = kinesis_event(
        kinesis_record({"id": "a", "text": "one"}, sequence(1)), kinesis_record("two", sequence(2))
    )
    normalised = normalise_event(event, KINESIS_SCOPE)
    assert normalised.source is Source.KINESIS and normalised.problem is None
    assert [record.record_id for record in normalised.records] == [sequence(1), sequence(2)]
    first, second = (record.refs[0] for record in normalised.records)
    assert (first.uri, first.data) == (f"kinesis://{STREAM}/a", b'{"id": "a", "text": "one"}')
    assert second.uri == f"kinesis://{STREAM}/pk-1/{sequence(2)}"


def test_a_record_from_another_stream_is_refused():
    other = "arn:aws:kinesis:us-east-1:123456789012:stream/other"
    normalised = normalise_event(
        kinesis_event(kinesis_record("x", sequence(1), stream_arn=other)), KINESIS_SCOPE
    )
    [record] = normalised.records
    assert not record.refs and record.refusals and record.permanent_failures


def test_a_record_whose_data_is_not_base64_is_a_problem_of_that_record():
    raw = kinesis_record("x", sequence(1))
    raw["kinesis"]["data"] = "***"
    [record] = normalise_event(kinesis_event(raw), KINESIS_SCOPE).records
    assert record.problems and record.record_id == sequence(1)


def test_kinesis_records_reaching_another_routes_function_are_a_problem_of_the_whole_event():
    scope = RouteScope(ROUTE, BUCKET, via="sqs")
    normalised = normalise_event(kinesis_event(kinesis_record("x", sequence(1))), scope)
    assert normalised.source is Source.UNKNOWN and "aws:kinesis" in normalised.problem


def test_a_records_item_is_ordered_by_its_padded_sequence_number():
    [record] = normalise_event(kinesis_event(kinesis_record("x", sequence(5))), KINESIS_SCOPE).records
    item = result_item(record.refs[0], None, Result(contract.STATUS_COMPLETED, prediction=[]), "e", _now())
    assert item["sequencer"] == sequence(5)
    assert item[contract.SEQUENCER_ORDER_ATTRIBUTE] == sequence(5).zfill(129)
    assert item["size"] == 1 and item["version_id"] is None


def _now():
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime(2024, 1, 1, tzinfo=UTC)
