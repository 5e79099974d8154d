"""One CloudWatch dashboard for the stack, built from the same per-route and per-endpoint registry as the
alarms (`observability.RouteAlarmTargets`, `EndpointAlarmTargets`).

`Dashboard` (`ai-event-pipeline:dashboard:Dashboard`) creates `aws.cloudwatch.Dashboard`
`<project>-<stack>`: per route, its function's invocations, errors, throttles and duration, its DLQ's depth
and (sqs routes) its queue's depth and oldest-message age; per owned endpoint, invocations, model and
overhead latency, 5XX errors and (serverless) model setup time; per consumer queue (`notifications.consumers`,
the same targets as its alarms), the queue's and its DLQ's depth and the queue's oldest-message age; per async
endpoint, its backlog, oldest queued request, failed invocations and notifications, and its result writer.
Exposes `dashboard` and `dashboard_name`.

Metric names and dimensions, as AWS documents them:
- AWS/Lambda `Invocations`, `Errors`, `Throttles`, `Duration` by `FunctionName` (Lambda Developer Guide,
  "Types of metrics for Lambda functions", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html);
- AWS/SQS `ApproximateNumberOfMessagesVisible`, `ApproximateAgeOfOldestMessage` by `QueueName` (SQS
  Developer Guide, "Available CloudWatch metrics for Amazon SQS",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html);
- AWS/SageMaker `Invocations`, `ModelLatency`, `OverheadLatency` (microseconds), `Invocation5XXErrors` and,
  for serverless endpoints, `ModelSetupTime` by `EndpointName` and `VariantName` (SageMaker Developer
  Guide, "Alarms and logs for tracking metrics from serverless endpoints",
  https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html).
- async endpoints (SageMaker Developer Guide, "Alarms and logs for tracking metrics from asynchronous
  endpoints", https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html): no
  `Invocations` or `OverheadLatency`; `ApproximateBacklogSize`, `ApproximateBacklogSizePerInstance` and
  `ApproximateAgeOfOldestRequest` by `EndpointName`; `InvocationFailures`, `NotificationFailures` and
  `ExpiredRequests` by `EndpointName` and `VariantName`.
The dashboard body format: CloudWatch API Reference, "Dashboard Body Structure and Syntax"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.observability import (
    AsyncEndpointAlarmTargets,
    ConsumerAlarmTargets,
    EndpointAlarmTargets,
    RouteAlarmTargets,
)

WIDGET_WIDTH = 8  # three widgets per row of the 24-column grid
WIDGET_HEIGHT = 6
PERIOD = 60


def metric_widget(
    title: str, region: str, metrics: list[list[Any]], stat: str, *, x: int, y: int
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "stat": stat,
            "period": PERIOD,
            "metrics": metrics,
        },
    }


def dashboard_widgets(
    region: str,
    routes: Sequence[RouteAlarmTargets],
    endpoints: Sequence[EndpointAlarmTargets],
    consumers: Sequence[ConsumerAlarmTargets] = (),
    *,
    async_endpoints: Sequence[AsyncEndpointAlarmTargets] = (),
) -> list[dict[str, Any]]:
    """Every widget (pure: names may be Outputs, rendered by Output.json_dumps)."""
    panels: list[tuple[str, list[list[Any]], str]] = []
    for route in routes:
        fn = ("FunctionName", route.function_name)
        name = route.route_name
        panels.append(
            (
                f"{name}: invocations, errors, throttles",
                [["AWS/Lambda", metric, *fn] for metric in ("Invocations", "Errors", "Throttles")],
                "Sum",
            )
        )
        panels.append((f"{name}: duration (ms)", [["AWS/Lambda", "Duration", *fn]], "p90"))
        queues = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", route.dead_letter_queue_name]
        ]
        if route.queue_name is not None:
            queues.append(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", route.queue_name])
        panels.append(
            (f"{name}: DLQ depth" + (", queue depth" if route.queue_name else ""), queues, "Maximum")
        )
        if route.queue_name is not None:
            panels.append(
                (
                    f"{name}: oldest queued event (s)",
                    [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", route.queue_name]],
                    "Maximum",
                )
            )
    async_models = {e.model_name for e in async_endpoints}
    for endpoint in endpoints:
        dims = ["EndpointName", endpoint.endpoint_name, "VariantName", endpoint.variant_name]
        model = endpoint.model_name
        if model in async_models:
            # Async endpoints publish no Invocations or OverheadLatency; their own panels follow.
            panels.append(
                (
                    f"model {model}: 4XX, 5XX",
                    [["AWS/SageMaker", m, *dims] for m in ("Invocation4XXErrors", "Invocation5XXErrors")],
                    "Sum",
                )
            )
            panels.append(
                (f"model {model}: model latency (µs)", [["AWS/SageMaker", "ModelLatency", *dims]], "p90")
            )
            continue
        panels.append(
            (
                f"model {model}: invocations, 5XX",
                [["AWS/SageMaker", m, *dims] for m in ("Invocations", "Invocation5XXErrors")],
                "Sum",
            )
        )
        panels.append(
            (
                f"model {model}: model and overhead latency (µs)",
                [["AWS/SageMaker", m, *dims] for m in ("ModelLatency", "OverheadLatency")],
                "p90",
            )
        )
        # The other owned endpoints are serverless (an existing one is not watched here).
        panels.append(
            (f"model {model}: model setup time (µs)", [["AWS/SageMaker", "ModelSetupTime", *dims]], "Maximum")
        )
    for endpoint in async_endpoints:
        by_endpoint = ["EndpointName", endpoint.endpoint_name]
        model = endpoint.model_name
        panels.append(
            (
                f"model {model}: backlog, backlog per instance",
                [
                    ["AWS/SageMaker", m, *by_endpoint]
                    for m in ("ApproximateBacklogSize", "ApproximateBacklogSizePerInstance")
                ],
                "Average",
            )
        )
        panels.append(
            (
                f"model {model}: oldest queued request (s)",
                [["AWS/SageMaker", "ApproximateAgeOfOldestRequest", *by_endpoint]],
                "Maximum",
            )
        )
        by_variant = [*by_endpoint, "VariantName", endpoint.variant_name]
        panels.append(
            (
                f"model {model}: failed invocations, failed notifications, expired requests",
                [
                    ["AWS/SageMaker", m, *by_variant]
                    for m in ("InvocationFailures", "NotificationFailures", "ExpiredRequests")
                ],
                "Sum",
            )
        )
        writer = ("FunctionName", endpoint.result_writer_function_name)
        panels.append(
            (
                f"model {model}: result writer invocations, errors; its DLQ depth",
                [
                    *(["AWS/Lambda", m, *writer] for m in ("Invocations", "Errors")),
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        endpoint.result_writer_dead_letter_queue_name,
                    ],
                ],
                "Sum",
            )
        )
    for consumer in consumers:
        name = consumer.consumer_name
        panels.append(
            (
                f"consumer {name}: queue depth, DLQ depth",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue]
                    for queue in (consumer.queue_name, consumer.dead_letter_queue_name)
                ],
                "Maximum",
            )
        )
        panels.append(
            (
                f"consumer {name}: oldest outcome waiting (s)",
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", consumer.queue_name]],
                "Maximum",
            )
        )
    per_row = 24 // WIDGET_WIDTH
    return [
        metric_widget(
            title, region, metrics, stat, x=(i % per_row) * WIDGET_WIDTH, y=(i // per_row) * WIDGET_HEIGHT
        )
        for i, (title, metrics, stat) in enumerate(panels)
    ]


@dataclass
class DashboardArgs:
    project: str
    stack: str
    region: str
    routes: Sequence[RouteAlarmTargets]
    endpoints: Sequence[EndpointAlarmTargets]
    consumers: Sequence[ConsumerAlarmTargets] = ()
    async_endpoints: Sequence[AsyncEndpointAlarmTargets] = ()


class Dashboard(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:dashboard:Dashboard", name, None, opts)
        widgets = dashboard_widgets(
            args.region,
            args.routes,
            args.endpoints,
            args.consumers,
            async_endpoints=args.async_endpoints,
        )
        self.dashboard_name = f"{args.project}-{args.stack}"
        self.dashboard = aws.cloudwatch.Dashboard(
            name,
            dashboard_name=self.dashboard_name,
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name})
