"""The dashboard: every widget's metric is one AWS documents, with its documented namespace and dimensions,
and every route, owned endpoint and consumer queue of the registry the alarms use has its panels."""

from __future__ import annotations

import json

import pytest
from stack_graph import DEV_CONFIG, StackGraph

from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
# (namespace, metric) -> dimension names, from the pages cited in infra/dashboard.py.
DOCUMENTED = {
    ("AWS/Lambda", "Invocations"): ("FunctionName",),
    ("AWS/Lambda", "Errors"): ("FunctionName",),
    ("AWS/Lambda", "Throttles"): ("FunctionName",),
    ("AWS/Lambda", "Duration"): ("FunctionName",),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): ("QueueName",),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"): ("QueueName",),
    ("AWS/SageMaker", "Invocations"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "Invocation5XXErrors"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "ModelLatency"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "OverheadLatency"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "ModelSetupTime"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "Invocation4XXErrors"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "ApproximateBacklogSize"): ("EndpointName",),
    ("AWS/SageMaker", "ApproximateBacklogSizePerInstance"): ("EndpointName",),
    ("AWS/SageMaker", "ApproximateAgeOfOldestRequest"): ("EndpointName",),
    ("AWS/SageMaker", "InvocationFailures"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "NotificationFailures"): ("EndpointName", "VariantName"),
    ("AWS/SageMaker", "ExpiredRequests"): ("EndpointName", "VariantName"),
}
# Metrics SageMaker does not publish for an async endpoint (the page cited in infra/dashboard.py).
NOT_PUBLISHED_FOR_ASYNC = {"Invocations", "OverheadLatency", "InvocationsPerInstance"}


CONSUMERS = [{"name": "billing", "statuses": ["failed"]}, {"name": "audit"}]


@pytest.fixture(scope="module")
def with_consumers() -> StackGraph:
    """The dev stack plus two consumer queues (`notifications.consumers`)."""
    config = load_stack_config(DEV_CONFIG)
    config["ai-event-pipeline:notifications"] = json.dumps({"subscriptions": [], "consumers": CONSUMERS})
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def _widgets(graph) -> list[dict]:
    (dashboard,) = graph.of_type(DASHBOARD)
    return json.loads(dashboard.inputs["dashboardBody"])["widgets"]


def _widget_metrics(widget: dict) -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for metric in widget["properties"]["metrics"]:
        namespace, name, *dims = metric
        found.append((namespace, name, dict(zip(dims[::2], dims[1::2], strict=True))))
    return found


def _metrics(graph) -> list[tuple[str, str, dict[str, str]]]:
    return [metric for widget in _widgets(graph) for metric in _widget_metrics(widget)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_widget_metric_has_the_namespace_and_dimensions_aws_documents(request, stack):
    graph = request.getfixturevalue(stack)
    for namespace, name, dims in _metrics(graph):
        assert (namespace, name) in DOCUMENTED, (namespace, name)
        assert tuple(dims) == DOCUMENTED[(namespace, name)], (namespace, name, dims)


def test_every_route_has_invocations_errors_throttles_duration_and_dlq_depth(dev):
    metrics = _metrics(dev)
    for name, route in dev.outputs["routes"].items():
        fn = {"FunctionName": route["function_name"]}
        for metric in ("Invocations", "Errors", "Throttles", "Duration"):
            assert ("AWS/Lambda", metric, fn) in metrics, (name, metric)
        dlq_name = dev.resolve(route["dlq_url"]).outputs["name"]
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dlq_name}) in metrics, name


def test_every_sqs_route_has_its_queue_age(dev):
    metrics = _metrics(dev)
    sqs_routes = [r for r in dev.outputs["routes"].values() if r["via"] == "sqs"]
    assert sqs_routes
    for route in sqs_routes:
        queue_name = dev.resolve(route["queue_url"]).outputs["name"]
        assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue_name}) in metrics


def test_every_owned_serverless_endpoint_has_its_five_metrics(dev):
    metrics = _metrics(dev)
    for name in ("text-classifier", "image-classifier"):
        model = dev.outputs["models"][name]
        dims = {"EndpointName": model["endpoint_name"], "VariantName": "AllTraffic"}
        for metric in (
            "Invocations",
            "ModelLatency",
            "OverheadLatency",
            "Invocation5XXErrors",
            "ModelSetupTime",
        ):
            assert ("AWS/SageMaker", metric, dims) in metrics, (model["endpoint_name"], metric)


def test_an_async_endpoint_has_its_backlog_failures_and_result_writer_and_no_unpublished_metric(dev):
    metrics = _metrics(dev)
    model = dev.outputs["models"]["summarizer"]
    endpoint = {"EndpointName": model["endpoint_name"]}
    variant = {**endpoint, "VariantName": "AllTraffic"}
    for metric, dims in [
        ("ApproximateBacklogSize", endpoint),
        ("ApproximateBacklogSizePerInstance", endpoint),
        ("ApproximateAgeOfOldestRequest", endpoint),
        ("InvocationFailures", variant),
        ("NotificationFailures", variant),
        ("ExpiredRequests", variant),
        ("Invocation5XXErrors", variant),
        ("ModelLatency", variant),
    ]:
        assert ("AWS/SageMaker", metric, dims) in metrics, metric
    writer = dev.resolve(model["result_writer_function_name"]).outputs["name"]
    assert ("AWS/Lambda", "Errors", {"FunctionName": writer}) in metrics
    writer_dlq = dev.resolve(model["result_writer_dlq_url"]).outputs["name"]
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": writer_dlq}) in metrics
    own = {
        m
        for ns, m, d in metrics
        if ns == "AWS/SageMaker" and d.get("EndpointName") == endpoint["EndpointName"]
    }
    assert not own & NOT_PUBLISHED_FOR_ASYNC


def test_an_existing_endpoint_the_stack_does_not_own_has_no_panels(prod):
    existing = [m["endpoint_name"] for m in prod.outputs["models"].values() if m["mode"] == "existing"]
    assert existing
    names = {dims.get("EndpointName") for _, _, dims in _metrics(prod)}
    assert not names & set(existing)


def test_every_consumer_has_its_queue_depth_oldest_message_age_and_dlq_depth(with_consumers):
    for name in ("billing", "audit"):
        outputs = with_consumers.outputs["consumers"][name]
        queue = {"QueueName": with_consumers.resolve(outputs["queue_url"]).outputs["name"]}
        dlq = {"QueueName": with_consumers.resolve(outputs["dlq_url"]).outputs["name"]}
        panels = {
            w["properties"]["title"]: _widget_metrics(w)
            for w in _widgets(with_consumers)
            if w["properties"]["title"].startswith(f"consumer {name}:")
        }
        assert panels == {
            f"consumer {name}: queue depth, DLQ depth": [
                ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue),
                ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq),
            ],
            f"consumer {name}: oldest outcome waiting (s)": [
                ("AWS/SQS", "ApproximateAgeOfOldestMessage", queue),
            ],
        }, name


def test_consumer_widgets_use_the_namespace_and_dimensions_aws_documents(with_consumers):
    for namespace, name, dims in _metrics(with_consumers):
        assert (namespace, name) in DOCUMENTED, (namespace, name)
        assert tuple(dims) == DOCUMENTED[(namespace, name)], (namespace, name, dims)
