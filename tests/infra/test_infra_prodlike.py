"""A production-shaped config (tests/infra/Pulumi.prodlike.yaml) drives a different graph, same program."""

from __future__ import annotations

import json
from collections import Counter

from stack_graph import (
    ALARM,
    ASYNC_CONFIG,
    BUCKET,
    ENDPOINT,
    ENDPOINT_CONFIG,
    FUNCTION,
    LIFECYCLE,
    LOG_GROUP,
    MAPPING,
    MODEL,
    NOTIFICATION,
    QUEUE,
    ROLE,
    RULE,
    SUBSCRIPTION,
    TABLE,
    statement,
)

from infra.messaging import queue_visibility_timeout_seconds
from lambdas.inference import contract

PROD_ACCOUNT = "123456789012"


def test_existing_endpoint_mode_creates_no_sagemaker_resources(prod):
    assert [r for r in prod.run.resources if r.type in (MODEL, ENDPOINT_CONFIG, ENDPOINT)] == []
    assert prod.outputs["models"]["sentiment"]["endpoint_name"] == "Sentiment-Prod"


def test_existing_endpoint_is_named_to_functions_and_scoped_by_its_lowercase_arn(prod):
    for name in prod.outputs["routes"]:
        variables = prod.function(name).inputs["environment"]["variables"]
        assert variables[contract.ENV_ENDPOINT_NAME] == "Sentiment-Prod"
        invoke = statement(prod.role_policy_of(name), "InvokeModelEndpoint")
        assert invoke["Resource"] == [f"arn:aws:sagemaker:eu-west-1:{PROD_ACCOUNT}:endpoint/sentiment-prod"]


def test_existing_endpoint_stack_runs_without_warnings(prod):
    # The concurrency budget applies only to an endpoint the stack sizes; these routes are bounded anyway.
    assert prod.run.warnings == []


def test_only_function_roles_exist_without_a_stack_owned_endpoint(prod):
    assert sorted(r.outputs["arn"] for r in prod.of_type(ROLE)) == sorted(
        r["role_arn"] for r in prod.outputs["routes"].values()
    )


def test_two_sqs_routes_get_their_own_queue_dlq_mapping_and_function(prod):
    routes = prod.outputs["routes"]
    assert {name: r["via"] for name, r in routes.items()} == {"invoices": "sqs", "reviews": "sqs"}
    assert len(prod.of_type(QUEUE)) == 5  # 2 route queues, 2 route DLQs, the endpoint-state DLQ
    assert len(prod.of_type(FUNCTION)) == 2
    mappings = {m.inputs["eventSourceArn"]: m.inputs["functionName"] for m in prod.of_type(MAPPING)}
    assert mappings == {r["queue_arn"]: r["function_arn"] for r in routes.values()}
    assert len({r["dlq_arn"] for r in routes.values()}) == 2


def test_bucket_notification_holds_both_queues_and_nothing_else(prod):
    (notification,) = prod.of_type(NOTIFICATION)
    queues = {
        q["id"]: (q["queueArn"], q.get("filterPrefix"), q.get("filterSuffix"))
        for q in notification.inputs["queues"]
    }
    routes = prod.outputs["routes"]
    assert queues == {
        "invoices": (routes["invoices"]["queue_arn"], "invoices/", None),
        "reviews": (routes["reviews"]["queue_arn"], "reviews/", ".json"),
    }
    assert not notification.inputs.get("topics")
    assert not notification.inputs.get("lambdaFunctions")
    assert not notification.inputs.get("eventbridge")


def test_sqs_only_stack_has_no_async_configs_and_no_route_rules(prod):
    assert prod.of_type(ASYNC_CONFIG) == []
    patterns = [json.loads(r.inputs["eventPattern"])["source"] for r in prod.of_type(RULE)]
    assert patterns == [["aws.sagemaker"]]


def test_function_and_queue_settings_come_from_config(prod):
    function = prod.function("reviews")
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (2048, 300)
    assert function.inputs["reservedConcurrentExecutions"] == 50
    variables = function.inputs["environment"]["variables"]
    assert variables[contract.ENV_MAX_WORKERS] == "16"
    assert variables[contract.ENV_MODEL_MAX_BATCH_SIZE] == "8"
    assert variables[contract.ENV_MAX_OBJECT_BYTES] == "2097152"
    queue = prod.resolve(prod.route("reviews")["queue_arn"])
    assert queue.inputs["visibilityTimeoutSeconds"] == queue_visibility_timeout_seconds(300, 10) == 1810
    mapping = next(m for m in prod.of_type(MAPPING) if m.inputs["eventSourceArn"] == queue.outputs["arn"])
    assert (mapping.inputs["batchSize"], mapping.inputs["scalingConfig"]) == (50, {"maximumConcurrency": 20})


def test_deletion_protection_is_on(prod):
    (table,) = prod.of_type(TABLE)
    assert table.inputs["deletionProtectionEnabled"] is True
    buckets = prod.of_type(BUCKET)
    assert {b.name for b in buckets} == {"ingest", "access-logs"}
    for bucket in buckets:
        assert bucket.inputs["forceDestroy"] is False, bucket.key


def test_stores_holding_data_refuse_pulumi_destroy(prod):
    (key,) = prod.of_type("aws:kms/key:Key")
    (table,) = prod.of_type(TABLE)
    stores = {key.key, (BUCKET, "ingest"), (BUCKET, "access-logs"), table.key}
    assert {r.key for r in prod.run.resources if r.protect} == stores


def test_prod_keeps_function_logs_at_least_a_year(prod):
    log_groups = prod.of_type(LOG_GROUP)
    assert len(log_groups) == 2
    for log_group in log_groups:
        assert log_group.inputs["retentionInDays"] >= 365, log_group.key


def test_bucket_lifecycles_follow_the_bucket_config(prod):
    ingest = prod.of_bucket(LIFECYCLE, prod.outputs["bucket_name"])
    logs = prod.of_bucket(LIFECYCLE, prod.outputs["access_log_bucket_name"])
    for lifecycle in (ingest, logs):
        (rule,) = lifecycle.inputs["rules"]
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}, lifecycle.key
    (log_rule,) = logs.inputs["rules"]
    assert log_rule["expiration"] == {"days": 730}, logs.key


def test_notification_subscriptions_carry_filter_policies_from_config(prod):
    subscriptions = {
        s.inputs["endpoint"]: s.inputs
        for s in prod.of_type(SUBSCRIPTION)
        if s.inputs["topic"] == prod.outputs["notifications_topic_arn"]
    }
    failed = subscriptions["arn:aws:sqs:eu-west-1:210987654321:failed-inferences"]
    assert failed["protocol"] == "sqs"
    assert json.loads(failed["filterPolicy"]) == {contract.MESSAGE_ATTRIBUTE_STATUS: ["failed", "rejected"]}
    assert failed["filterPolicyScope"] == "MessageAttributes"
    reviews = subscriptions["reviews-team@example.com"]
    assert json.loads(reviews["filterPolicy"]) == {contract.MESSAGE_ATTRIBUTE_ROUTE: ["reviews"]}


def test_ops_subscription_receives_every_alarm_unfiltered(prod):
    (ops,) = [s for s in prod.of_type(SUBSCRIPTION) if s.inputs["topic"] == prod.outputs["ops_topic_arn"]]
    assert (ops.inputs["protocol"], ops.inputs["endpoint"]) == ("email", "oncall@example.com")
    assert "filterPolicy" not in ops.inputs


def test_alarms_follow_the_routes_and_skip_an_endpoint_the_stack_does_not_own(prod):
    metrics = Counter(a.inputs["metricName"] for a in prod.of_type(ALARM))
    assert metrics == {
        "ApproximateNumberOfMessagesVisible": 3,  # the 2 route DLQs and the endpoint-state DLQ
        "Errors": 2,
        "Throttles": 2,
        "ApproximateAgeOfOldestMessage": 2,
        "FailedInvocations": 1,  # the endpoint-state rule
    }
    ages = {
        a.inputs["threshold"]
        for a in prod.of_type(ALARM)
        if a.inputs["metricName"] == "ApproximateAgeOfOldestMessage"
    }
    assert ages == {900}


def test_provider_targets_the_configured_region(prod):
    (provider,) = prod.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1"
    assert json.loads(provider.inputs["defaultTags"])["tags"]["stack"] == "prod"
