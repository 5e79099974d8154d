"""DLQ messages of every kind decoded to objects, reason and the event that goes back (pure, no mocks)."""

from __future__ import annotations

import json

from ops_samples import (
    BUCKET,
    dev_outputs,
    eventbridge_event,
    invocation_record,
    s3_notification,
    sns_envelope,
    sqs_message,
)

from lambdas.inference.domain import RouteScope
from lambdas.inference.events import normalise_event
from ops.dead_letters import DeadLetter, Kind, Unreadable, decode
from ops.outputs import parse_outputs

STACK = parse_outputs(dev_outputs(), "outputs.json")


def _decode(route: str, message: dict) -> DeadLetter | Unreadable:
    return decode(message, STACK.route(route), BUCKET)


def test_lambda_on_failure_record_gives_the_object_the_reason_and_the_original_event():
    event = {
        "Records": [{"EventSource": "aws:sns", "Sns": sns_envelope(s3_notification("uploads/a.txt"), "t")}]
    }
    letter = _decode("uploads", sqs_message(invocation_record("uploads", event)))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.LAMBDA_ON_FAILURE
    assert letter.object_uris == (f"s3://{BUCKET}/uploads/a.txt",)
    assert letter.reason == "RetriesExhausted after 3 attempts: TransientError: model timed out"
    assert letter.redelivery == event


def test_invocation_record_of_another_function_is_unreadable():
    record = invocation_record(
        "data", s3_notification("data/a.json"), function="arn:aws:lambda:x:1:function:other"
    )
    decoded = _decode("data", sqs_message(record))
    assert isinstance(decoded, Unreadable)
    assert "not of route 'data''s function" in decoded.why


def test_eventbridge_target_dead_letter_reason_comes_from_its_message_attributes():
    attributes = {
        "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/events-object-created",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:inference-events",
        "ERROR_CODE": "SDK_CLIENT_ERROR",
        "ERROR_MESSAGE": "Unable to invoke Lambda",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "2",
    }
    event = eventbridge_event("events/a.txt")
    letter = _decode("events", sqs_message(event, attributes))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.EVENTBRIDGE_TARGET
    assert letter.reason == "SDK_CLIENT_ERROR: Unable to invoke Lambda (MaximumRetryAttempts), 2 retries"
    assert letter.redelivery == event
    assert letter.object_uris == (f"s3://{BUCKET}/events/a.txt",)


def test_sns_subscription_dead_letter_goes_back_as_the_sns_event_lambda_would_have_received():
    topic = STACK.route("uploads").topic_arn
    letter = _decode("uploads", sqs_message(sns_envelope(s3_notification("uploads/b.txt"), topic)))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.SNS_SUBSCRIPTION
    record = letter.redelivery["Records"][0]
    assert (record["EventSource"], record["Sns"]["TopicArn"]) == ("aws:sns", topic)
    scope = RouteScope(name="uploads", bucket=BUCKET, prefix="uploads/", via="sns")
    refs = [r.uri for rec in normalise_event(letter.redelivery, scope).records for r in rec.refs]
    assert refs == [f"s3://{BUCKET}/uploads/b.txt"]


def test_raw_s3_notification_in_an_sns_routes_dlq_is_a_raw_delivery_subscription_dead_letter():
    letter = _decode("uploads", sqs_message(s3_notification("uploads/raw.txt")))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.SNS_SUBSCRIPTION
    assert letter.redelivery["Records"][0]["Sns"]["Message"] == json.dumps(s3_notification("uploads/raw.txt"))


def test_sqs_route_dead_letter_is_the_queue_message_body_sent_back_unchanged():
    body = json.dumps(s3_notification("batch/a.txt"))
    letter = _decode("batch", sqs_message(body))
    assert isinstance(letter, DeadLetter)
    assert letter.kind is Kind.SQS_REDRIVE
    assert json.loads(letter.redelivery) == json.loads(body)


def test_body_that_is_not_json_is_unreadable_with_a_preview():
    decoded = _decode("batch", sqs_message("this is not an S3 event"))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == "body is not a JSON object: this is not an S3 event"


def test_a_kind_the_routes_dlq_never_receives_is_unreadable():
    attributes = {"ERROR_CODE": "SDK_CLIENT_ERROR"}
    decoded = _decode("batch", sqs_message(eventbridge_event("batch/a.txt"), attributes))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == "a eventbridge-target message, which a sqs route's DLQ never receives"


def test_json_in_no_known_shape_is_unreadable_naming_its_keys():
    decoded = _decode("data", sqs_message({"hello": "world"}))
    assert isinstance(decoded, Unreadable)
    assert decoded.why == "not a shape any DLQ sender writes (keys: hello)"


def test_event_for_another_bucket_is_decoded_but_not_redeliverable():
    letter = _decode(
        "data", sqs_message(invocation_record("data", s3_notification("data/a.json", "elsewhere")))
    )
    assert isinstance(letter, DeadLetter)
    assert not letter.redeliverable
    assert letter.refused_uris == ("s3://elsewhere/data/a.json",)
    assert letter.why_not_redeliverable == "names objects outside the route: s3://elsewhere/data/a.json"


def test_sent_timestamp_is_kept_for_the_oldest_age():
    letter = _decode("batch", sqs_message(s3_notification("batch/a.txt")))
    assert letter.sent_at_ms == 1735689600000
