"""Every event shape a route delivers is normalised to object references (pure; no AWS)."""

import json

import pytest
from inference_fakes import (
    BUCKET,
    ROUTE,
    S3_TEST_EVENT,
    SCOPE,
    eventbridge_event,
    s3_event,
    s3_record,
    sns_envelope,
    sns_event,
    sqs_event,
)

from lambdas.inference.domain import ObjectRef, RouteScope
from lambdas.inference.events import Source, normalise_event


def refs_of(event):
    normalised = normalise_event(event, SCOPE)
    return [ref for record in normalised.records for ref in record.refs]


def only_record(event, scope=SCOPE):
    normalised = normalise_event(event, scope)
    assert len(normalised.records) == 1
    return normalised.records[0]


# --- the four routes ------------------------------------------------------------------------------------
def test_a_direct_s3_notification_becomes_one_reference_with_provenance():
    event = s3_event(s3_record("docs/a.txt", size=12, version_id="v1", sequencer="0055AED6DCD90281E5"))
    assert refs_of(event) == [
        ObjectRef(
            bucket=BUCKET,
            key="docs/a.txt",
            version_id="v1",
            etag="0123456789abcdef",
            size=12,
            sequencer="0055AED6DCD90281E5",
            event_time="2024-05-01T12:00:00.000Z",
            route=ROUTE,
        )
    ]


def test_a_direct_s3_event_is_detected_as_s3():
    assert normalise_event(s3_event(s3_record("a.txt")), SCOPE).source is Source.S3


def test_an_sns_record_carrying_an_s3_notification_is_unwrapped():
    normalised = normalise_event(sns_event(s3_event(s3_record("docs/a.txt"))), SCOPE)
    assert normalised.source is Source.SNS
    assert [ref.key for ref in normalised.records[0].refs] == ["docs/a.txt"]


def test_an_sqs_record_whose_body_is_an_s3_notification_is_unwrapped():
    normalised = normalise_event(sqs_event(s3_event(s3_record("batch/a.txt"))), SCOPE)
    assert normalised.source is Source.SQS
    assert normalised.records[0].record_id == "msg-0"
    assert [ref.key for ref in normalised.records[0].refs] == ["batch/a.txt"]


def test_an_sqs_record_holding_a_non_raw_sns_envelope_is_unwrapped_twice():
    event = sqs_event(sns_envelope(s3_event(s3_record("uploads/a.txt"))))
    assert [ref.key for ref in refs_of(event)] == ["uploads/a.txt"]


def test_an_eventbridge_object_created_event_becomes_a_reference():
    event = eventbridge_event("events/a.txt", size=7, version_id="v9", sequencer="006408CAD69598B05E")
    normalised = normalise_event(event, SCOPE)
    assert normalised.source is Source.EVENTBRIDGE
    assert normalised.records[0].refs == (
        ObjectRef(
            BUCKET,
            "events/a.txt",
            "v9",
            "4e68adba0abe2dc8653dc3354e14c01d",
            7,
            "006408CAD69598B05E",
            "2024-05-01T12:00:00Z",
            ROUTE,
        ),
    )


def test_an_sqs_wrapped_eventbridge_event_is_unwrapped():
    assert [ref.key for ref in refs_of(sqs_event(eventbridge_event("events/a.txt")))] == ["events/a.txt"]


def test_an_sns_delivered_eventbridge_event_is_unwrapped():
    assert [ref.key for ref in refs_of(sns_event(eventbridge_event("events/a.txt")))] == ["events/a.txt"]


def test_each_sqs_record_keeps_its_own_message_id():
    event = sqs_event(s3_event(s3_record("a.txt")), s3_event(s3_record("b.txt")), ids=["m1", "m2"])
    records = normalise_event(event, SCOPE).records
    assert [(r.record_id, r.refs[0].key) for r in records] == [("m1", "a.txt"), ("m2", "b.txt")]


def test_a_notification_with_several_records_yields_each_object():
    event = sqs_event(s3_event(s3_record("a.txt"), s3_record("b.txt")))
    assert [ref.key for ref in refs_of(event)] == ["a.txt", "b.txt"]


# --- keys -----------------------------------------------------------------------------------------------
def test_a_plus_in_a_notification_key_is_a_space():
    assert refs_of(s3_event(s3_record("New+File.jpg", encode=False)))[0].key == "New File.jpg"


def test_an_encoded_plus_in_a_notification_key_is_a_plus():
    assert refs_of(s3_event(s3_record("a%2Bb.txt", encode=False)))[0].key == "a+b.txt"


def test_spaces_plus_and_unicode_survive_encoding_round_trip():
    key = "dir/ünï cödé + 文字 ✓.txt"
    assert refs_of(s3_event(s3_record(key)))[0].key == key


def test_an_encoded_eventbridge_key_is_decoded_and_keeps_the_raw_key_as_fallback():
    ref = refs_of(eventbridge_event("my+file%2B1.txt"))[0]
    assert (ref.key, ref.fallback_key) == ("my file+1.txt", "my+file%2B1.txt")


def test_a_plain_eventbridge_key_has_no_fallback():
    ref = refs_of(eventbridge_event("events/plain.txt"))[0]
    assert (ref.key, ref.fallback_key) == ("events/plain.txt", None)


def test_notification_keys_have_no_fallback_because_s3_always_encodes_them():
    assert refs_of(s3_event(s3_record("a b.txt")))[0].fallback_key is None


# --- tolerated variations -------------------------------------------------------------------------------
def test_an_s3_prefixed_event_name_is_accepted():
    assert len(refs_of(s3_event(s3_record("a.txt", event_name="s3:ObjectCreated:Copy")))) == 1


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2", "2.3", "2.6"])
def test_any_minor_event_version_is_accepted(version):
    record = s3_record("a.txt")
    record["eventVersion"] = version
    assert len(refs_of(s3_event(record))) == 1


@pytest.mark.parametrize("version_id", [None, "", "null-json"])
def test_an_absent_empty_or_null_version_id_means_no_version(version_id):
    record = s3_record("a.txt")
    if version_id == "null-json":
        record["s3"]["object"]["versionId"] = None
    elif version_id is not None:
        record["s3"]["object"]["versionId"] = version_id
    assert refs_of(s3_event(record))[0].version_id is None


def test_a_missing_sequencer_is_not_an_error():
    assert refs_of(s3_event(s3_record("a.txt", sequencer=None)))[0].sequencer is None


def test_a_missing_size_is_not_an_error():
    assert refs_of(s3_event(s3_record("a.txt")))[0].size is None


# --- skipped --------------------------------------------------------------------------------------------
def test_an_object_removed_event_is_skipped_with_its_uri():
    record = only_record(s3_event(s3_record("gone.txt", event_name="ObjectRemoved:Delete")))
    assert record.refs == () and record.problems == ()
    assert record.skips[0].object_uri == f"s3://{BUCKET}/gone.txt"
    assert "ObjectRemoved:Delete" in record.skips[0].reason


def test_a_glacier_restore_completion_is_not_a_new_object():
    record = s3_record("cold.txt", event_name="ObjectRestore:Completed")
    assert only_record(s3_event(record)).refs == ()


def test_a_record_with_glacier_restore_data_is_skipped_whatever_its_event_name():
    record = s3_record("cold.txt")
    record["glacierEventData"] = {"restoreEventData": {"lifecycleRestoreStorageClass": "standard"}}
    assert "restore" in only_record(s3_event(record)).skips[0].reason


def test_an_eventbridge_object_deleted_event_is_skipped():
    record = only_record(eventbridge_event("a.txt", detail_type="Object Deleted"))
    assert record.refs == () and "Object Deleted" in record.skips[0].reason


def test_a_direct_s3_test_event_is_acknowledged():
    normalised = normalise_event(S3_TEST_EVENT, SCOPE)
    assert normalised.source is Source.S3_TEST
    assert normalised.problem is None and "s3:TestEvent" in normalised.records[0].skips[0].reason


def test_an_s3_test_event_in_an_sqs_body_is_acknowledged():
    record = only_record(sqs_event(S3_TEST_EVENT))
    assert (record.refs, record.problems) == ((), ())
    assert record.skips


def test_an_s3_test_event_in_an_sns_message_is_acknowledged():
    record = only_record(sns_event(S3_TEST_EVENT))
    assert (record.refs, record.problems, len(record.skips)) == ((), (), 1)


# --- unrecognisable -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("hello world", "not JSON"),
        ("", "empty"),
        (json.dumps({"message": "foo"}), "not an S3 notification"),
        (json.dumps([1, 2]), "not an object"),
    ],
)
def test_an_sqs_body_that_is_not_an_s3_notification_is_a_record_problem(body, problem):
    record = only_record(sqs_event(body))
    assert record.refs == ()
    assert problem in record.problems[0]


def test_an_sns_message_that_is_plain_text_is_a_record_problem():
    assert "not JSON" in only_record(sns_event("Hello from SNS!")).problems[0]


def test_an_eventbridge_event_from_another_source_is_a_problem():
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "detail": {},
    }
    assert "not an S3 notification" in only_record(event).problems[0]


def test_an_unsupported_major_event_version_is_a_problem():
    record = s3_record("a.txt")
    record["eventVersion"] = "3.0"
    assert "eventVersion" in only_record(s3_event(record)).problems[0]


def test_an_s3_record_without_a_key_is_a_problem():
    record = s3_record("a.txt")
    del record["s3"]["object"]["key"]
    assert only_record(s3_event(record)).problems


def test_one_bad_record_does_not_hide_the_good_ones_in_the_same_message():
    bad = s3_record("b.txt")
    del bad["s3"]["bucket"]
    record = only_record(sqs_event(s3_event(s3_record("a.txt"), bad)))
    assert [ref.key for ref in record.refs] == ["a.txt"] and len(record.problems) == 1


def test_an_event_of_unknown_shape_is_a_problem_of_the_whole_event():
    normalised = normalise_event({"invocationSchemaVersion": "1.0", "tasks": []}, SCOPE)
    assert normalised.source is Source.UNKNOWN and normalised.problem


def test_records_from_another_service_are_a_problem_of_the_whole_event():
    normalised = normalise_event({"Records": [{"eventSource": "aws:kinesis"}]}, SCOPE)
    assert "aws:kinesis" in normalised.problem


def test_a_non_object_event_is_a_problem():
    assert normalise_event("text", SCOPE).problem


# --- the function's route -------------------------------------------------------------------------------
DATA = RouteScope(ROUTE, BUCKET, prefix="data/", suffix=".json")


def refusals_of(event, scope=DATA):
    return [
        (r.object_uri, r.reason) for record in normalise_event(event, scope).records for r in record.refusals
    ]


def refs_of_scope(event, scope):
    return [ref for record in normalise_event(event, scope).records for ref in record.refs]


def test_a_created_object_in_another_bucket_is_refused_not_referenced():
    record = only_record(s3_event(s3_record("a.txt", bucket="other-bucket")))
    assert record.refs == () and [r.object_uri for r in record.refusals] == ["s3://other-bucket/a.txt"]
    assert "outside this function's route" in record.refusals[0].reason


def test_a_refusal_names_the_bucket_and_filter_the_function_serves():
    [(_, reason)] = refusals_of(s3_event(s3_record("uploads/a.json")))
    assert f"bucket {BUCKET!r}, prefix 'data/', suffix '.json'" in reason


@pytest.mark.parametrize(
    "key", ["uploads/a.json", "data/a.txt", "data/ünïcødé 文字.txt", "datä/a.json", "other/data/a+b c.json"]
)
def test_a_created_object_outside_the_route_prefix_or_suffix_is_refused(key):
    assert refusals_of(sqs_event(s3_event(s3_record(key)))) == [
        (f"s3://{BUCKET}/{key}", f"outside this function's route ({DATA.describe()})")
    ]


@pytest.mark.parametrize(
    "key", ["data/a b.json", "data/a+b.json", "data/ünïcødé 文字 ✓.json", "data/100% sure.json"]
)
def test_an_encoded_notification_key_is_matched_decoded(key):
    normalised = normalise_event(s3_event(s3_record(key)), DATA)
    assert [ref.key for ref in normalised.records[0].refs] == [key]


def test_a_prefix_with_spaces_plus_and_unicode_matches_the_decoded_key():
    scope = RouteScope(ROUTE, BUCKET, prefix="dossiers à+b/")
    assert [ref.key for ref in refs_of_scope(s3_event(s3_record("dossiers à+b/x.txt")), scope)] == [
        "dossiers à+b/x.txt"
    ]
    assert refusals_of(s3_event(s3_record("dossiers à b/x.txt")), scope)


def test_an_eventbridge_event_for_another_bucket_is_refused():
    assert refusals_of(eventbridge_event("data/a.json", bucket="other-bucket"))


def test_an_eventbridge_key_outside_the_route_either_way_is_refused():
    assert refusals_of(eventbridge_event("uploads/a+b.json"))


def test_an_eventbridge_key_in_the_route_only_as_given_is_read_as_given():
    scope = RouteScope(ROUTE, BUCKET, prefix="a+b/")
    [ref] = refs_of_scope(eventbridge_event("a+b/x.txt"), scope)
    assert (ref.key, ref.fallback_key) == ("a+b/x.txt", None)


def test_an_eventbridge_key_in_the_route_only_decoded_loses_its_fallback():
    scope = RouteScope(ROUTE, BUCKET, prefix="a b/")
    [ref] = refs_of_scope(eventbridge_event("a+b/x.txt"), scope)
    assert (ref.key, ref.fallback_key) == ("a b/x.txt", None)


def test_one_record_outside_the_route_does_not_hide_the_others_in_its_message():
    record = only_record(sqs_event(s3_event(s3_record("data/a.json"), s3_record("uploads/b.json"))), DATA)
    assert [ref.key for ref in record.refs] == ["data/a.json"]
    assert [r.object_uri for r in record.refusals] == [f"s3://{BUCKET}/uploads/b.json"]


def test_a_refused_record_fails_permanently_naming_the_object():
    record = only_record(s3_event(s3_record("a.txt", bucket="other-bucket")))
    assert record.permanent_failures == (f"s3://other-bucket/a.txt: {record.refusals[0].reason}",)


def test_an_s3_test_event_for_another_bucket_is_acknowledged_not_refused():
    record = only_record(sqs_event({**S3_TEST_EVENT, "Bucket": "other-bucket"}), DATA)
    assert (record.refs, record.refusals, record.problems, len(record.skips)) == ((), (), (), 1)


def test_an_object_removed_event_outside_the_route_is_skipped_because_nothing_would_be_read():
    record = only_record(s3_event(s3_record("uploads/a.json", event_name="ObjectRemoved:Delete")), DATA)
    assert (record.refs, record.refusals, len(record.skips)) == ((), (), 1)


# --- folder markers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, None])
def test_a_folder_marker_is_skipped_with_its_uri(size):
    record = only_record(s3_event(s3_record("docs/2024/", size=size)))
    assert (record.refs, record.problems, record.refusals) == ((), (), ())
    assert [(s.object_uri, "folder marker" in s.reason) for s in record.skips] == [
        (f"s3://{BUCKET}/docs/2024/", True)
    ]


def test_a_key_ending_in_a_slash_that_holds_content_is_processed():
    assert [ref.key for ref in refs_of(s3_event(s3_record("docs/2024/", size=5)))] == ["docs/2024/"]


def test_an_eventbridge_folder_marker_is_skipped():
    record = only_record(eventbridge_event("docs/2024/", size=0))
    assert record.refs == () and "folder marker" in record.skips[0].reason


def test_a_folder_marker_outside_the_route_is_refused_like_any_created_object():
    assert refusals_of(s3_event(s3_record("uploads/", size=0)))


# --- large results the pipeline wrote ------------------------------------------------------------------
OWN_RESULT = "results/" + "3f2a" * 16 + ".json"


def test_a_large_result_the_pipeline_wrote_is_skipped_not_scored_again():
    # A route whose filter matches every key would otherwise score its own large results, and a model whose
    # answers are all large would feed itself forever.
    record = only_record(s3_event(s3_record(OWN_RESULT, size=500_000)))
    assert (record.refs, record.refusals) == ((), ())
    assert [s.object_uri for s in record.skips] == [f"s3://{BUCKET}/{OWN_RESULT}"]


def test_an_eventbridge_event_for_a_large_result_the_pipeline_wrote_is_skipped():
    assert "LARGE_RESULTS_PREFIX" in only_record(eventbridge_event(OWN_RESULT, size=500_000)).skips[0].reason


def test_a_large_result_under_another_functions_prefix_is_an_input_here():
    scope = RouteScope(ROUTE, BUCKET, results_prefix="elsewhere/")
    assert [ref.key for ref in only_record(s3_event(s3_record(OWN_RESULT, size=9)), scope).refs] == [
        OWN_RESULT
    ]


# --- the route's trigger --------------------------------------------------------------------------------
def _via(via: str) -> RouteScope:
    return RouteScope(ROUTE, BUCKET, via=via)


@pytest.mark.parametrize("via", ["sns", "lambda", "eventbridge"])
def test_an_sqs_batch_reaching_a_function_no_queue_feeds_is_a_problem_of_the_whole_event(via):
    normalised = normalise_event(sqs_event(s3_event(s3_record("a.txt")), "garbage"), _via(via))
    assert normalised.problem == (
        f"an SQS batch reached the function of {via} route {ROUTE!r}, which no queue feeds "
        "(its partial batch response would be read by no one)"
    )
    assert normalised.records == ()


@pytest.mark.parametrize("via", ["sqs", ""])
def test_an_sqs_batch_is_normalised_for_the_sqs_route_or_an_unknown_trigger(via):
    assert normalise_event(sqs_event(s3_event(s3_record("a.txt"))), _via(via)).problem is None


@pytest.mark.parametrize("via", ["sns", "sqs", "lambda", "eventbridge"])
@pytest.mark.parametrize(
    "event",
    [s3_event(s3_record("a.txt")), sns_event(s3_event(s3_record("a.txt"))), eventbridge_event("a.txt")],
    ids=["s3", "sns", "eventbridge"],
)
def test_a_replayed_event_of_another_shape_is_processed_within_the_route(via, event):
    # An operator may replay a raw S3 notification to any route's function; its scope still applies.
    normalised = normalise_event(event, _via(via))
    assert normalised.problem is None
    assert [ref.uri for record in normalised.records for ref in record.refs] == [f"s3://{BUCKET}/a.txt"]
