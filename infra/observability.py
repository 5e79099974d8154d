"""Alarms to the ops topic.

`Alarms` (`ai-event-pipeline:observability:Alarms`) creates, per route, "DLQ has messages", function errors
and throttles, and (sqs routes) the route queue's oldest-message age; per endpoint the stack owns (one per
owned model), SageMaker 5XX errors and model latency; for the endpoint-state rule, failed deliveries and its
DLQ; per consumer queue (`notifications.consumers`), its DLQ holding messages and its oldest-message age;
per async model, the age of its oldest queued request, failed invocations, failed notifications, and its
result writer's errors and DLQ. Every alarm is named `<project>/<stack>/<alarm>`. It also attaches the ops
topic's policy, which must name every alarm as an allowed publisher. Exposes `alarms` (name -> MetricAlarm)
and `alarm_arns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.messaging import service_topic_policy

ONE_MINUTE = 60
FIVE_MINUTES = 300
# InvokeEndpoint gives up after 60 s (an async invocation after its invocationTimeoutSeconds); a p90 model
# latency above half of that means requests are about to time out (ModelLatency is reported in microseconds).
MODEL_LATENCY_THRESHOLD_MICROSECONDS = 30 * 1_000_000


def model_latency_threshold_microseconds(invocation_limit_seconds: int) -> int:
    """Half of an invocation's time limit, in ModelLatency's microseconds."""
    return invocation_limit_seconds * 1_000_000 // 2


@dataclass
class RouteAlarmTargets:
    route_name: str
    function_name: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    queue_name: pulumi.Input[str] | None  # sqs routes only


@dataclass
class EndpointAlarmTargets:
    model_name: str
    endpoint_name: pulumi.Input[str]
    variant_name: str
    # How long one invocation may take: InvokeEndpoint's 60 s, or an async model's invocationTimeoutSeconds.
    invocation_limit_seconds: int = 60


@dataclass
class AsyncEndpointAlarmTargets:
    model_name: str
    endpoint_name: pulumi.Input[str]
    variant_name: str
    result_writer_function_name: pulumi.Input[str]
    result_writer_dead_letter_queue_name: pulumi.Input[str]


@dataclass
class ConsumerAlarmTargets:
    consumer_name: str
    queue_name: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]


@dataclass
class EndpointStateAlarmTargets:
    rule_name: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]


def alarm_name_prefix(project: str, stack: str) -> str:
    """Every alarm name starts with this, so the key policy can match the stack's alarms before they exist.

    `/` separates: stack names cannot contain it (alarm names may), so no other stack's alarms match.
    """
    return f"{project}/{stack}/"


def alarm_arn_pattern(
    partition: str, region: str, account_id: pulumi.Input[str], project: str, stack: str
) -> pulumi.Output[str]:
    """ArnLike pattern for exactly this stack's alarms."""
    return pulumi.Output.concat(
        "arn:",
        partition,
        ":cloudwatch:",
        region,
        ":",
        account_id,
        ":alarm:",
        alarm_name_prefix(project, stack),
        "*",
    )


@dataclass
class AlarmsArgs:
    project: str
    stack: str
    ops_topic_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    routes: Sequence[RouteAlarmTargets]
    # Owned endpoints only: one the stack does not own is monitored by its owner.
    endpoints: Sequence[EndpointAlarmTargets]
    endpoint_state: EndpointStateAlarmTargets
    queue_oldest_message_age_seconds: int
    consumers: Sequence[ConsumerAlarmTargets] = ()
    async_endpoints: Sequence[AsyncEndpointAlarmTargets] = ()


class Alarms(pulumi.ComponentResource):
    """CloudWatch alarms, each with explicit dimensions and the ops topic as alarm and OK action."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:observability:Alarms", name, None, opts)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}

        def alarm(alarm_name: str, description: str, **metric: object) -> None:
            self.alarms[alarm_name] = aws.cloudwatch.MetricAlarm(
                alarm_name,
                name=alarm_name_prefix(args.project, args.stack) + alarm_name,
                alarm_description=description,
                alarm_actions=[args.ops_topic_arn],
                ok_actions=[args.ops_topic_arn],
                # No data means nothing happened (no traffic, empty queue), which is healthy.
                treat_missing_data="notBreaching",
                opts=pulumi.ResourceOptions(parent=self),
                **metric,
            )

        def any_in_five_minutes(
            alarm_name: str, description: str, namespace: str, metric_name: str, dimensions: dict
        ) -> None:
            """A count metric that should stay at zero: one occurrence in five minutes alarms."""
            alarm(
                alarm_name,
                description,
                namespace=namespace,
                metric_name=metric_name,
                dimensions=dimensions,
                statistic="Sum",
                period=FIVE_MINUTES,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
            )

        def queue_not_empty(alarm_name: str, description: str, queue_name: pulumi.Input[str]) -> None:
            """A dead-letter queue holding any message alarms within a minute."""
            alarm(
                alarm_name,
                description,
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue_name},
                statistic="Maximum",
                period=ONE_MINUTE,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
            )

        def queue_older_than(alarm_name: str, description: str, queue_name: pulumi.Input[str]) -> None:
            """A queue whose oldest message is older than the configured threshold (alarms.*)."""
            alarm(
                alarm_name,
                description,
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue_name},
                statistic="Maximum",
                period=ONE_MINUTE,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=args.queue_oldest_message_age_seconds,
            )

        for route in args.routes:
            prefix = route.route_name
            queue_not_empty(
                f"{prefix}-dlq-not-empty",
                f"Route {route.route_name}: events exhausted their retries and wait in the dead-letter queue",
                route.dead_letter_queue_name,
            )
            any_in_five_minutes(
                f"{prefix}-function-errors",
                f"Route {route.route_name}: the inference function raised errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": route.function_name},
            )
            any_in_five_minutes(
                f"{prefix}-function-throttles",
                f"Route {route.route_name}: invocations of the inference function were throttled",
                "AWS/Lambda",
                "Throttles",
                {"FunctionName": route.function_name},
            )
            if route.queue_name is not None:
                queue_older_than(
                    f"{prefix}-queue-oldest-message-age",
                    f"Route {route.route_name}: the oldest queued event waited longer than "
                    f"{args.queue_oldest_message_age_seconds}s (the function is not keeping up)",
                    route.queue_name,
                )

        # A consumer's queue: dead letters are outcomes the consumer could not handle, and an old message
        # means the consumer has stopped reading (its outcomes expire after the queue's retention).
        for consumer in args.consumers:
            prefix = f"consumer-{consumer.consumer_name}"
            queue_not_empty(
                f"{prefix}-dlq-not-empty",
                f"Consumer {consumer.consumer_name}: outcomes it received too often without deleting them "
                "wait in its dead-letter queue",
                consumer.dead_letter_queue_name,
            )
            queue_older_than(
                f"{prefix}-queue-oldest-message-age",
                f"Consumer {consumer.consumer_name}: the oldest outcome in its queue waited longer than "
                f"{args.queue_oldest_message_age_seconds}s (the consumer is not reading)",
                consumer.queue_name,
            )

        for endpoint in args.endpoints:
            dimensions = {"EndpointName": endpoint.endpoint_name, "VariantName": endpoint.variant_name}
            any_in_five_minutes(
                f"model-{endpoint.model_name}-endpoint-5xx-errors",
                f"Model {endpoint.model_name}: the SageMaker endpoint answered with 5XX errors",
                "AWS/SageMaker",
                "Invocation5XXErrors",
                dimensions,
            )
            alarm(
                f"model-{endpoint.model_name}-endpoint-model-latency",
                f"Model {endpoint.model_name}: p90 model latency is above half of its "
                f"{endpoint.invocation_limit_seconds} s invocation limit",
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",
                dimensions=dimensions,
                extended_statistic="p90",
                period=FIVE_MINUTES,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison_operator="GreaterThanThreshold",
                threshold=model_latency_threshold_microseconds(endpoint.invocation_limit_seconds),
            )

        # An async endpoint queues requests instead of refusing them, so trouble shows as age and failures
        # (SageMaker Developer Guide, "Alarms and logs for tracking metrics from asynchronous endpoints":
        # ApproximateAgeOfOldestRequest per EndpointName; InvocationFailures and NotificationFailures per
        # EndpointName and VariantName, Sum).
        for target in args.async_endpoints:
            prefix = f"model-{target.model_name}"
            variant = {"EndpointName": target.endpoint_name, "VariantName": target.variant_name}
            alarm(
                f"{prefix}-async-oldest-request-age",
                f"Model {target.model_name}: the oldest queued async request waited longer than "
                f"{args.queue_oldest_message_age_seconds}s (the endpoint is not keeping up, or cannot scale "
                "from zero)",
                namespace="AWS/SageMaker",
                metric_name="ApproximateAgeOfOldestRequest",
                dimensions={"EndpointName": target.endpoint_name},
                statistic="Maximum",
                period=ONE_MINUTE,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=args.queue_oldest_message_age_seconds,
            )
            any_in_five_minutes(
                f"{prefix}-async-invocation-failures",
                f"Model {target.model_name}: async invocations failed (their items end failed)",
                "AWS/SageMaker",
                "InvocationFailures",
                variant,
            )
            # Without its notification an item stays in_progress: the writer never hears of the outcome.
            any_in_five_minutes(
                f"{prefix}-async-notification-failures",
                f"Model {target.model_name}: SageMaker could not publish async outcomes to its topics",
                "AWS/SageMaker",
                "NotificationFailures",
                variant,
            )
            # A request still queued after RequestTTLSeconds (6 h unless set) expires; no page documents a
            # notification for it, so its item would stay in_progress (ExpiredRequests, EndpointName and
            # VariantName, Sum: "Alarms and logs for tracking metrics from asynchronous endpoints").
            any_in_five_minutes(
                f"{prefix}-async-expired-requests",
                f"Model {target.model_name}: queued async requests expired before they were processed (their "
                "items stay in_progress)",
                "AWS/SageMaker",
                "ExpiredRequests",
                variant,
            )
            any_in_five_minutes(
                f"{prefix}-result-writer-errors",
                f"Model {target.model_name}: the result writer raised errors",
                "AWS/Lambda",
                "Errors",
                {"FunctionName": target.result_writer_function_name},
            )
            queue_not_empty(
                f"{prefix}-result-writer-dlq-not-empty",
                f"Model {target.model_name}: async outcomes the result writer could not store wait in its "
                "dead-letter queue",
                target.result_writer_dead_letter_queue_name,
            )

        # A state change EventBridge could not deliver (e.g. the key policy refuses it) is never silent.
        # (AWS/Events FailedInvocations: "invocations that failed permanently", per RuleName; EventBridge
        # User Guide, "Monitoring Amazon EventBridge".)
        any_in_five_minutes(
            "endpoint-state-failed-deliveries",
            "EventBridge failed to deliver SageMaker endpoint state changes to the notifications topic",
            "AWS/Events",
            "FailedInvocations",
            {"RuleName": args.endpoint_state.rule_name},
        )
        queue_not_empty(
            "endpoint-state-dlq-not-empty",
            "Endpoint state changes EventBridge gave up on wait in the dead-letter queue",
            args.endpoint_state.dead_letter_queue_name,
        )

        self.alarm_arns = [a.arn for a in self.alarms.values()]
        self.ops_topic_policy = service_topic_policy(
            f"{name}-ops-topic-policy",
            args.ops_topic_arn,
            sid="AllowAlarmActions",
            service="cloudwatch",
            source_arns=self.alarm_arns,
            account_id=args.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"alarm_arns": self.alarm_arns})
