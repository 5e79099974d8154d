"""An async model: its schema rules, and the graph a stack with a `documents/` route on one declares — the
asynchronous endpoint configuration, auto scaling from zero, the execution role's exact scope, the submitting
function's role and the result writer with its subscriptions and DLQ."""

from __future__ import annotations

import json

import pytest
from stack_graph import DEV_CONFIG, ROLE_POLICY, StackGraph, allowed_actions, statement

from infra.config import ConfigError, parse_config
from infra.ml import has_local_instance_storage
from lambdas.inference import contract
from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

SUMMARIZER = {
    "mode": "async",
    "image": "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:"
    "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04",
    "environment": {"HF_MODEL_ID": "sshleifer/distilbart-cnn-12-6", "HF_TASK": "summarization"},
    "payloadFormat": "json",
    "minInstances": 0,
    "maxInstances": 2,
    "maxConcurrentInvocationsPerInstance": 2,
}
DOCUMENTS = {
    "name": "documents",
    "prefix": "documents/",
    "suffix": ".json",
    "via": "lambda",
    "model": "summarizer",
}


def async_config(model: dict | None = None) -> dict[str, str]:
    flat = load_stack_config(DEV_CONFIG)
    models = json.loads(flat["ai-event-pipeline:models"])
    models["summarizer"] = model or SUMMARIZER
    # The dev stack's documents route and summarizer, with this module's settings.
    routes = [r for r in json.loads(flat["ai-event-pipeline:routes"]) if r["name"] != DOCUMENTS["name"]]
    routes.append(DOCUMENTS)
    flat["ai-event-pipeline:models"] = json.dumps(models)
    flat["ai-event-pipeline:routes"] = json.dumps(routes)
    return flat


def values(flat: dict[str, str]) -> dict:
    return {
        k.removeprefix("ai-event-pipeline:"): json.loads(v) if v[:1] in "[{tf" else v
        for k, v in flat.items()
        if k.startswith("ai-event-pipeline:")
    }


@pytest.fixture(scope="module")
def graph() -> StackGraph:
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config=async_config()), mocks)


def problems_of(model: dict) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(values(async_config(model)), stack="dev", region="us-east-1")
    return str(error.value)


def test_an_async_model_refuses_the_text_payload_format():
    assert "payloadFormat must be json or binary for an async model" in problems_of(
        {**SUMMARIZER, "payloadFormat": "text"}
    )


def test_an_async_model_refuses_more_minimum_than_maximum_instances():
    assert "minInstances (3) exceeds maxInstances (2)" in problems_of({**SUMMARIZER, "minInstances": 3})


def test_an_async_model_adds_no_concurrency_warning_for_its_unbounded_route():
    config = parse_config(values(async_config()), stack="dev", region="us-east-1")
    assert not [w for w in config.warnings if "'documents'" in w]


def test_async_endpoint_configuration_writes_under_the_async_prefix_with_the_stack_key(graph):
    (config,) = [
        c
        for c in graph.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
        if c.inputs.get("asyncInferenceConfig")
    ]
    output = config.inputs["asyncInferenceConfig"]["outputConfig"]
    bucket = graph.outputs["bucket_name"]
    assert output["s3OutputPath"] == f"s3://{bucket}/async-inference/summarizer/output/"
    assert output["s3FailurePath"] == f"s3://{bucket}/async-inference/summarizer/failure/"
    assert output["kmsKeyId"] == graph.outputs["kms_key_arn"]
    model = graph.outputs["models"]["summarizer"]
    assert output["notificationConfig"] == {
        "successTopic": model["success_topic_arn"],
        "errorTopic": model["error_topic_arn"],
    }
    assert config.inputs["asyncInferenceConfig"]["clientConfig"]["maxConcurrentInvocationsPerInstance"] == 2


def _async_endpoint_config(graph: StackGraph):
    (config,) = [
        c
        for c in graph.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
        if c.inputs.get("asyncInferenceConfig")
    ]
    return config


def test_an_async_endpoints_storage_volume_is_encrypted_with_the_stack_key(graph):
    # The default instance type (ml.m5.xlarge) has EBS storage only.
    assert _async_endpoint_config(graph).inputs["kmsKeyArn"] == graph.outputs["kms_key_arn"]


def test_an_instance_type_with_local_storage_gets_no_volume_key_as_sagemaker_requires():
    mocks = CaptureMocks(region="us-east-1")
    gpu = StackGraph(
        run_program(mocks, stack="dev", config=async_config({**SUMMARIZER, "instanceType": "ml.g5.xlarge"})),
        mocks,
    )
    assert "kmsKeyArn" not in _async_endpoint_config(gpu).inputs


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [("ml.m5.xlarge", False), ("ml.c5.2xlarge", False), ("ml.m5d.xlarge", True), ("ml.c6id.large", True),
     ("ml.g4dn.xlarge", True), ("ml.g5.2xlarge", True), ("ml.p3.2xlarge", False), ("ml.p3dn.24xlarge", True)],
)  # fmt: skip
def test_instance_storage_is_told_from_the_instance_family(instance_type, local):
    assert has_local_instance_storage(instance_type) is local


def test_async_endpoint_scales_to_zero_on_backlog_and_up_from_zero_on_backlog_without_capacity(graph):
    (target,) = graph.of_type("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (0, 2)
    assert target.inputs["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policies = {p.inputs["policyType"]: p for p in graph.of_type("aws:appautoscaling/policy:Policy")}
    metric = policies["TargetTrackingScaling"].inputs["targetTrackingScalingPolicyConfiguration"][
        "customizedMetricSpecification"
    ]
    assert metric["metricName"] == "ApproximateBacklogSizePerInstance"
    (alarm,) = [
        a
        for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("metricName") == "HasBacklogWithoutCapacity"
    ]
    assert len(alarm.inputs["alarmActions"]) == 1
    step = policies["StepScaling"].inputs["stepScalingPolicyConfiguration"]
    assert step["stepAdjustments"] == [{"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]


def test_async_execution_role_reads_exactly_the_routes_prefix_and_writes_exactly_the_output_paths(graph):
    bucket_arn = graph.outputs["bucket_arn"]
    roles = [p for p in graph.of_type(ROLE_POLICY) if "ReadAsyncInputs" in p.inputs["policy"]]
    (policy,) = roles
    document = json.loads(policy.inputs["policy"])
    assert statement(document, "ReadAsyncInputs")["Resource"] in (
        [f"{bucket_arn}/documents/*"],
        f"{bucket_arn}/documents/*",
    )
    assert statement(document, "WriteAsyncOutputs")["Resource"] == [
        f"{bucket_arn}/async-inference/summarizer/output/*",
        f"{bucket_arn}/async-inference/summarizer/failure/*",
    ]
    model = graph.outputs["models"]["summarizer"]
    assert statement(document, "PublishAsyncNotifications")["Resource"] == [
        model["success_topic_arn"],
        model["error_topic_arn"],
    ]


def test_async_routes_function_may_submit_to_its_endpoint_only_and_reads_no_object(graph):
    document = graph.role_policy_of("documents")
    actions = allowed_actions(document)
    assert "sagemaker:InvokeEndpointAsync" in actions
    assert not {"sagemaker:InvokeEndpoint", "s3:GetObject", "s3:PutObject"} & actions
    assert statement(document, "InvokeAsyncEndpoint")["Resource"] == [
        graph.outputs["models"]["summarizer"]["endpoint_arn"]
    ]


def test_async_routes_function_carries_the_invocation_timeout(graph):
    variables = graph.function("documents").inputs["environment"]["variables"]
    assert variables[contract.ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS] == "900"


def test_result_writer_reads_exactly_the_output_path_and_updates_results(graph):
    model = graph.outputs["models"]["summarizer"]
    role = graph.resolve(model["result_writer_role_arn"])
    (policy,) = [p for p in graph.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    document = json.loads(policy.inputs["policy"])
    assert statement(document, "ReadAsyncOutputs")["Resource"] == [
        f"{graph.outputs['bucket_arn']}/async-inference/summarizer/output/*"
    ]
    assert "dynamodb:UpdateItem" in allowed_actions(document)
    assert "dynamodb:PutItem" not in allowed_actions(document)


def test_result_writer_subscribes_to_both_topics_with_a_dead_letter_queue(graph):
    model = graph.outputs["models"]["summarizer"]
    writer = graph.resolve(model["result_writer_function_name"])
    assert writer.inputs["handler"] == contract.RESULT_WRITER_HANDLER
    subscriptions = [
        s
        for s in graph.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs.get("endpoint") == writer.outputs["arn"]
    ]
    assert {s.inputs["topic"] for s in subscriptions} == {
        model["success_topic_arn"],
        model["error_topic_arn"],
    }
    for subscription in subscriptions:
        assert "deadLetterTargetArn" in json.loads(subscription.inputs["redrivePolicy"])


def alarm_named(graph: StackGraph, suffix: str) -> dict:
    (alarm,) = [
        a
        for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("name") == f"ai-event-pipeline/dev/{suffix}"
    ]
    return alarm.inputs


def test_async_backlog_age_alarms_at_the_queue_age_threshold(graph):
    alarm = alarm_named(graph, "model-summarizer-async-oldest-request-age")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/SageMaker", "ApproximateAgeOfOldestRequest")
    assert alarm["dimensions"] == {"EndpointName": graph.outputs["models"]["summarizer"]["endpoint_name"]}
    assert alarm["threshold"] == 300
    assert alarm["alarmActions"] == [graph.outputs["ops_topic_arn"]]


def test_async_invocation_failures_alarm_on_the_first_one(graph):
    alarm = alarm_named(graph, "model-summarizer-async-invocation-failures")
    assert (alarm["metricName"], alarm["statistic"], alarm["threshold"]) == ("InvocationFailures", "Sum", 0)
    assert alarm["dimensions"] == {
        "EndpointName": graph.outputs["models"]["summarizer"]["endpoint_name"],
        "VariantName": "AllTraffic",
    }


def test_async_notification_failures_alarm_because_items_would_stay_in_progress(graph):
    alarm = alarm_named(graph, "model-summarizer-async-notification-failures")
    assert (alarm["metricName"], alarm["threshold"]) == ("NotificationFailures", 0)


def test_async_expired_requests_alarm_because_their_items_would_stay_in_progress(graph):
    alarm = alarm_named(graph, "model-summarizer-async-expired-requests")
    assert (alarm["metricName"], alarm["statistic"], alarm["threshold"]) == ("ExpiredRequests", "Sum", 0)
    assert alarm["dimensions"] == {
        "EndpointName": graph.outputs["models"]["summarizer"]["endpoint_name"],
        "VariantName": "AllTraffic",
    }


def test_result_writer_dead_letter_queue_alarms_when_not_empty(graph):
    alarm = alarm_named(graph, "model-summarizer-result-writer-dlq-not-empty")
    dlq_url = graph.outputs["models"]["summarizer"]["result_writer_dlq_url"]
    assert alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_url.endswith("/" + alarm["dimensions"]["QueueName"])


def test_result_writer_errors_alarm(graph):
    alarm = alarm_named(graph, "model-summarizer-result-writer-errors")
    writer = graph.resolve(graph.outputs["models"]["summarizer"]["result_writer_function_name"])
    assert alarm["dimensions"] == {"FunctionName": writer.outputs["name"]}


def test_async_model_latency_alarm_scales_with_its_invocation_timeout(graph):
    alarm = alarm_named(graph, "model-summarizer-endpoint-model-latency")
    assert alarm["threshold"] == 450 * 1_000_000
    assert alarm_named(graph, "model-text-classifier-endpoint-model-latency")["threshold"] == 30 * 1_000_000
