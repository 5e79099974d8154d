"""Kinesis dead letters (pure, no mocks): the on-failure record decoded to shard, sequence range and reason;
the re-read records that are the batch's; the event the mapping delivers, as the handler reads it; what the
function's answer means; and the kinesis route in the stack outputs."""

from __future__ import annotations

import base64
import json

import pytest
from ops_samples import (
    BUCKET,
    SHARD,
    STREAM_ARN,
    STREAM_NAME,
    dev_outputs_with_stream,
    kinesis_on_failure_record,
    s3_notification,
    sqs_message,
)

from lambdas.inference.domain import RouteScope
from lambdas.inference.events import normalise_event
from ops.dead_letters import DeadLetter, Kind, StreamBatch, Unreadable, decode
from ops.outputs import parse_outputs
from ops.stream_batches import EXPIRED, StreamRecord, collect, invocation_failure, kinesis_event

STACK = parse_outputs(dev_outputs_with_stream(), "outputs.json")
FIRST, LAST = (
    "49590338271490256608559692538361571095921575989136588898",
    "49590338271490256608559692540925702759324208523137515618",
)


def _decode(message: dict) -> DeadLetter | Unreadable:
    return decode(message, STACK.route("stream"), BUCKET)


def _batch(start: str = "100", end: str = "104", size: int = 5) -> StreamBatch:
    return StreamBatch(STREAM_ARN, SHARD, start, end, size)


def _record(number: int | str, data: bytes = b'{"id": "r", "text": "fine"}') -> StreamRecord:
    return StreamRecord(str(number), "customer-42", data, 1735689600.123)


def test_kinesis_route_outputs_give_the_stream_as_its_entry():
    route = STACK.route("stream")
    assert (route.via, route.stream_name, route.stream_arn) == ("kinesis", STREAM_NAME, STREAM_ARN)
    assert route.entry == f"stream {STREAM_NAME}"


def test_kinesis_route_names_no_object():
    assert not STACK.route("stream").matches("anything.txt")


def test_kinesis_route_lacking_its_stream_arn_is_refused():
    outputs = dev_outputs_with_stream()
    del outputs["routes"]["stream"]["stream_arn"]
    with pytest.raises(Exception, match="route 'stream' lacks stream_arn"):
        parse_outputs(outputs, "outputs.json")


def test_kinesis_on_failure_record_gives_shard_sequence_range_size_and_reason():
    letter = _decode(sqs_message(kinesis_on_failure_record(FIRST, LAST, 7)))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.KINESIS_ON_FAILURE
    assert letter.batch == StreamBatch(
        STREAM_ARN, SHARD, FIRST, LAST, 7, "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:01.000Z"
    )
    assert letter.batch.sequence_range == f"{FIRST}..{LAST}"
    assert letter.reason == "RetryAttemptsExhausted after 3 attempts: function error (Unhandled)"


def test_kinesis_on_failure_record_is_redeliverable_though_it_names_no_object():
    letter = _decode(sqs_message(kinesis_on_failure_record(FIRST, FIRST, 1)))
    assert isinstance(letter, DeadLetter) and letter.object_uris == () and letter.redeliverable


def test_kinesis_on_failure_record_of_another_stream_is_unreadable():
    other = STREAM_ARN.replace(STREAM_NAME, "someone-elses")
    letter = _decode(sqs_message(kinesis_on_failure_record(FIRST, LAST, 2, stream_arn=other)))
    assert isinstance(letter, Unreadable)
    assert letter.why == f"a batch of stream {other}, not of route 'stream''s stream"


def test_kinesis_on_failure_record_with_its_range_reversed_is_unreadable():
    letter = _decode(sqs_message(kinesis_on_failure_record(LAST, FIRST, 2)))
    assert isinstance(letter, Unreadable) and letter.why.startswith("KinesisBatchInfo has no sequence range")


def test_kinesis_on_failure_record_in_an_object_routes_dlq_is_unreadable():
    letter = decode(sqs_message(kinesis_on_failure_record(FIRST, LAST, 2)), STACK.route("data"), BUCKET)
    assert isinstance(letter, Unreadable)
    assert letter.why == "a kinesis-on-failure message, which a lambda route's DLQ never receives"


def test_an_s3_notification_in_the_kinesis_routes_dlq_is_unreadable():
    assert isinstance(_decode(sqs_message(s3_notification("uploads/a.txt"))), Unreadable)


def test_batch_range_compares_sequence_numbers_as_numbers_not_strings():
    batch = _batch("99", "101", 3)
    assert batch.holds("100") and not batch.holds("1000") and batch.is_past("1000")


def test_collect_keeps_the_batchs_records_and_nothing_around_them():
    reread = collect(_batch(), [_record(n) for n in (99, 100, 101, 102, 103, 104, 105)])
    assert [r.sequence_number for r in reread.records] == ["100", "101", "102", "103", "104"]
    assert reread.expired == 0 and reread.why_kept is None


def test_collect_counts_records_the_stream_no_longer_holds_as_expired():
    reread = collect(_batch(), [_record(n) for n in (102, 103, 104, 105)])
    assert reread.expired == 2
    assert reread.why_kept == f"2 of 5 records {EXPIRED} (the rest redelivered; message kept)"


def test_collect_of_a_batch_wholly_gone_is_expired_from_the_stream():
    reread = collect(_batch(), [_record(200)])
    assert reread.records == () and reread.why_kept == EXPIRED


def test_kinesis_event_is_read_by_the_handler_as_the_same_records_and_keys():
    records = [_record(100, b'{"id": "review-1", "text": "great"}'), _record(101, b"plain text")]
    event = kinesis_event(_batch(), records, "us-east-1", "arn:aws:iam::123456789012:role/r")
    scope = RouteScope(name="stream", bucket=BUCKET, prefix="", suffix="", via="kinesis", stream=STREAM_NAME)
    normalised = normalise_event(event, scope)
    assert normalised.problem is None
    assert [ref.record_uri for record in normalised.records for ref in record.refs] == [
        f"kinesis://{STREAM_NAME}/review-1",
        f"kinesis://{STREAM_NAME}/customer-42/101",
    ]


def test_kinesis_event_carries_the_data_base64_and_the_shard_in_the_event_id():
    (record,) = kinesis_event(_batch(), [_record(100, b"hello")], "us-east-1", None)["Records"]
    assert base64.b64decode(record["kinesis"]["data"]) == b"hello"
    assert (record["eventID"], record["eventSourceARN"]) == (f"{SHARD}:100", STREAM_ARN)
    assert json.loads(json.dumps(record)) == record  # an Invoke payload


def test_a_complete_batch_response_is_no_failure():
    assert invocation_failure(None, {"batchItemFailures": []}) is None


def test_a_partial_batch_response_is_a_failure_naming_the_first_sequence_number():
    failure = invocation_failure(None, {"batchItemFailures": [{"itemIdentifier": "102"}]})
    assert failure == "the function failed the batch again from sequence number 102"


def test_a_function_error_is_a_failure_with_its_error():
    failure = invocation_failure("Unhandled", {"errorType": "TransientError", "errorMessage": "model down"})
    assert failure == "function error (Unhandled): TransientError: model down"
