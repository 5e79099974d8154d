"""Faults end as outcomes, never losses: throttling, a broken model, poison messages, duplicate events.

One dev-stack deployment for the module; each test injects its own fault into the
stand-in endpoint (reset after it) and uses its own object keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote_plus

import pytest
from local_cloud_helpers import deployed, dev_routes, route, text_payload, upload

from infra.compute import ASYNC_MAX_RETRY_ATTEMPTS
from infra.messaging import MAX_RECEIVE_COUNT
from lambdas.inference.contract import (
    REASON_MODEL_ERROR,
    STATUS_COMPLETED,
    STATUS_FAILED,
    TABLE_PARTITION_KEY,
)
from localrun.emulator import LocalCloud
from localrun.standin_model import EndpointFaults

ROUTES = [r["name"] for r in dev_routes()]
ASYNC_ROUTES = [r["name"] for r in dev_routes() if r["via"] in ("sns", "lambda", "eventbridge")]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed() as cloud:
        yield cloud


@pytest.fixture(autouse=True)
def healthy_endpoint_afterwards(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.endpoint.faults = EndpointFaults()


def _successful_writes(cloud: LocalCloud, uri: str) -> int:
    return sum(
        1
        for c in cloud.recorder.calls
        if c.operation == "PutItem"
        and c.error_code is None
        and c.params["Item"][TABLE_PARTITION_KEY]["S"] == uri
    )


def _dead_letters(cloud: LocalCloud, route_name: str) -> list[dict]:
    return cloud.queue_messages(route(cloud, route_name)["dlq_url"])


def test_throttled_endpoint_still_completes_every_file_exactly_once(cloud: LocalCloud) -> None:
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=0.3, seed=7)
    throttled_before = cloud.endpoint.stats.throttled
    uris = [
        upload(cloud, name, f"throttled-{i}.json", text_payload(f"good review number {i}"))
        for name in ROUTES
        for i in range(5)
    ]
    cloud.run_until_idle()

    items = cloud.results()
    assert cloud.endpoint.stats.throttled > throttled_before, "the fault was not injected"
    assert {uri: items.get(uri, {}).get("status") for uri in uris} == dict.fromkeys(uris, STATUS_COMPLETED)
    assert {uri: _successful_writes(cloud, uri) for uri in uris} == dict.fromkeys(uris, 1)
    assert all(_dead_letters(cloud, name) == [] for name in ROUTES)


def test_permanently_failing_model_records_failed_items(cloud: LocalCloud) -> None:
    cloud.endpoint.faults = EndpointFaults(permanent_model_error=True)
    uris = [upload(cloud, name, "broken-model.json", text_payload("fine")) for name in ROUTES]
    cloud.run_until_idle()

    items = cloud.results()
    assert [(items[u]["status"], items[u]["reason"]) for u in uris] == [
        (STATUS_FAILED, REASON_MODEL_ERROR)
    ] * len(uris)


@pytest.mark.parametrize("route_name", ASYNC_ROUTES)
def test_async_event_failing_every_retry_lands_in_the_on_failure_destination(
    cloud: LocalCloud, route_name: str
) -> None:
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=1.0)
    uri = upload(cloud, route_name, "always-throttled.json", text_payload("fine"))
    function_name = route(cloud, route_name)["function_name"]
    cloud.run_until_idle()

    records = [
        json.loads(m["Body"]) for m in _dead_letters(cloud, route_name) if uri.split("/", 3)[3] in m["Body"]
    ]
    assert len(records) == 1
    context = records[0]["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == ASYNC_MAX_RETRY_ATTEMPTS + 1
    assert context["functionArn"].startswith(route(cloud, route_name)["function_arn"])
    attempts = [
        h for h in cloud.trace.for_object(uri) if h.step == f"lambda:{function_name}" and "via" in h.detail
    ]
    assert len(attempts) == ASYNC_MAX_RETRY_ATTEMPTS + 1
    assert uri not in cloud.results()


def test_poison_message_goes_to_dlq_after_max_receive_count_and_its_batch_completes(
    cloud: LocalCloud,
) -> None:
    batch = route(cloud, "batch")
    sqs = cloud.client("sqs")
    poison = sqs.send_message(QueueUrl=batch["queue_url"], MessageBody="this is not an S3 event")["MessageId"]
    uris = [upload(cloud, "batch", f"beside-poison-{i}.txt", "great and friendly") for i in range(3)]
    cloud.run_until_idle()

    items = cloud.results()
    assert [items[u]["status"] for u in uris] == [STATUS_COMPLETED] * 3
    dead = [m for m in _dead_letters(cloud, "batch") if m["MessageId"] == poison]
    assert len(dead) == 1 and dead[0]["Body"] == "this is not an S3 event"
    receives = sum(poison in b.message_ids for b in cloud.poller.batches)
    assert receives == MAX_RECEIVE_COUNT
    assert all(uri in items for uri in uris)


@pytest.mark.parametrize("route_name", ["batch", "uploads"])
def test_same_s3_event_delivered_again_leaves_one_unchanged_item(cloud: LocalCloud, route_name: str) -> None:
    uri = upload(cloud, route_name, "delivered-twice.json", text_payload("great"))
    cloud.run_until_idle()
    first = cloud.results()[uri]
    key = uri.split("/", 3)[3]
    event = next(
        e
        for e in cloud.deliveries.s3_notifications
        if unquote_plus(e["Records"][0]["s3"]["object"]["key"]) == key
    )

    for _ in range(2):  # at-least-once delivery: S3 may send the same event again
        if route_name == "batch":
            cloud.client("sqs").send_message(
                QueueUrl=route(cloud, "batch")["queue_url"], MessageBody=json.dumps(event)
            )
        else:
            cloud.client("sns").publish(
                TopicArn=route(cloud, "uploads")["topic_arn"], Message=json.dumps(event)
            )
    cloud.run_until_idle()

    assert cloud.results()[uri] == first
    assert _successful_writes(cloud, uri) == 1
