"""The dashboard: every widget's metric is one AWS documents, with its documented namespace and dimensions,
and every route and owned endpoint of the registry the alarms use has its panels."""

from __future__ import annotations

import json

import pytest

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
}


def _metrics(graph) -> list[tuple[str, str, dict[str, str]]]:
    (dashboard,) = graph.of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    found = []
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            namespace, name, *dims = metric
            found.append((namespace, name, dict(zip(dims[::2], dims[1::2], strict=True))))
    return found


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
    for model in dev.outputs["models"].values():
        dims = {"EndpointName": model["endpoint_name"], "VariantName": "AllTraffic"}
        for metric in (
            "Invocations",
            "ModelLatency",
            "OverheadLatency",
            "Invocation5XXErrors",
            "ModelSetupTime",
        ):
            assert ("AWS/SageMaker", metric, dims) in metrics, (model["endpoint_name"], metric)


def test_an_existing_endpoint_the_stack_does_not_own_has_no_panels(prod):
    existing = [m["endpoint_name"] for m in prod.outputs["models"].values() if m["mode"] == "existing"]
    assert existing
    names = {dims.get("EndpointName") for _, _, dims in _metrics(prod)}
    assert not names & set(existing)
