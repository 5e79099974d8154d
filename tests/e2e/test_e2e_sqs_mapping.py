"""The SQS event source mapping as Lambda runs it: batch size, visibility timeout, and when the pump is idle.

One deployment of the dev stack with a small `sqs.batchSize` (3, below the 10 messages one
ReceiveMessage can return), so a poller that ignored the setting would show it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local_cloud_helpers import deployed, dev_routes_only, route, upload
from moto.core.utils import unix_time_millis
from moto.sqs.models import sqs_backends

from infra.messaging import MAX_RECEIVE_COUNT
from lambdas.inference.contract import STATUS_COMPLETED
from localrun.delivery_contract import DELIVERED, fates
from localrun.emulator import EmulatorStalled, LocalCloud
from localrun.lambda_.runtime import InvocationResult
from localrun.lambda_.sqs_poller import EventSourceMapping

BATCH_SIZE = 3
POISON_BODY = "this is not an S3 event"
VISIBILITY_WAIT_REASON = "SQS visibility timeout"  # what the emulator records when it skips to a redelivery
# The poller receives a message, then the handler runs; the wall time that takes comes off the simulated
# wait that follows (the message's timer started at the receive). Far below any visibility timeout.
HANDLER_WALL_SECONDS_ALLOWANCE = 5.0


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    sqs = {"batchSize": BATCH_SIZE, "maximumBatchingWindowSeconds": 5, "maximumConcurrency": 5}
    with deployed(dev_routes_only("batch", "images", sqs=sqs)) as cloud:  # the dev stack's sqs routes
        cloud.run_until_idle()  # S3's s3:TestEvent, sent when the bucket notification was configured
        yield cloud


@pytest.fixture(autouse=True)
def drained_queue_afterwards(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.run_until_idle()  # leftover failed messages reach the DLQ (simulated time), not the next test


def _visibility_timeout(cloud: LocalCloud) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=route(cloud, "batch")["queue_url"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    return int(attributes["VisibilityTimeout"])


def _send_poison(cloud: LocalCloud) -> str:
    sqs = cloud.client("sqs")
    return sqs.send_message(QueueUrl=route(cloud, "batch")["queue_url"], MessageBody=POISON_BODY)["MessageId"]


def _received(cloud: LocalCloud, message_id: str, since_batch: int) -> int:
    return sum(message_id in b.message_ids for b in cloud.poller.batches[since_batch:])


def _moto_message(cloud: LocalCloud, queue_url: str, message_id: str) -> Any:
    queue = sqs_backends[cloud.account][cloud.region].get_queue(queue_url.rsplit("/", 1)[-1])
    return next((m for m in queue._messages if m.id == message_id), None)


def test_no_sqs_invocation_receives_more_records_than_the_batch_size(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    function_name = route(cloud, "batch")["function_name"]
    records_per_invocation: list[int] = []
    invoke_sync = cloud.runtime.invoke_sync

    def counting_invoke_sync(name: str, event: Any, **kwargs: Any) -> InvocationResult:
        if name == function_name:
            records_per_invocation.append(len(event["Records"]))
        return invoke_sync(name, event, **kwargs)

    monkeypatch.setattr(cloud.runtime, "invoke_sync", counting_invoke_sync)
    uris = [
        upload(cloud, "batch", f"batch-size-{i}.txt", f"great review {i}") for i in range(3 * BATCH_SIZE - 1)
    ]
    cloud.run_until_idle()

    items = cloud.results()
    assert {uri: items.get(uri, {}).get("status") for uri in uris} == dict.fromkeys(uris, STATUS_COMPLETED)
    assert {uri: f.verdict for uri, f in fates(cloud, uris).items()} == dict.fromkeys(uris, DELIVERED)
    assert sum(records_per_invocation) == len(uris)
    assert max(records_per_invocation) == BATCH_SIZE  # batches are filled up to the size, never beyond


def test_failed_record_is_received_again_only_after_the_visibility_timeout(cloud: LocalCloud) -> None:
    visibility_timeout = _visibility_timeout(cloud)
    poison = _send_poison(cloud)
    first_batch = len(cloud.poller.batches)

    assert cloud.poller.poll()
    assert cloud.poller.batches[-1].failed_ids == [poison]  # a partial batch failure: it stays on the queue

    cloud.clock.advance(visibility_timeout - HANDLER_WALL_SECONDS_ALLOWANCE, "test: just before the timeout")
    assert not cloud.poller.poll()
    assert _received(cloud, poison, first_batch) == 1

    cloud.clock.advance(HANDLER_WALL_SECONDS_ALLOWANCE, "test: the timeout has elapsed")
    assert cloud.poller.poll()
    assert _received(cloud, poison, first_batch) == 2


def test_each_redelivery_waits_the_queue_visibility_timeout_on_the_simulated_clock(cloud: LocalCloud) -> None:
    visibility_timeout = _visibility_timeout(cloud)
    poison = _send_poison(cloud)
    first_batch, first_wait = len(cloud.poller.batches), len(cloud.clock.waits)

    cloud.run_until_idle()

    # Receives 2..MAX_RECEIVE_COUNT, then the receive at which SQS moves it to the DLQ: one wait before each.
    assert _received(cloud, poison, first_batch) == MAX_RECEIVE_COUNT
    waits = [w.seconds for w in cloud.clock.waits[first_wait:] if w.reason == VISIBILITY_WAIT_REASON]
    assert len(waits) == MAX_RECEIVE_COUNT
    assert all(
        visibility_timeout - HANDLER_WALL_SECONDS_ALLOWANCE < wait <= visibility_timeout + 0.01
        for wait in waits
    ), (waits, visibility_timeout)
    assert all(w.reason == VISIBILITY_WAIT_REASON for w in cloud.clock.waits[first_wait:])


def test_message_visible_again_right_after_an_empty_poll_is_still_received(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = route(cloud, "batch")
    poison = _send_poison(cloud)
    first_batch = len(cloud.poller.batches)
    poll = cloud.poller.poll

    def poll_then_the_timeout_runs_out() -> bool:
        received = poll()
        message = _moto_message(cloud, batch["queue_url"], poison)
        in_flight_ms = message.visible_at - unix_time_millis() if message is not None else 0
        if not received and in_flight_ms > 0:
            # The boundary: this poll found the message in flight, and its timeout runs out (by 1 ms, as
            # moto's `now > visible_at` needs) before the pump decides whether anything is left to wait for.
            cloud.clock.advance(in_flight_ms / 1000 + 0.001, "test: the timeout runs out after the poll")
        return received

    monkeypatch.setattr(cloud.poller, "poll", poll_then_the_timeout_runs_out)
    cloud.run_until_idle()

    assert _received(cloud, poison, first_batch) == MAX_RECEIVE_COUNT
    dead = [m["MessageId"] for m in cloud.queue_messages(batch["dlq_url"])]
    assert poison in dead


def test_receivable_message_the_poller_never_receives_stalls_the_pump_loudly(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    _send_poison(cloud)
    monkeypatch.setattr(cloud.poller, "poll", lambda: False)  # a poller that lost track of the queue

    with pytest.raises(EmulatorStalled, match="receivable"):
        cloud.run_until_idle()


def test_fifo_group_held_by_an_in_flight_message_waits_for_that_message(cloud: LocalCloud) -> None:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(
        QueueName="held-group.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "60"},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="one-group")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)  # "first" is in flight; SQS holds "second"
    cloud.poller.mappings["held-group"] = EventSourceMapping("held-group", "none", arn, 10, True)
    try:
        wait = cloud.poller.seconds_until_receivable()
    finally:
        del cloud.poller.mappings["held-group"]
        sqs.delete_queue(QueueUrl=url)

    assert wait is not None and 50 < wait <= 60
