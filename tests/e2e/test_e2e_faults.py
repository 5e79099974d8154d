"""Faults end as the delivery contract says, never as losses: throttling, a broken model, poison messages,
duplicate events, SNS down after the write.

One dev-stack deployment for the module; each test injects its own fault into the
stand-in endpoint or SNS (reset after it) and uses its own object keys. Verdicts come from
`localrun/delivery_contract.py`, the judge the demo uses too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from urllib.parse import unquote_plus

import pytest
from local_cloud_helpers import (
    deployed,
    dev_async_model_routes,
    dev_routes,
    route,
    text_payload,
    upload,
    upload_input,
)

from infra.compute import ASYNC_MAX_RETRY_ATTEMPTS
from infra.messaging import MAX_RECEIVE_COUNT
from lambdas.inference.contract import (
    REASON_ASYNC_INFERENCE_FAILED,
    REASON_MODEL_ERROR,
    STATUS_COMPLETED,
    STATUS_FAILED,
    TABLE_PARTITION_KEY,
)
from localrun.delivery_contract import DEAD_LETTERED, DELIVERED, fate_of, fates
from localrun.emulator import LocalCloud
from localrun.lambda_.runtime import HANDLER_PAUSE_REASON
from localrun.services.sns import SnsFaults
from localrun.standin_model import EndpointFaults
from localrun.trace import objects_in_event

# Routes that take uploaded files (the kinesis route takes records: tests/e2e/test_e2e_kinesis.py).
ROUTES = [r["name"] for r in dev_routes() if r["via"] != "kinesis"]
# An async model's route calls no InvokeEndpoint and publishes only `in_progress` itself (its final outcome
# comes from the result writer): its own fault paths are in test_e2e_async.py.
SYNC_MODEL_ROUTES = [r for r in ROUTES if r not in dev_async_model_routes()]
ASYNC_ROUTES = [
    r["name"]
    for r in dev_routes()
    if r["via"] in ("sns", "lambda", "eventbridge") and r["name"] in SYNC_MODEL_ROUTES
]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed() as cloud:
        yield cloud


@pytest.fixture(autouse=True)
def healthy_services_afterwards(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.endpoint.faults = EndpointFaults()
    cloud.sns_faults.faults = SnsFaults()


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


def _s3_event_for(cloud: LocalCloud, uri: str) -> dict:
    """A copy of the S3 notification S3 sent for an uploaded object."""
    key = uri.split("/", 3)[3]
    return copy.deepcopy(
        next(
            e
            for e in cloud.deliveries.s3_notifications
            if unquote_plus(e["Records"][0]["s3"]["object"]["key"]) == key
        )
    )


def _send_as_the_route_delivers(cloud: LocalCloud, route_name: str, event: dict) -> None:
    """Deliver an S3 event to an sqs route's queue or an sns route's topic, as S3 would."""
    details = route(cloud, route_name)
    if details["via"] == "sqs":
        cloud.client("sqs").send_message(QueueUrl=details["queue_url"], MessageBody=json.dumps(event))
    else:
        cloud.client("sns").publish(TopicArn=details["topic_arn"], Message=json.dumps(event))


def _redrive(cloud: LocalCloud, route_name: str, message_id: str) -> None:
    """Move one DLQ message back through the route's function the way the route delivers events."""
    details = route(cloud, route_name)
    sqs = cloud.client("sqs")
    received = sqs.receive_message(QueueUrl=details["dlq_url"], MaxNumberOfMessages=10)["Messages"]
    message = next(m for m in received if m["MessageId"] == message_id)
    if details["via"] == "sqs":
        # SQS moved the route queue's message as it was: send it to that queue again.
        sqs.send_message(QueueUrl=details["queue_url"], MessageBody=message["Body"])
    else:
        # An async on-failure record: invoke the function asynchronously with the event it was given.
        payload = json.loads(message["Body"])["requestPayload"]
        cloud.client("lambda").invoke(
            FunctionName=details["function_name"], InvocationType="Event", Payload=json.dumps(payload)
        )
    sqs.delete_message(QueueUrl=details["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
    for other in received:
        if other is not message:
            sqs.change_message_visibility(
                QueueUrl=details["dlq_url"], ReceiptHandle=other["ReceiptHandle"], VisibilityTimeout=0
            )


def test_throttled_endpoint_still_completes_every_file_exactly_once(cloud: LocalCloud) -> None:
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=0.3, seed=7)
    throttled_before = cloud.endpoint.stats.throttled
    # Each route's model gets an input it takes (a text, or an image on the images route).
    uris = [
        upload_input(cloud, name, f"throttled-{i}", f"good review number {i}")
        for name in ROUTES
        for i in range(5)
    ]
    cloud.run_until_idle()

    items = cloud.results()
    assert cloud.endpoint.stats.throttled > throttled_before, "the fault was not injected"
    assert {uri: f.verdict for uri, f in fates(cloud, uris).items()} == dict.fromkeys(uris, DELIVERED)
    assert {uri: items.get(uri, {}).get("status") for uri in uris} == dict.fromkeys(uris, STATUS_COMPLETED)
    assert {uri: _successful_writes(cloud, uri) for uri in uris} == dict.fromkeys(uris, 1)
    assert all(_dead_letters(cloud, name) == [] for name in ROUTES)


def test_permanently_failing_model_records_failed_items(cloud: LocalCloud) -> None:
    cloud.endpoint.faults = EndpointFaults(permanent_model_error=True)
    # Inputs each model would take if it worked: a text, or an image (image/png) on the images route.
    uris = [upload_input(cloud, name, "broken-model", "fine") for name in ROUTES]
    cloud.run_until_idle()

    items = cloud.results()
    assert {uri: f.verdict for uri, f in fates(cloud, uris).items()} == dict.fromkeys(uris, DELIVERED)
    # An async endpoint reports the model's failure on its error topic; the result writer stores it.
    expected = [
        (
            STATUS_FAILED,
            REASON_ASYNC_INFERENCE_FAILED if name in dev_async_model_routes() else REASON_MODEL_ERROR,
        )
        for name in ROUTES
    ]
    assert [(items[u]["status"], items[u]["reason"]) for u in uris] == expected


@pytest.mark.parametrize("route_name", ASYNC_ROUTES)
def test_async_event_failing_every_retry_lands_in_the_on_failure_destination(
    cloud: LocalCloud, route_name: str
) -> None:
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=1.0)
    uri = upload(cloud, route_name, "always-throttled.json", text_payload("fine"))
    function_name = route(cloud, route_name)["function_name"]
    report = cloud.run_until_idle()

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
    assert fate_of(cloud, uri).verdict == DEAD_LETTERED
    # The handler's own backoff between throttled calls ran on the simulated clock, not the wall clock.
    assert report.waited_by_reason.get(HANDLER_PAUSE_REASON, 0) > 0


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
    assert [f.verdict for f in fates(cloud, uris).values()] == [DELIVERED] * 3
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
    event = _s3_event_for(cloud, uri)

    for _ in range(2):  # at-least-once delivery: S3 may send the same event again
        _send_as_the_route_delivers(cloud, route_name, event)
    cloud.run_until_idle()

    assert cloud.results()[uri] == first
    assert _successful_writes(cloud, uri) == 1
    assert fate_of(cloud, uri).verdict == DELIVERED


@pytest.mark.parametrize("route_name", ["batch", "uploads"])
def test_event_for_another_bucket_ends_only_in_the_dlq(cloud: LocalCloud, route_name: str) -> None:
    uri = upload(cloud, route_name, "foreign.json", text_payload("great"))
    cloud.run_until_idle()
    key = uri.split("/", 3)[3]
    event = _s3_event_for(cloud, uri)
    event["Records"][0]["s3"]["bucket"].update(name="someone-elses", arn="arn:aws:s3:::someone-elses")

    _send_as_the_route_delivers(cloud, route_name, event)
    cloud.run_until_idle()

    foreign = fate_of(cloud, f"s3://someone-elses/{key}")
    assert (foreign.verdict, foreign.refused) == (DEAD_LETTERED, True)
    assert fate_of(cloud, uri).verdict == DELIVERED  # the route's own object is unaffected


@pytest.mark.parametrize("route_name", SYNC_MODEL_ROUTES)
def test_outcome_sns_refused_after_the_write_is_dead_lettered_and_published_by_a_redrive(
    cloud: LocalCloud, route_name: str
) -> None:
    function_name = route(cloud, route_name)["function_name"]
    refused_before = cloud.sns_faults.refused
    cloud.sns_faults.faults = SnsFaults(publish_batch_down_for=frozenset({function_name}))
    uri = upload_input(cloud, route_name, "sns-down-after-write", "great and friendly")
    cloud.run_until_idle()

    # SNS was down for every attempt: the item is stored once, the event is in the DLQ, nothing published.
    stored = cloud.results()[uri]
    during = fate_of(cloud, uri)
    assert cloud.sns_faults.refused > refused_before, "the fault was not injected"
    assert (during.verdict, during.item, during.published) == (DEAD_LETTERED, stored, ())
    assert stored["status"] == STATUS_COMPLETED
    assert _successful_writes(cloud, uri) == 1
    dead = [m["MessageId"] for m in _dead_letters(cloud, route_name) if uri in objects_in_event(m["Body"])]
    assert len(dead) == 1

    cloud.sns_faults.faults = SnsFaults()
    _redrive(cloud, route_name, dead[0])
    cloud.run_until_idle()

    after = fate_of(cloud, uri)
    assert after.verdict == DELIVERED, cloud.trace.for_object(uri)
    assert after.item == stored
    assert len(after.published) == 1
    assert _successful_writes(cloud, uri) == 1
