"""Endpoint state changes cross the encrypted notifications topic only with a key statement AWS honours.

GIVEN the dev stack deployed into the local run with one unfiltered subscriber, WHEN SageMaker's
"Endpoint State Change" event reaches the rule, THEN it arrives as a sentence; and WHEN the key policy's
EventBridge statement carries aws:SourceArn/aws:SourceAccount (which AWS does not support for EventBridge
to encrypted topics, so its KMS requests carry neither), THEN the delivery fails, lands in the rule's DLQ
and is recorded as a problem instead of vanishing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_cloud_helpers import create_subscriber_queue, deployed, dev_routes_only, notifications_received

from localrun.emulator import LocalCloud

SUBSCRIBER = "endpoint-state-watcher"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """One deployment; the test that conditions the key policy runs last (pytest keeps file order)."""
    urls: dict[str, str] = {}

    def subscriber(cloud: LocalCloud) -> None:
        urls["url"], _ = create_subscriber_queue(cloud, SUBSCRIBER)

    # One dev route per dev model: every endpoint the dev stack owns, and no more functions than needed.
    config = dev_routes_only(
        "uploads",
        "images",
        "documents",
        notifications={
            "subscriptions": [
                {"protocol": "sqs", "endpoint": f"arn:aws:sqs:us-east-1:123456789012:{SUBSCRIBER}"}
            ]
        },
    )
    with deployed(config=config, before_deploy=subscriber) as cloud:
        cloud.run_until_idle()
        cloud.subscriber_url = urls["url"]  # type: ignore[attr-defined]
        yield cloud


def _sentences(cloud: LocalCloud) -> list[str]:
    messages = [e["Message"] for e in notifications_received(cloud, cloud.subscriber_url)]  # type: ignore[attr-defined]
    return [m for m in messages if m.startswith("SageMaker endpoint ")]


def _owned_endpoints(cloud: LocalCloud) -> int:
    return sum(1 for model in cloud.outputs["models"].values() if model["mode"] != "existing")


def _condition_the_eventbridge_key_statement(cloud: LocalCloud) -> None:
    """The key policy as it was before the fix: EventBridge conditioned on the rules and the account."""
    kms = cloud.client("kms")
    key_id = cloud.outputs["kms_key_arn"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    rule_arns = [r["Arn"] for r in cloud.client("events").list_rules()["Rules"]]
    for statement in policy["Statement"]:
        if statement.get("Sid") == "EventBridgeRuleTargets":
            statement["Condition"] = {
                "ArnEquals": {"aws:SourceArn": rule_arns},
                "StringEquals": {"aws:SourceAccount": cloud.account},
            }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))


def test_the_deployed_key_policy_lets_endpoint_state_changes_reach_subscribers(cloud: LocalCloud) -> None:
    # One sentence per endpoint the stack owns (dev: the text and the image classifier).
    assert len(_sentences(cloud)) == _owned_endpoints(cloud) == 3
    assert cloud.deliveries.problems == []


def test_a_source_conditioned_eventbridge_key_statement_dead_letters_the_state_change(cloud: LocalCloud):
    _condition_the_eventbridge_key_statement(cloud)

    cloud.deliveries.emit_endpoint_in_service()
    cloud.run_until_idle()

    # Only those delivered at deploy, under the deployed policy.
    assert len(_sentences(cloud)) == _owned_endpoints(cloud)
    assert any("key policy" in problem for problem in map(str, cloud.deliveries.problems))
    dead = cloud.queue_messages(cloud.outputs["endpoint_state_dlq_url"])
    assert len(dead) == _owned_endpoints(cloud)
    assert {json.loads(message["Body"])["source"] for message in dead} == {"aws.sagemaker"}
