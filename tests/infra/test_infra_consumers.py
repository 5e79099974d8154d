"""Consumer queues (`notifications.consumers`): per consumer, an encrypted queue the notifications topic alone
fills (raw delivery, filter policy), its DLQ and alarms, a managed policy to read it, and the outputs; and
each bad consumer entry refused naming the key and the fix.

GIVEN the dev stack plus two consumers, `billing` (failed outcomes of the uploads route) and `audit` (every
outcome), WHEN the real program runs under mocks, THEN the graph holds what each consumer needs and no more.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from stack_graph import (
    ALARM,
    DEV_CONFIG,
    KEY,
    KEY_POLICY,
    QUEUE_POLICY,
    SUBSCRIPTION,
    StackGraph,
    policy_document,
    statement,
    statements,
)

from infra.config import ConfigError, parse_config
from lambdas.inference import contract
from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

NAMESPACE = "ai-event-pipeline:"
ACCOUNT = "123456789012"
MANAGED_POLICY = "aws:iam/policy:Policy"
CONSUMERS = [
    {"name": "billing", "statuses": [contract.STATUS_FAILED], "routes": ["uploads"]},
    {"name": "audit"},
]


@pytest.fixture(scope="module")
def graph() -> StackGraph:
    config = load_stack_config(DEV_CONFIG)
    config[f"{NAMESPACE}notifications"] = json.dumps({"subscriptions": [], "consumers": CONSUMERS})
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def consumer(graph: StackGraph, name: str) -> dict[str, Any]:
    return graph.outputs["consumers"][name]


def subscription_of(graph: StackGraph, name: str):
    queue_arn = consumer(graph, name)["queue_arn"]
    (found,) = [s for s in graph.of_type(SUBSCRIPTION) if s.inputs["endpoint"] == queue_arn]
    return found


def queue_policy_of(graph: StackGraph, queue_url: str) -> dict[str, Any]:
    (found,) = [p for p in graph.of_type(QUEUE_POLICY) if p.inputs["queueUrl"] == queue_url]
    return policy_document(found)


def key_arn(graph: StackGraph) -> str:
    return graph.of_type(KEY)[0].outputs["arn"]


@pytest.mark.parametrize("name", ["billing", "audit"])
def test_consumer_queue_and_its_dlq_are_encrypted_with_the_stack_key(graph, name):
    for output in ("queue_url", "dlq_url"):
        queue = graph.resolve(consumer(graph, name)[output])
        assert queue.inputs["kmsMasterKeyId"] == key_arn(graph), queue.key


def test_consumer_queue_policy_lets_only_the_notifications_topic_send(graph):
    document = queue_policy_of(graph, consumer(graph, "billing")["queue_url"])
    allows = [s for s in statements(document) if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowNotificationsTopic",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [consumer(graph, "billing")["queue_arn"]],
            "Principal": {"Service": "sns.amazonaws.com"},
            "Condition": {
                "ArnEquals": {"aws:SourceArn": [graph.outputs["notifications_topic_arn"]]},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]


@pytest.mark.parametrize("output", ["queue", "dlq"])
def test_consumer_queues_refuse_every_request_without_tls(graph, output):
    billing = consumer(graph, "billing")
    deny = statement(queue_policy_of(graph, billing[f"{output}_url"]), "DenyInsecureTransport")
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", ["sqs:*"])
    assert deny["Resource"] == [billing[f"{output}_arn"]]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_consumer_dlq_grants_no_sender(graph):
    document = queue_policy_of(graph, consumer(graph, "billing")["dlq_url"])
    assert [s for s in statements(document) if s["Effect"] == "Allow"] == []


@pytest.mark.parametrize("name", ["billing", "audit"])
def test_consumer_subscription_delivers_raw_messages_from_the_notifications_topic(graph, name):
    subscription = subscription_of(graph, name)
    assert subscription.inputs["topic"] == graph.outputs["notifications_topic_arn"], subscription.key
    assert subscription.inputs["protocol"] == "sqs", subscription.key
    assert subscription.inputs["rawMessageDelivery"] is True, subscription.key


def test_consumer_filter_policy_is_built_from_its_statuses_and_routes(graph):
    subscription = subscription_of(graph, "billing")
    assert json.loads(subscription.inputs["filterPolicy"]) == {
        contract.MESSAGE_ATTRIBUTE_STATUS: [contract.STATUS_FAILED],
        contract.MESSAGE_ATTRIBUTE_ROUTE: ["uploads"],
    }
    assert subscription.inputs["filterPolicyScope"] == "MessageAttributes"


def test_consumer_without_statuses_or_routes_receives_every_outcome(graph):
    subscription = subscription_of(graph, "audit")
    assert "filterPolicy" not in subscription.inputs, subscription.key


def test_consumer_subscription_waits_for_the_queue_policy(graph):
    assert (QUEUE_POLICY, "consumer-billing-queue-policy") in subscription_of(graph, "billing").depends_on


def test_consumer_queue_redrives_to_its_own_dlq_after_five_receives(graph):
    billing = consumer(graph, "billing")
    queue = graph.resolve(billing["queue_url"])
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": billing["dlq_arn"],
        "maxReceiveCount": 5,
    }


def test_consumer_queue_keeps_messages_less_long_than_its_dlq(graph):
    billing = consumer(graph, "billing")
    queue, dlq = graph.resolve(billing["queue_url"]), graph.resolve(billing["dlq_url"])
    assert queue.inputs["messageRetentionSeconds"] < dlq.inputs["messageRetentionSeconds"]


def _alarm_on(graph: StackGraph, metric: str, queue_name: str):
    (found,) = [
        a
        for a in graph.of_type(ALARM)
        if a.inputs["metricName"] == metric and a.inputs["dimensions"] == {"QueueName": queue_name}
    ]
    return found


def test_consumer_dlq_raises_an_alarm_to_ops_when_it_holds_a_message(graph):
    dlq_name = graph.resolve(consumer(graph, "billing")["dlq_url"]).outputs["name"]
    alarm = _alarm_on(graph, "ApproximateNumberOfMessagesVisible", dlq_name)
    assert alarm.inputs["name"] == "ai-event-pipeline/dev/consumer-billing-dlq-not-empty"
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm.inputs["alarmActions"] == [graph.outputs["ops_topic_arn"]]


def test_consumer_queue_age_alarm_uses_the_configured_threshold(graph):
    queue_name = graph.resolve(consumer(graph, "billing")["queue_url"]).outputs["name"]
    alarm = _alarm_on(graph, "ApproximateAgeOfOldestMessage", queue_name)
    assert alarm.inputs["name"] == "ai-event-pipeline/dev/consumer-billing-queue-oldest-message-age"
    assert alarm.inputs["threshold"] == 300  # alarms.queueOldestMessageAgeSeconds in Pulumi.dev.yaml


def test_consumer_read_policy_allows_exactly_reading_its_queue_and_decrypting_through_sqs(graph):
    billing = consumer(graph, "billing")
    policy = graph.resolve(billing["read_policy_arn"])
    assert policy.type == MANAGED_POLICY, policy.key
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "ConsumeOwnQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            "Resource": [billing["queue_arn"]],
        },
        {
            "Sid": "DecryptQueueMessages",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [key_arn(graph)],
            "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
        },
    ]


def test_each_consumer_has_its_own_read_policy(graph):
    policies = [p for p in graph.of_type(MANAGED_POLICY) if p.name.startswith("consumer-")]
    assert sorted(p.outputs["arn"] for p in policies) == sorted(
        c["read_policy_arn"] for c in graph.outputs["consumers"].values()
    )


def test_consumer_outputs_name_its_queue_dlq_policy_and_filters(graph):
    billing = consumer(graph, "billing")
    assert graph.resolve(billing["queue_url"]).key == ("aws:sqs/queue:Queue", "consumer-billing-queue")
    assert graph.resolve(billing["queue_arn"]).key == ("aws:sqs/queue:Queue", "consumer-billing-queue")
    assert graph.resolve(billing["dlq_arn"]).key == ("aws:sqs/queue:Queue", "consumer-billing-dlq")
    assert graph.resolve(billing["read_policy_arn"]).key == (MANAGED_POLICY, "consumer-billing-read-policy")
    assert (billing["statuses"], billing["routes"]) == ([contract.STATUS_FAILED], ["uploads"])


def _key_policy(graph: StackGraph) -> dict[str, Any]:
    (resource,) = graph.of_type(KEY_POLICY)
    return policy_document(resource)


def test_key_policy_lets_sns_use_the_key_for_consumer_queues_only_from_the_notifications_topic(graph):
    grant = statement(_key_policy(graph), "SnsDeliveryToConsumerQueues")
    assert grant["Principal"] == {"Service": "sns.amazonaws.com"}
    assert grant["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert grant["Condition"] == {
        "ArnEquals": {"aws:SourceArn": [graph.outputs["notifications_topic_arn"]]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }


def test_stack_without_consumers_has_no_consumer_key_statement_and_no_consumers_output(dev):
    assert "consumers" not in dev.outputs
    assert "SnsDeliveryToConsumerQueues" not in {s.get("Sid") for s in statements(_key_policy(dev))}


# --- configuration errors -----------------------------------------------------------------------------


def _problems(consumers: list[dict[str, Any]]) -> list[str]:
    document = yaml.safe_load(DEV_CONFIG.read_text())["config"]
    values = {k.removeprefix(NAMESPACE): v for k, v in document.items() if k.startswith(NAMESPACE)}
    values = copy.deepcopy(values)
    values["notifications"] = {"subscriptions": [], "consumers": consumers}
    with pytest.raises(ConfigError) as error:
        parse_config(values, stack="dev", region="us-east-1")
    return [line.removeprefix("  - ") for line in str(error.value).splitlines() if line.startswith("  - ")]


CONFIG_ERRORS = [
    (
        "duplicate name",
        [{"name": "billing"}, {"name": "billing"}],
        "notifications.consumers[1].name duplicates consumers[0].name ('billing')",
        "give every consumer a unique name",
    ),
    (
        "name not DNS-like",
        [{"name": "Billing_Team"}],
        "notifications.consumers[0].name must be 1-32 lowercase letters",
        "pulumi config set --path 'notifications.consumers[0].name' billing",
    ),
    (
        "missing name",
        [{"statuses": ["failed"]}],
        "notifications.consumers[0].name is required",
        "pulumi config set --path 'notifications.consumers[0].name'",
    ),
    (
        "unknown status",
        [{"name": "billing", "statuses": ["done"]}],
        "notifications.consumers[0].statuses must be a non-empty list drawn from completed, failed, "
        "rejected, missing (got ['done'])",
        "list only known statuses under notifications.consumers[0].statuses",
    ),
    (
        "unknown route",
        [{"name": "billing", "routes": ["invoices"]}],
        "notifications.consumers[0].routes must be a non-empty list drawn from uploads, batch, data, "
        "events, images, stream, documents (got ['invoices'])",
        "list only known routes under notifications.consumers[0].routes",
    ),
    (
        "empty statuses",
        [{"name": "billing", "statuses": []}],
        "notifications.consumers[0].statuses must be a non-empty list",
        "or remove it to receive everything",
    ),
    (
        "unknown key",
        [{"name": "billing", "endpoint": "arn:aws:sqs:us-east-1:123456789012:x"}],
        "notifications.consumers[0].endpoint is not a known setting",
        "pulumi config rm --path 'notifications.consumers[0].endpoint'",
    ),
]


@pytest.mark.parametrize(
    ("consumers", "problem", "fix"), [c[1:] for c in CONFIG_ERRORS], ids=[c[0] for c in CONFIG_ERRORS]
)
def test_invalid_consumer_is_refused_naming_the_key_and_the_fix(consumers, problem, fix):
    (message,) = _problems(consumers)
    stated, _, fixed = message.partition(". Fix: ")
    assert problem in stated
    assert fix in fixed
