"""Config shapes neither stack file uses: an EventBridge route with a suffix, two overlapping EventBridge
routes, and two SNS routes, each run through the real program."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern
from stack_graph import (
    DEV_CONFIG,
    FUNCTION,
    KEY_POLICY,
    NOTIFICATION,
    QUEUE,
    RULE,
    SUBSCRIPTION,
    TARGET,
    StackGraph,
    policy_document,
    statement,
)

from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

TEXT = "text-classifier"  # one of the dev stack's models: with two, each route names its own
ROUTES = [
    {"name": "orders", "prefix": "orders/", "suffix": ".csv", "via": "eventbridge", "model": TEXT},
    # overlaps orders: EventBridge allows it
    {"name": "audit", "prefix": "orders/", "via": "eventbridge", "model": TEXT},
    {"name": "photos", "prefix": "photos/", "via": "sns", "model": TEXT},
    {"name": "videos", "prefix": "videos/", "via": "sns", "model": TEXT},
]


@pytest.fixture(scope="module")
def shapes() -> StackGraph:
    config = load_stack_config(DEV_CONFIG)
    config["ai-event-pipeline:routes"] = json.dumps(ROUTES)
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def object_created(bucket: str, key: str) -> dict:
    """An S3 "Object Created" event as S3 sends it to EventBridge (the fields a rule can match)."""
    return {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}, "reason": "PutObject"},
    }


def rule_matches(graph: StackGraph, route: str, bucket: str, key: str) -> bool:
    rule = graph.resolve(graph.route(route)["rule_arn"])
    return EventPattern.load(rule.inputs["eventPattern"]).matches_event(object_created(bucket, key))


@pytest.mark.parametrize(
    ("key", "matches"),
    [
        ("orders/2024.csv", True),
        ("orders/2024/05/day.csv", True),
        ("orders/.csv", True),
        ("orders/2024.csv.json", False),
        ("orders/2024.json", False),
        ("orders/2024.CSV", False),
        ("archive/orders/2024.csv", False),
        ("2024.csv", False),
        ("orders/", False),
    ],
)
def test_eventbridge_route_with_suffix_matches_only_keys_with_its_prefix_and_suffix(shapes, key, matches):
    assert rule_matches(shapes, "orders", shapes.outputs["bucket_name"], key) is matches, key


def test_eventbridge_route_with_suffix_matches_by_one_wildcard(shapes):
    rule = shapes.resolve(shapes.route("orders")["rule_arn"])
    detail = json.loads(rule.inputs["eventPattern"])["detail"]
    assert detail["object"] == {"key": [{"wildcard": "orders/*.csv"}]}, rule.key


def test_eventbridge_route_with_suffix_ignores_other_buckets(shapes):
    assert not rule_matches(shapes, "orders", "someone-elses-bucket", "orders/2024.csv")


def test_overlapping_eventbridge_routes_both_receive_a_shared_key(shapes):
    bucket = shapes.outputs["bucket_name"]
    assert rule_matches(shapes, "orders", bucket, "orders/2024.csv")
    assert rule_matches(shapes, "audit", bucket, "orders/2024.csv")
    assert rule_matches(shapes, "audit", bucket, "orders/2024.json")


@pytest.mark.parametrize("kind", [("orders", "audit"), ("photos", "videos")], ids=["eventbridge", "sns"])
def test_two_routes_of_one_kind_get_their_own_function_role_and_dlq(shapes, kind):
    routes = [shapes.route(name) for name in kind]
    for key in ("function_arn", "role_arn", "dlq_arn"):
        assert len({r[key] for r in routes}) == 2, (kind, key)
    for name, route in zip(kind, routes, strict=True):
        assert shapes.resolve(route["function_arn"]).key == (FUNCTION, f"inference-{name}")
        assert shapes.resolve(route["dlq_arn"]).key == (QUEUE, f"{name}-dlq")
        function = shapes.function(name)
        assert function.inputs["role"] == route["role_arn"], function.key


def test_two_eventbridge_routes_get_their_own_rule_targeting_their_own_function(shapes):
    for name in ("orders", "audit"):
        route = shapes.route(name)
        assert shapes.resolve(route["rule_arn"]).key == (RULE, f"{name}-object-created")
        (target,) = [t for t in shapes.of_type(TARGET) if t.inputs["rule"] == route["rule_name"]]
        assert target.inputs["arn"] == route["function_arn"], target.key
        assert target.inputs["deadLetterConfig"] == {"arn": route["dlq_arn"]}, target.key


def test_two_sns_routes_get_their_own_topic_subscribing_their_own_function(shapes):
    (notification,) = shapes.of_type(NOTIFICATION)
    topics = {t["id"]: (t["topicArn"], t["filterPrefix"]) for t in notification.inputs["topics"]}
    assert topics == {
        "photos": (shapes.route("photos")["topic_arn"], "photos/"),
        "videos": (shapes.route("videos")["topic_arn"], "videos/"),
    }
    for name in ("photos", "videos"):
        route = shapes.route(name)
        (subscription,) = [s for s in shapes.of_type(SUBSCRIPTION) if s.inputs["topic"] == route["topic_arn"]]
        assert subscription.inputs["endpoint"] == route["function_arn"], subscription.key
        assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": route["dlq_arn"]}


def test_key_policy_lets_sns_redrive_for_both_route_topics(shapes):
    (key_policy,) = shapes.of_type(KEY_POLICY)
    redrive = statement(policy_document(key_policy), "SnsRedriveToDeadLetterQueues")
    # ... and the async models' notifications to their result writers.
    notices = [
        m[f"{kind}_topic_arn"]
        for m in shapes.outputs["models"].values()
        if m.get("success_topic_arn")
        for kind in ("success", "error")
    ]
    assert sorted(redrive["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        [*(shapes.route(name)["topic_arn"] for name in ("photos", "videos")), *notices]
    ), key_policy.key


@pytest.mark.parametrize("name", ["orders", "audit", "photos", "videos"])
def test_each_route_role_reads_only_its_own_prefix(shapes, name):
    read = statement(shapes.role_policy_of(name), "ReadRouteObjects")
    prefix = next(r["prefix"] for r in ROUTES if r["name"] == name)
    assert read["Resource"] == [f"{shapes.outputs['bucket_arn']}/{prefix}*"], name
