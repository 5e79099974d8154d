"""Each route's complete wiring in the dev stack: S3 -> carrier -> function -> DLQ, with every grant."""

from __future__ import annotations

import json

import pytest
from stack_graph import (
    ASYNC_CONFIG,
    FUNCTION,
    KEY_POLICY,
    LOG_GROUP,
    MAPPING,
    NOTIFICATION,
    PERMISSION,
    QUEUE,
    QUEUE_POLICY,
    RECURSION,
    RULE,
    SUBSCRIPTION,
    TARGET,
    TOPIC_POLICY,
    policy_document,
    service_principal,
    statement,
    statements,
)

from infra.compute import ASYNC_MAX_RETRY_ATTEMPTS
from infra.messaging import MAX_RECEIVE_COUNT, queue_visibility_timeout_seconds
from lambdas.inference import contract

ACCOUNT = "123456789012"
# Pulumi.dev.yaml's routes: name -> (prefix, suffix as the function's environment carries it).
ROUTE_FILTERS = {
    "uploads": ("uploads/", ""),
    "batch": ("batch/", ""),
    "data": ("data/", ".json"),
    "events": ("events/", ""),
    "images": ("images/", ""),
}
ROUTE_VIAS = {"uploads": "sns", "batch": "sqs", "data": "lambda", "events": "eventbridge", "images": "sqs"}
ROUTE_MODELS = {name: "text-classifier" for name in ("uploads", "batch", "data", "events")} | {
    "images": "image-classifier"
}


def notification(dev) -> dict:
    (resource,) = dev.of_type(NOTIFICATION)
    return resource.inputs


def policy_for(dev, type_token: str, input_name: str, value: str) -> dict:
    (resource,) = [r for r in dev.of_type(type_token) if r.inputs[input_name] == value]
    return policy_document(resource)


def service_grant(document: dict, service: str) -> dict:
    (grant,) = [s for s in statements(document) if service_principal(s) == f"{service}.amazonaws.com"]
    return grant


def assert_conditioned_on(grant: dict, source_arns: list[str]) -> None:
    assert grant["Condition"]["ArnEquals"]["aws:SourceArn"] == source_arns
    assert grant["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


# --- sns ------------------------------------------------------------------------------------------------


def test_sns_route_bucket_notification_publishes_its_prefix_to_the_route_topic(dev):
    route = dev.route("uploads")
    (entry,) = notification(dev)["topics"]
    assert entry == {
        "id": "uploads",
        "topicArn": route["topic_arn"],
        "events": ["s3:ObjectCreated:*"],
        "filterPrefix": "uploads/",
    }


def test_sns_route_topic_policy_lets_only_our_bucket_publish(dev):
    route = dev.route("uploads")
    document = policy_for(dev, TOPIC_POLICY, "arn", route["topic_arn"])
    grant = service_grant(document, "s3")
    assert grant["Action"] == ["sns:Publish"]
    assert grant["Resource"] == [route["topic_arn"]]
    assert_conditioned_on(grant, [dev.outputs["bucket_arn"]])


def test_sns_route_subscribes_its_function_with_redrive_to_its_dlq(dev):
    route = dev.route("uploads")
    (subscription,) = [s for s in dev.of_type(SUBSCRIPTION) if s.inputs["topic"] == route["topic_arn"]]
    assert subscription.inputs["protocol"] == "lambda"
    assert subscription.inputs["endpoint"] == route["function_arn"]
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": route["dlq_arn"]}


def test_sns_route_permission_lets_only_its_topic_invoke(dev):
    route = dev.route("uploads")
    (permission,) = [
        p
        for p in dev.of_type(PERMISSION)
        if p.inputs["principal"] == "sns.amazonaws.com" and p.inputs["function"] == route["function_name"]
    ]
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == route["topic_arn"]
    subscription = next(s for s in dev.of_type(SUBSCRIPTION) if s.inputs["topic"] == route["topic_arn"])
    assert permission.key in subscription.depends_on


def test_sns_route_dlq_accepts_redrive_only_from_its_topic(dev):
    route = dev.route("uploads")
    document = policy_for(dev, QUEUE_POLICY, "queueUrl", route["dlq_url"])
    grant = service_grant(document, "sns")
    assert grant["Action"] == ["sqs:SendMessage"]
    assert grant["Resource"] == [route["dlq_arn"]]
    assert_conditioned_on(grant, [route["topic_arn"]])


# --- sqs ------------------------------------------------------------------------------------------------


def test_sqs_route_bucket_notification_sends_its_prefix_to_the_route_queue(dev):
    route = dev.route("batch")
    queues = notification(dev)["queues"]
    assert [q["id"] for q in queues] == ["batch", "images"]
    entry = next(q for q in queues if q["id"] == "batch")
    assert entry == {
        "id": "batch",
        "queueArn": route["queue_arn"],
        "events": ["s3:ObjectCreated:*"],
        "filterPrefix": "batch/",
    }


def test_sqs_route_queue_policy_lets_only_our_bucket_send(dev):
    route = dev.route("batch")
    document = policy_for(dev, QUEUE_POLICY, "queueUrl", route["queue_url"])
    grant = service_grant(document, "s3")
    assert grant["Action"] == ["sqs:SendMessage"]
    assert grant["Resource"] == [route["queue_arn"]]
    assert_conditioned_on(grant, [dev.outputs["bucket_arn"]])


def test_sqs_route_queue_redrives_to_its_dlq_after_five_receives(dev):
    route = dev.route("batch")
    queue = dev.resolve(route["queue_arn"])
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": route["dlq_arn"],
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert MAX_RECEIVE_COUNT == 5


def test_sqs_route_visibility_timeout_covers_six_function_timeouts_plus_the_batching_window(dev):
    route = dev.route("batch")
    queue = dev.resolve(route["queue_arn"])
    mapping = next(m for m in dev.of_type(MAPPING) if m.inputs["eventSourceArn"] == route["queue_arn"])
    timeout = dev.function("batch").inputs["timeout"]
    window = mapping.inputs["maximumBatchingWindowInSeconds"]
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * timeout + window
    assert queue.inputs["visibilityTimeoutSeconds"] == queue_visibility_timeout_seconds(
        int(timeout), int(window)
    )


def test_visibility_timeout_rule_is_six_timeouts_plus_window():
    assert queue_visibility_timeout_seconds(60, 5) == 365
    assert queue_visibility_timeout_seconds(900, 300) == 5700


def test_sqs_route_event_source_mapping_uses_batch_settings_and_partial_failures(dev):
    route = dev.route("batch")
    (mapping,) = [m for m in dev.of_type(MAPPING) if m.inputs.get("eventSourceArn") == route["queue_arn"]]
    assert mapping.inputs["functionName"] == route["function_arn"]
    assert mapping.inputs["batchSize"] == 10
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 5
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 5}


def test_sqs_route_event_source_mapping_waits_for_the_role_policy(dev):
    route = dev.route("batch")
    (mapping,) = [m for m in dev.of_type(MAPPING) if m.inputs.get("eventSourceArn") == route["queue_arn"]]
    assert ("aws:iam/rolePolicy:RolePolicy", "inference-batch-policy") in mapping.depends_on


def test_sqs_route_role_may_consume_only_its_own_queue(dev):
    route = dev.route("batch")
    consume = statement(dev.role_policy_of("batch"), "ConsumeRouteQueue")
    assert set(consume["Action"]) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert consume["Resource"] == [route["queue_arn"]]
    for other in ("uploads", "data", "events"):
        sids = {s.get("Sid") for s in statements(dev.role_policy_of(other))}
        assert "ConsumeRouteQueue" not in sids, other


def test_sqs_route_role_may_not_send_to_its_dlq_which_sqs_redrive_fills(dev):
    sids = {s.get("Sid") for s in statements(dev.role_policy_of("batch"))}
    assert "SendFailuresToDeadLetterQueue" not in sids


# --- lambda (direct S3 invoke) ----------------------------------------------------------------------------


def test_lambda_route_bucket_notification_invokes_its_function_for_prefix_and_suffix(dev):
    route = dev.route("data")
    (entry,) = [e for e in notification(dev)["lambdaFunctions"] if e["id"] == "data"]
    assert entry == {
        "id": "data",
        "lambdaFunctionArn": route["function_arn"],
        "events": ["s3:ObjectCreated:*"],
        "filterPrefix": "data/",
        "filterSuffix": ".json",
    }


def test_lambda_route_permission_lets_only_our_bucket_and_account_invoke(dev):
    route = dev.route("data")
    (permission,) = [
        p
        for p in dev.of_type(PERMISSION)
        if p.inputs["principal"] == "s3.amazonaws.com" and p.inputs["function"] == route["function_name"]
    ]
    assert permission.inputs["sourceArn"] == dev.outputs["bucket_arn"]
    assert permission.inputs["sourceAccount"] == ACCOUNT


# --- eventbridge ----------------------------------------------------------------------------------------


def test_eventbridge_route_turns_on_bucket_eventbridge_delivery(dev):
    assert notification(dev)["eventbridge"] is True


def test_eventbridge_route_rule_matches_object_created_in_our_bucket_under_its_prefix(dev):
    route = dev.route("events")
    rule = dev.resolve(route["rule_arn"])
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [dev.outputs["bucket_name"]]},
            "object": {"key": [{"prefix": "events/"}]},
        },
    }
    assert "eventBusName" not in rule.inputs  # the default bus, where S3 sends its events
    assert rule.inputs["state"] == "ENABLED"


def test_eventbridge_route_target_retries_then_dead_letters(dev):
    route = dev.route("events")
    (target,) = [t for t in dev.of_type(TARGET) if t.inputs["rule"] == route["rule_name"]]
    assert target.inputs["arn"] == route["function_arn"]
    assert target.inputs["retryPolicy"] == {
        "maximumRetryAttempts": ASYNC_MAX_RETRY_ATTEMPTS,
        "maximumEventAgeInSeconds": 3600,
    }
    assert target.inputs["deadLetterConfig"] == {"arn": route["dlq_arn"]}


def test_eventbridge_route_permission_lets_only_its_rule_invoke(dev):
    route = dev.route("events")
    (permission,) = [p for p in dev.of_type(PERMISSION) if p.inputs["principal"] == "events.amazonaws.com"]
    assert permission.inputs["function"] == route["function_name"]
    assert permission.inputs["sourceArn"] == route["rule_arn"]


def test_eventbridge_route_dlq_accepts_failed_deliveries_only_from_its_rule(dev):
    route = dev.route("events")
    grant = service_grant(policy_for(dev, QUEUE_POLICY, "queueUrl", route["dlq_url"]), "events")
    assert grant["Action"] == ["sqs:SendMessage"]
    assert_conditioned_on(grant, [route["rule_arn"]])


def test_direct_and_sqs_route_dlqs_grant_no_service_principal(dev):
    for name in ("batch", "data"):
        document = policy_for(dev, QUEUE_POLICY, "queueUrl", dev.route(name)["dlq_url"])
        assert [service_principal(s) for s in statements(document) if s["Effect"] == "Allow"] == [], name


# --- all routes ------------------------------------------------------------------------------------------


def test_bucket_notification_waits_for_every_grant_s3_validates(dev):
    (resource,) = dev.of_type(NOTIFICATION)
    uploads = dev.route("uploads")
    topic_policy = next(r for r in dev.of_type(TOPIC_POLICY) if r.inputs["arn"] == uploads["topic_arn"])
    queue_policies = {
        next(r for r in dev.of_type(QUEUE_POLICY) if r.inputs["queueUrl"] == dev.route(name)["queue_url"]).key
        for name in ("batch", "images")
    }
    s3_permissions = {p.key for p in dev.of_type(PERMISSION) if p.inputs["principal"] == "s3.amazonaws.com"}
    assert len(s3_permissions) == 2  # the data and documents routes
    (key_policy,) = dev.of_type(KEY_POLICY)
    assert set(resource.depends_on) == {topic_policy.key, *queue_policies, *s3_permissions, key_policy.key}


@pytest.mark.parametrize("name", ["uploads", "data", "events"])
def test_async_route_sends_failed_invocations_to_its_dlq_after_two_retries(dev, name):
    route = dev.route(name)
    (config,) = [c for c in dev.of_type(ASYNC_CONFIG) if c.inputs["functionName"] == route["function_name"]]
    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["maximumEventAgeInSeconds"] == 3600
    assert config.inputs["destinationConfig"] == {"onFailure": {"destination": route["dlq_arn"]}}
    assert ("aws:iam/rolePolicy:RolePolicy", f"inference-{name}-policy") in config.depends_on


def test_sqs_route_has_no_async_invoke_config(dev):
    route = dev.route("batch")
    assert [c for c in dev.of_type(ASYNC_CONFIG) if c.inputs["functionName"] == route["function_name"]] == []


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_runs_the_shared_handler_on_python313_arm64_unreserved(dev, name):
    function = dev.function(name)
    assert function.inputs["runtime"] == "python3.13"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["handler"] == contract.HANDLER
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (1024, 300)
    # New accounts may have a concurrency quota of 10 and Lambda keeps 100 unreserved: no reservation.
    assert "reservedConcurrentExecutions" not in function.inputs


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_logs_json_into_its_own_log_group_with_configured_retention(dev, name):
    function = dev.function(name)
    log_group = dev.one(LOG_GROUP, f"inference-{name}-logs")
    assert function.inputs["loggingConfig"] == {"logFormat": "JSON", "logGroup": log_group.outputs["name"]}
    assert log_group.inputs["retentionInDays"] == 14
    assert set(function.depends_on) == {
        log_group.key,
        ("aws:iam/rolePolicy:RolePolicy", f"inference-{name}-policy"),
    }


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_log_group_is_encrypted_with_the_stack_key(dev, name):
    log_group = dev.one(LOG_GROUP, f"inference-{name}-logs")
    assert log_group.inputs["kmsKeyId"] == dev.outputs["kms_key_arn"], log_group.key


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_log_group_waits_for_the_key_policy_that_admits_cloudwatch_logs(dev, name):
    # CloudWatch Logs refuses to create a log group under a key whose policy does not let it use the key.
    log_group = dev.one(LOG_GROUP, f"inference-{name}-logs")
    (key_policy,) = dev.of_type(KEY_POLICY)
    assert key_policy.key in log_group.depends_on, log_group.key


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_environment_is_encrypted_with_the_stack_key(dev, name):
    function = dev.function(name)
    assert function.inputs["kmsKeyArn"] == dev.outputs["kms_key_arn"], function.key


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_environment_is_exactly_the_handler_contract(dev, name):
    variables = dev.function(name).inputs["environment"]["variables"]
    model = dev.outputs["models"]["text-classifier"]
    assert variables == {
        contract.ENV_RESULTS_TABLE: dev.outputs["results_table_name"],
        contract.ENV_ENDPOINT_NAME: model["endpoint_name"],
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: dev.outputs["notifications_topic_arn"],
        contract.ENV_ROUTE_NAME: name,
        contract.ENV_BUCKET_NAME: dev.outputs["bucket_name"],
        contract.ENV_ROUTE_PREFIX: ROUTE_FILTERS[name][0],
        contract.ENV_ROUTE_SUFFIX: ROUTE_FILTERS[name][1],
        contract.ENV_ROUTE_VIA: ROUTE_VIAS[name],
        contract.ENV_MAX_OBJECT_BYTES: "1048576",
        contract.ENV_MODEL_MAX_BATCH_SIZE: "10",
        contract.ENV_MODEL_NAME: "text-classifier",
        contract.ENV_MODEL_VERSION: model["model_version"],
        contract.ENV_PAYLOAD_FORMAT: contract.PAYLOAD_TEXT,
        contract.ENV_ENDPOINT_CONTENT_TYPE: contract.DEFAULT_ENDPOINT_CONTENT_TYPE,
        contract.ENV_MAX_PAYLOAD_BYTES: str(contract.SERVERLESS_MAX_PAYLOAD_BYTES),
        contract.ENV_LARGE_RESULTS_PREFIX: contract.DEFAULT_LARGE_RESULTS_PREFIX,
    }, name


def test_image_function_environment_sends_binary_payloads_one_per_call_with_their_own_content_type(dev):
    variables = dev.function("images").inputs["environment"]["variables"]
    model = dev.outputs["models"]["image-classifier"]
    assert variables == {
        contract.ENV_RESULTS_TABLE: dev.outputs["results_table_name"],
        contract.ENV_ENDPOINT_NAME: model["endpoint_name"],
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: dev.outputs["notifications_topic_arn"],
        contract.ENV_ROUTE_NAME: "images",
        contract.ENV_BUCKET_NAME: dev.outputs["bucket_name"],
        contract.ENV_ROUTE_PREFIX: "images/",
        contract.ENV_ROUTE_SUFFIX: "",
        contract.ENV_ROUTE_VIA: "sqs",
        contract.ENV_MAX_OBJECT_BYTES: "1048576",
        contract.ENV_MODEL_NAME: "image-classifier",
        contract.ENV_MODEL_VERSION: model["model_version"],
        contract.ENV_PAYLOAD_FORMAT: contract.PAYLOAD_BINARY,
        contract.ENV_MAX_PAYLOAD_BYTES: str(contract.SERVERLESS_MAX_PAYLOAD_BYTES),
        contract.ENV_LARGE_RESULTS_PREFIX: contract.DEFAULT_LARGE_RESULTS_PREFIX,
    }
    # No ENDPOINT_CONTENT_TYPE (each object's S3 Content-Type is sent) and no batching.
    assert contract.ENV_ENDPOINT_CONTENT_TYPE not in variables
    assert contract.ENV_MODEL_MAX_BATCH_SIZE not in variables


def test_each_function_records_its_own_models_name_and_version(dev):
    versions = {name: m["model_version"] for name, m in dev.outputs["models"].items()}
    assert len(set(versions.values())) == 3, versions
    for route, model in ROUTE_MODELS.items():
        variables = dev.function(route).inputs["environment"]["variables"]
        assert (variables[contract.ENV_MODEL_NAME], variables[contract.ENV_MODEL_VERSION]) == (
            model,
            versions[model],
        ), route


def test_every_function_terminates_recursive_loops(dev):
    configs = {c.inputs["functionName"]: c.inputs["recursiveLoop"] for c in dev.of_type(RECURSION)}
    assert configs == {f.outputs["name"]: "Terminate" for f in dev.of_type(FUNCTION)}


def endpoint_state_rule(dev):
    (rule,) = [
        r for r in dev.of_type(RULE) if json.loads(r.inputs["eventPattern"])["source"] == ["aws.sagemaker"]
    ]
    return rule


def endpoint_state_target(dev):
    rule = endpoint_state_rule(dev)
    (target,) = [t for t in dev.of_type(TARGET) if t.inputs["rule"] == rule.outputs["name"]]
    return target


def test_endpoint_state_changes_reach_the_notifications_topic_as_a_sentence(dev):
    rule = endpoint_state_rule(dev)
    assert json.loads(rule.inputs["eventPattern"])["detail"] == {
        "EndpointName": [m["endpoint_name"] for m in dev.outputs["models"].values()]
    }
    (target,) = [t for t in dev.of_type(TARGET) if t.inputs["rule"] == rule.outputs["name"]]
    assert target.inputs["arn"] == dev.outputs["notifications_topic_arn"]
    transformer = target.inputs["inputTransformer"]
    assert set(transformer["inputPaths"]) == {"endpoint", "status", "time"}
    assert json.loads(transformer["inputTemplate"]).startswith(
        "SageMaker endpoint <endpoint> is now <status>"
    )
    grant = service_grant(
        policy_for(dev, TOPIC_POLICY, "arn", dev.outputs["notifications_topic_arn"]), "events"
    )
    assert_conditioned_on(grant, [rule.outputs["arn"]])


def test_endpoint_state_target_retries_for_an_hour_then_dead_letters(dev):
    target = endpoint_state_target(dev)
    assert target.inputs["retryPolicy"] == {"maximumRetryAttempts": 8, "maximumEventAgeInSeconds": 3600}, (
        target.key
    )
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    assert target.inputs["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}, target.key


def test_endpoint_state_dlq_is_its_own_encrypted_queue(dev):
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    assert dlq.key == (QUEUE, "endpoint-state-dlq")
    assert dlq.inputs["kmsMasterKeyId"] == dev.outputs["kms_key_arn"], dlq.key
    route_dlqs = {r["dlq_arn"] for r in dev.outputs["routes"].values()}
    assert dlq.outputs["arn"] not in route_dlqs, dlq.key


def test_endpoint_state_dlq_accepts_failed_deliveries_only_from_the_rule_over_tls(dev):
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    document = policy_for(dev, QUEUE_POLICY, "queueUrl", dlq.outputs["url"])
    grant = service_grant(document, "events")
    assert grant["Action"] == ["sqs:SendMessage"], dlq.key
    assert grant["Resource"] == [dlq.outputs["arn"]], dlq.key
    assert_conditioned_on(grant, [endpoint_state_rule(dev).outputs["arn"]])
    assert [s["Effect"] for s in statements(document)] == ["Allow", "Deny"], dlq.key
    deny = statements(document)[1]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, dlq.key


def test_endpoint_state_target_waits_for_the_dlq_policy(dev):
    target = endpoint_state_target(dev)
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    (dlq_policy,) = [p for p in dev.of_type(QUEUE_POLICY) if p.inputs["queueUrl"] == dlq.outputs["url"]]
    assert dlq_policy.key in target.depends_on, target.key
