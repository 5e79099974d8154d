"""Every route delivers an upload to a `completed` item; outcomes reach subscribers; config drives the graph.

GIVEN the real program deployed into the local run with the dev stack's routes plus one
extra route that exists only in this test's config, and two SQS subscribers on the
notifications topic (one unfiltered, one whose filter policy keeps only `failed`),
WHEN files land under each route's prefix, THEN each ends as one results item and its
outcome is published with the `status` and `route` attributes subscribers filter on.
"""

from __future__ import annotations

import json

import pytest
from local_cloud_helpers import (
    SAMPLE_IMAGE_LABEL,
    attribute,
    create_subscriber_queue,
    deployed,
    dev_async_model_routes,
    dev_config,
    dev_routes,
    first_label,
    notifications_received,
    payload_format,
    text_payload,
    upload,
    upload_input,
)

from lambdas.inference.contract import (
    MESSAGE_ATTRIBUTE_ROUTE,
    MESSAGE_ATTRIBUTE_STATUS,
    PAYLOAD_BINARY,
    STATUS_COMPLETED,
    STATUS_FAILED,
    TABLE_PARTITION_KEY,
)
from localrun.delivery_contract import DELIVERED, fate_of
from localrun.emulator import LocalCloud, sagemaker_caller

# Routes that take uploaded files (the kinesis route takes records: tests/e2e/test_e2e_kinesis.py).
DEV_ROUTES = [r["name"] for r in dev_routes() if r["via"] != "kinesis"]
# Only in this test's config: a second SQS route, for .txt files only.
EXTRA_ROUTE = {
    "name": "invoices",
    "prefix": "invoices/",
    "suffix": ".txt",
    "via": "sqs",
    "model": "text-classifier",
}
ROUTES = [*DEV_ROUTES, EXTRA_ROUTE["name"]]
SUBSCRIBERS: dict[str, str] = {}  # subscriber name -> queue URL, filled before deploy


def _create_subscribers(cloud: LocalCloud) -> None:
    for name in ("outcomes-all", "outcomes-failed-only"):
        SUBSCRIBERS[name], arn = create_subscriber_queue(cloud, name)
        SUBSCRIBERS[f"{name}-arn"] = arn


@pytest.fixture(scope="module")
def cloud():
    # The extra SQS route's 5 pollers count against the text model's endpoint budget too.
    models = json.loads(dev_config()["ai-event-pipeline:models"])
    models["text-classifier"]["maxConcurrency"] = 20
    config = dev_config(
        models=models,
        routes=[*dev_routes(), EXTRA_ROUTE],
        notifications={
            "subscriptions": [
                {"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:123456789012:outcomes-all"},
                {
                    "protocol": "sqs",
                    "endpoint": "arn:aws:sqs:us-east-1:123456789012:outcomes-failed-only",
                    "statuses": [STATUS_FAILED],
                },
            ]
        },
    )
    with deployed(config, before_deploy=_create_subscribers) as cloud:
        review = text_payload("great, friendly and fast")
        # Each route's model gets an input it takes: the review as a text, or an image on the images route.
        uploaded = {
            name: upload_input(cloud, name, "review", "great, friendly and fast") for name in DEV_ROUTES
        }
        uploaded["invoices"] = upload(cloud, "invoices", "march.txt", "Paid on time, thanks, great service")
        uploaded["invoices-filtered-out"] = upload(cloud, "invoices", "march.json", review)
        no_inputs = json.dumps({"text": "no inputs field"})
        uploaded["failing"] = upload(cloud, "uploads", "no-inputs.json", no_inputs)
        cloud.run_until_idle()
        cloud.uploaded = uploaded  # type: ignore[attr-defined]
        yield cloud


@pytest.mark.parametrize("route_name", ROUTES)
def test_route_delivers_upload_to_completed_item(cloud: LocalCloud, route_name: str) -> None:
    uri = cloud.uploaded[route_name]
    fate = fate_of(cloud, uri)
    item = fate.item
    assert item is not None, f"no results item for {uri}; hops: {cloud.trace.for_object(uri)}"
    assert fate.verdict == DELIVERED, f"{fate.verdict}: {uri}; hops: {cloud.trace.for_object(uri)}"
    assert (item["status"], item["route"]) == (STATUS_COMPLETED, route_name)
    # The stand-in of the route's model: the text classifier finds the review positive, the image
    # classifier labels the 64 x 40 PNG by its header, the summarizer keeps the first sentence.
    if route_name in dev_async_model_routes():
        assert item["prediction"] == [{"summary_text": "great, friendly and fast"}]
        return
    expected = SAMPLE_IMAGE_LABEL if payload_format(cloud, route_name) == PAYLOAD_BINARY else "POSITIVE"
    assert first_label(item["prediction"]) == expected


@pytest.mark.parametrize("route_name", ROUTES)
def test_route_runs_the_route_function_with_its_role(cloud: LocalCloud, route_name: str) -> None:
    uri = cloud.uploaded[route_name]
    function_name = cloud.outputs["routes"][route_name]["function_name"]
    if route_name in dev_async_model_routes():
        # SageMaker reads an async route's object, with its model's execution role.
        endpoint_name = cloud.outputs["routes"][route_name]["endpoint_name"]
        function_name = sagemaker_caller(endpoint_name)
    reads = [
        c
        for c in cloud.recorder.calls
        if c.operation == "GetObject" and f"s3://{c.params['Bucket']}/{c.params['Key']}" == uri
    ]
    assert reads and all(c.function_name == function_name for c in reads)


def _outcomes(cloud: LocalCloud, subscriber: str) -> list[dict]:
    """Outcome notifications only (the topic also carries endpoint state sentences)."""
    return [e for e in notifications_received(cloud, SUBSCRIBERS[subscriber]) if e["Message"].startswith("{")]


def test_outcome_is_published_with_status_and_route_attributes(cloud: LocalCloud) -> None:
    by_uri = {json.loads(e["Message"])[TABLE_PARTITION_KEY]: e for e in _outcomes(cloud, "outcomes-all")}
    for route_name in ROUTES:
        envelope = by_uri[cloud.uploaded[route_name]]
        assert attribute(envelope, MESSAGE_ATTRIBUTE_STATUS) == STATUS_COMPLETED
        assert attribute(envelope, MESSAGE_ATTRIBUTE_ROUTE) == route_name


def test_outcome_message_carries_the_results_item(cloud: LocalCloud) -> None:
    envelopes = _outcomes(cloud, "outcomes-all")
    uri = cloud.uploaded["batch"]
    message = next(json.loads(e["Message"]) for e in envelopes if cloud.uploaded["batch"] in e["Message"])
    item = cloud.results()[uri]
    assert (message["status"], message["route"], message["sequencer"]) == (
        item["status"],
        item["route"],
        item["sequencer"],
    )


def test_failed_outcome_is_delivered_like_any_other(cloud: LocalCloud) -> None:
    fate = fate_of(cloud, cloud.uploaded["failing"])
    assert fate.verdict == DELIVERED
    assert fate.item is not None and fate.item["status"] == STATUS_FAILED


def test_filter_policy_delivers_only_failed_outcomes(cloud: LocalCloud) -> None:
    envelopes = notifications_received(cloud, SUBSCRIBERS["outcomes-failed-only"])
    assert [attribute(e, MESSAGE_ATTRIBUTE_STATUS) for e in envelopes] == [STATUS_FAILED]
    assert json.loads(envelopes[0]["Message"])[TABLE_PARTITION_KEY] == cloud.uploaded["failing"]


def test_extra_route_from_config_gets_its_own_function_queue_and_role(cloud: LocalCloud) -> None:
    extra = cloud.outputs["routes"][EXTRA_ROUTE["name"]]
    others = [cloud.outputs["routes"][name] for name in DEV_ROUTES]
    assert extra["via"] == "sqs" and extra["queue_url"]
    assert extra["function_name"] not in {r["function_name"] for r in others}
    assert extra["role_arn"] not in {r["role_arn"] for r in others}
    assert extra["queue_arn"] not in {r.get("queue_arn") for r in others}


def test_extra_route_suffix_filter_keeps_other_files_out(cloud: LocalCloud) -> None:
    uri = cloud.uploaded["invoices-filtered-out"]
    assert uri not in cloud.results()
    assert cloud.trace.for_object(uri)[-1].step.startswith("s3:")  # S3 sent it nowhere


def test_no_delivery_was_denied(cloud: LocalCloud) -> None:
    assert cloud.deliveries.problems == []


def test_endpoint_state_change_reaches_unfiltered_subscribers_as_a_sentence(cloud: LocalCloud) -> None:
    # One sentence per endpoint the stack owns (dev: the text and the image classifier's, the summarizer's).
    endpoints = sorted(
        m["endpoint_name"] for m in cloud.outputs["models"].values() if m["mode"] != "existing"
    )
    received = [e["Message"] for e in notifications_received(cloud, SUBSCRIBERS["outcomes-all"])]
    sentences = sorted(m for m in received if not m.startswith("{"))
    assert len(endpoints) == 3
    assert len(sentences) == len(endpoints)
    for endpoint, sentence in zip(endpoints, sentences, strict=True):
        assert sentence.startswith(f"SageMaker endpoint {endpoint} is now IN_SERVICE (")
    filtered = [e["Message"] for e in notifications_received(cloud, SUBSCRIBERS["outcomes-failed-only"])]
    assert all(m.startswith("{") for m in filtered)
