"""A consumer queue (`notifications.consumers`) receives its outcomes, filtered, as raw messages.

GIVEN the real program deployed into the local run with the dev stack plus a consumer `failures` whose
`statuses` is `[failed]`, WHEN one upload completes and another fails on the uploads route, THEN the
consumer's own queue holds exactly the failed outcome: its body is the outcome JSON itself (raw delivery, no
SNS envelope), with the `status` and `route` message attributes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_cloud_helpers import deployed, dev_config, text_payload, upload

from lambdas.inference.contract import (
    MESSAGE_ATTRIBUTE_ROUTE,
    MESSAGE_ATTRIBUTE_STATUS,
    STATUS_COMPLETED,
    STATUS_FAILED,
    TABLE_PARTITION_KEY,
)
from localrun.emulator import LocalCloud

CONSUMER = {"name": "failures", "statuses": [STATUS_FAILED]}


@pytest.fixture(scope="module")
def cloud():
    config = dev_config(notifications={"subscriptions": [], "consumers": [CONSUMER]})
    with deployed(config) as cloud:
        cloud.uploaded = {  # type: ignore[attr-defined]
            "completing": upload(cloud, "uploads", "consumer-good.json", text_payload("great and fast")),
            # No `inputs` field: the model refuses it, a permanent error, so the outcome is `failed`.
            "failing": upload(cloud, "uploads", "consumer-bad.json", json.dumps({"text": "no inputs"})),
        }
        cloud.run_until_idle()
        yield cloud


def _consumer_messages(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.queue_messages(cloud.outputs["consumers"][CONSUMER["name"]]["queue_url"])


def test_both_uploads_end_as_the_expected_outcomes(cloud: LocalCloud) -> None:
    results = cloud.results()
    assert results[cloud.uploaded["completing"]]["status"] == STATUS_COMPLETED
    assert results[cloud.uploaded["failing"]]["status"] == STATUS_FAILED


def test_failed_only_consumer_receives_exactly_the_failed_outcome(cloud: LocalCloud) -> None:
    bodies = [json.loads(m["Body"]) for m in _consumer_messages(cloud)]
    assert [b[TABLE_PARTITION_KEY] for b in bodies] == [cloud.uploaded["failing"]]


def test_consumer_message_is_the_raw_outcome_without_an_sns_envelope(cloud: LocalCloud) -> None:
    (message,) = _consumer_messages(cloud)
    body = json.loads(message["Body"])
    assert "TopicArn" not in body and "Type" not in body
    assert body == {**body, "status": STATUS_FAILED, "route": "uploads"}


def test_consumer_message_keeps_the_status_and_route_attributes(cloud: LocalCloud) -> None:
    # Read as the consumer does, with ReceiveMessage (raw delivery turns SNS attributes into SQS ones).
    queue_url = cloud.outputs["consumers"][CONSUMER["name"]]["queue_url"]
    (message,) = cloud.client("sqs").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes[MESSAGE_ATTRIBUTE_STATUS] == STATUS_FAILED
    assert attributes[MESSAGE_ATTRIBUTE_ROUTE] == "uploads"
