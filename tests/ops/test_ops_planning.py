"""Reprocess planning and the events it sends, read back by the handler's own normaliser (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from ops_samples import ACCOUNT, BUCKET, REGION, dev_outputs

from lambdas.inference.contract import (
    INFERENCE_ID_ATTRIBUTE,
    OUTCOME_PUBLISHED_ATTRIBUTE,
    STATUS_COMPLETED,
    STATUS_IN_PROGRESS,
)
from lambdas.inference.domain import AsyncNotice, RouteScope, sequencer_order
from lambdas.inference.events import normalise_event
from ops.aws import Pacer, start_move_task
from ops.cli import select_results
from ops.outputs import parse_outputs
from ops.planning import (
    LOWEST_SEQUENCER,
    NOTHING_DONE_ALREADY,
    NOTHING_NO_ITEM,
    NOTHING_OUTSIDE_OUTPUTS,
    NOTHING_SUPERSEDED,
    PUBLISHES_STORED,
    WRITES_AND_PUBLISHES,
    Planned,
    Skipped,
    inventory_keys,
    next_sequencer,
    notice_effect,
    plan_object,
)
from ops.s3_events import ObjectVersion, entry_payload

STACK = parse_outputs(dev_outputs(), "outputs.json")
MODIFIED = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _object(key: str = "batch/a b+c.txt", version: str | None = "3HL4kqtJlcpXroDTDmJ") -> ObjectVersion:
    return ObjectVersion(BUCKET, key, version, '"9b2cf535f27731c974343645a3985328"', 42, MODIFIED)


def test_an_object_without_a_result_is_sent_with_the_lowest_sequencer():
    plan = plan_object(_object(), None, STACK.route("batch"))
    assert isinstance(plan, Planned)
    assert plan.sequencer == LOWEST_SEQUENCER


def test_the_same_object_version_is_sent_with_its_stored_sequencer():
    item = {"sequencer": "0055AED6DCD90281E5", "version_id": "3HL4kqtJlcpXroDTDmJ"}
    plan = plan_object(_object(), item, STACK.route("batch"))
    assert isinstance(plan, Planned)
    assert plan.sequencer == "0055AED6DCD90281E5"


def test_an_unversioned_object_is_the_same_version_when_its_etag_matches():
    item = {"sequencer": "0055AED6DCD90281E5", "etag": "9b2cf535f27731c974343645a3985328"}
    plan = plan_object(_object(version="null"), item, STACK.route("batch"))
    assert isinstance(plan, Planned)
    assert plan.sequencer == "0055AED6DCD90281E5"


def test_a_result_of_an_older_upload_is_replaced_by_a_sequencer_ordering_after_it():
    item = {"sequencer": "0055AED6DCD90281E5", "version_id": "an-older-version"}
    plan = plan_object(_object(), item, STACK.route("batch"))
    assert isinstance(plan, Planned)
    assert sequencer_order(plan.sequencer) > sequencer_order("0055AED6DCD90281E5")
    # ... and still before any later real upload's sequencer.
    assert sequencer_order(plan.sequencer) < sequencer_order("0055AED6DCD90281E6")


def test_next_sequencer_is_the_stored_one_with_a_digit_appended():
    assert next_sequencer("0055AED6DCD90281E5") == "0055AED6DCD90281E51"


def test_an_object_outside_the_route_is_skipped_with_why():
    plan = plan_object(_object("data/a.txt"), None, STACK.route("data"))
    assert isinstance(plan, Skipped)
    assert plan.why == "outside route 'data' (prefix 'data/', suffix '.json')"


def test_a_folder_marker_is_skipped():
    plan = plan_object(
        ObjectVersion(BUCKET, "batch/folder/", "v", '""', 0, MODIFIED), None, STACK.route("batch")
    )
    assert plan == Skipped(f"s3://{BUCKET}/batch/folder/", "folder marker")


def test_s3_notification_is_read_back_by_the_handler_with_version_etag_size_and_sequencer():
    payload = entry_payload("sqs", _object(), "0055AED6DCD90281E5", REGION, ACCOUNT)
    scope = RouteScope(name="batch", bucket=BUCKET, prefix="batch/", via="sqs")
    (record,) = normalise_event(json.loads(payload), scope).records
    (ref,) = record.refs
    assert (ref.key, ref.version_id, ref.etag, ref.size, ref.sequencer) == (
        "batch/a b+c.txt",
        "3HL4kqtJlcpXroDTDmJ",
        "9b2cf535f27731c974343645a3985328",
        42,
        "0055AED6DCD90281E5",
    )


def test_eventbridge_event_is_read_back_by_the_handler_with_version_and_sequencer():
    payload = entry_payload("eventbridge", _object("events/x.txt"), "0055AED6DCD90281E5", REGION, ACCOUNT)
    scope = RouteScope(name="events", bucket=BUCKET, prefix="events/", via="eventbridge")
    (record,) = normalise_event(json.loads(payload), scope).records
    (ref,) = record.refs
    assert (ref.key, ref.version_id, ref.sequencer) == (
        "events/x.txt",
        "3HL4kqtJlcpXroDTDmJ",
        "0055AED6DCD90281E5",
    )


def test_an_unversioned_object_has_no_version_id_in_its_event():
    payload = json.loads(entry_payload("lambda", _object(version="null"), "01", REGION, ACCOUNT))
    assert "versionId" not in payload["Records"][0]["s3"]["object"]


def test_inventory_csv_rows_give_decoded_keys_and_leave_out_versions_that_are_not_latest():
    manifest = (
        f'"{BUCKET}","batch/a%20b.txt","v1","true"\n'
        f'"{BUCKET}","batch/old.txt","v0","false"\n'
        f'"{BUCKET}","batch/plain.txt"\n'
    )
    assert list(inventory_keys(manifest)) == [
        (BUCKET, "batch/a b.txt", "v1"),
        (BUCKET, "batch/plain.txt", None),
    ]


def test_pacer_sleeps_so_that_no_more_than_rate_operations_start_per_second():
    now, sleeps = [100.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pacer.wait()
    assert sleeps == [0.25, 0.25]


def test_pacer_without_a_rate_never_sleeps():
    sleeps = []
    pacer = Pacer(None, clock=lambda: 0.0, sleep=sleeps.append)
    pacer.wait()
    pacer.wait()
    assert sleeps == []


def test_results_are_selected_by_status_route_and_key_prefix():
    items = [
        {"pk": f"s3://{BUCKET}/batch/b.txt", "status": "completed", "route": "batch"},
        {"pk": f"s3://{BUCKET}/batch/a.txt", "status": "completed", "route": "batch"},
        {"pk": f"s3://{BUCKET}/batch/c.txt", "status": "rejected", "route": "batch"},
        {"pk": f"s3://{BUCKET}/data/a.json", "status": "completed", "route": "data"},
    ]
    chosen = select_results(items, "completed", "batch", "batch/", BUCKET)
    assert [i["pk"] for i in chosen] == [f"s3://{BUCKET}/batch/a.txt", f"s3://{BUCKET}/batch/b.txt"]


class _MoveTaskSqs:
    """Answers StartMessageMoveTask as SQS does, or as an endpoint without the API."""

    def __init__(self, supported: bool) -> None:
        self.supported, self.calls = supported, []

    def start_message_move_task(self, **params):
        self.calls.append(params)
        if not self.supported:
            raise NotImplementedError("StartMessageMoveTask")
        return {"TaskHandle": "handle-1"}


def test_sqs_route_redrive_starts_a_move_task_from_its_dlq_to_its_queue_at_the_rate():
    sqs, batch = _MoveTaskSqs(supported=True), STACK.route("batch")
    assert start_move_task(sqs, batch, 25) == "handle-1"
    assert sqs.calls == [
        {"SourceArn": batch.dlq_arn, "DestinationArn": batch.queue_arn, "MaxNumberOfMessagesPerSecond": 25}
    ]


def test_an_endpoint_without_move_tasks_gives_none_so_messages_move_one_by_one():
    assert start_move_task(_MoveTaskSqs(supported=False), STACK.route("batch"), None) is None


# -- what a redriven async notice will do, by the result writer's rules ----------------------------------
OUTPUTS = "s3://ingest-abc1234/async-inference/summarizer/output/"
NOTICE = AsyncNotice(
    inference_id="iid-1",
    input_location=f"s3://{BUCKET}/documents/x.json",
    succeeded=True,
    output_location=f"{OUTPUTS}180a5781.out",
)


def _item(status: str, inference_id: str = "iid-1", published: str | None = None) -> dict:
    item = {"pk": NOTICE.input_location, "status": status, INFERENCE_ID_ATTRIBUTE: inference_id}
    return item | ({OUTCOME_PUBLISHED_ATTRIBUTE: published} if published else {})


def test_a_notice_whose_item_still_waits_for_it_is_written_and_published():
    assert notice_effect(NOTICE, _item(STATUS_IN_PROGRESS), OUTPUTS) == WRITES_AND_PUBLISHES


def test_a_notice_whose_result_is_stored_but_not_marked_published_publishes_the_stored_outcome():
    assert notice_effect(NOTICE, _item(STATUS_COMPLETED), OUTPUTS) == PUBLISHES_STORED


def test_a_notice_whose_result_and_outcome_are_stored_changes_nothing():
    item = _item(STATUS_COMPLETED, published="2025-01-01T00:00:06.000Z")
    assert notice_effect(NOTICE, item, OUTPUTS) == NOTHING_DONE_ALREADY


def test_a_notice_of_a_superseded_inference_or_without_an_item_changes_nothing():
    assert notice_effect(NOTICE, _item(STATUS_IN_PROGRESS, "iid-2"), OUTPUTS) == NOTHING_SUPERSEDED
    assert notice_effect(NOTICE, None, OUTPUTS) == NOTHING_NO_ITEM


def test_a_completed_notice_with_its_output_outside_the_models_prefix_changes_nothing():
    outside = replace(NOTICE, output_location="s3://ingest-abc1234/documents/x.json")
    assert notice_effect(outside, _item(STATUS_IN_PROGRESS), OUTPUTS) == NOTHING_OUTSIDE_OUTPUTS
    failed = replace(NOTICE, succeeded=False, output_location=None, failure_reason="ClientError")
    assert notice_effect(failed, _item(STATUS_IN_PROGRESS), OUTPUTS) == WRITES_AND_PUBLISHES
