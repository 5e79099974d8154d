"""Messaging: topics, queues and dead-letter queues, EventBridge rules, and the bucket notification.

Components (type tokens `ai-event-pipeline:messaging:<Class>`):
- `Topics`: the notifications topic (outcomes, subscriptions with filter policies) and the ops topic (alarms).
- `RouteChannel`: per route, its DLQ and the resource carrying S3 events (SNS topic, SQS queue or EventBridge
  rule), each with a policy granting exactly its publisher; a kinesis route's Kinesis data stream (under the
  stack key) and the managed policy its producers attach.
- `EndpointStateEvents`: SageMaker endpoint state changes forwarded to the notifications topic.
- `BucketEvents`: the bucket's one and only notification configuration, built from every route.
- `ConsumerQueue`: per `notifications.consumers` entry, an encrypted queue subscribed to the notifications
  topic (raw delivery, filter policy), its DLQ, and a managed policy that lets a consumer read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import Consumer, KinesisSettings, OpsSubscription, Route, Subscription
from infra.iam import (
    allow_consume_queue_messages,
    allow_decrypt_queue_messages,
    allow_encrypt_records,
    allow_put_records,
    allow_service,
    deny_insecure_transport,
    policy_document,
    render,
)
from lambdas.inference import contract

# SQS's maximum retention: a dead letter must outlive every retry path that feeds it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
# Kept below the DLQ's retention: SQS keeps a message's original enqueue time when it moves to the DLQ.
ROUTE_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
# Receives before SQS moves a message to the DLQ (a poison message stops costing invocations after 5).
MAX_RECEIVE_COUNT = 5
OBJECT_CREATED_EVENTS = ["s3:ObjectCreated:*"]
SNS_TLS_ACTIONS = ["sns:Publish"]
SQS_TLS_ACTIONS = ["sqs:*"]


def queue_visibility_timeout_seconds(function_timeout_seconds: int, batching_window_seconds: int) -> int:
    """Visibility timeout for a queue feeding a Lambda event source mapping.

    AWS guidance: at least 6 x the function timeout plus the batching window, so a batch whose invocation is
    throttled and retried is not redelivered (and processed twice) while it is still being worked on.
    """
    return 6 * function_timeout_seconds + batching_window_seconds


def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


def object_created_pattern(bucket_name: pulumi.Input[str], route: Route) -> dict:
    """EventBridge pattern for S3 "Object Created" events of one bucket under the route's prefix/suffix."""
    detail: dict = {"bucket": {"name": [bucket_name]}}
    if route.suffix:
        key_filter = {"wildcard": f"{_escape_wildcard(route.key_prefix)}*{_escape_wildcard(route.suffix)}"}
        detail["object"] = {"key": [key_filter]}
    elif route.key_prefix:
        detail["object"] = {"key": [{"prefix": route.key_prefix}]}
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def tls_only_queue_policy(
    name: str, queue: aws.sqs.Queue, *senders: dict, opts: pulumi.ResourceOptions
) -> aws.sqs.QueuePolicy:
    """A queue's policy: exactly its service senders, and no request without TLS."""
    return aws.sqs.QueuePolicy(
        name,
        queue_url=queue.url,
        policy=render(policy_document(*senders, deny_insecure_transport(SQS_TLS_ACTIONS, queue.arn))),
        opts=opts,
    )


def tls_only_topic_policy(
    name: str, topic: aws.sns.Topic, opts: pulumi.ResourceOptions
) -> aws.sns.TopicPolicy:
    """A topic only principals of this account publish to (their IAM policies allow it): no request without
    TLS."""
    return aws.sns.TopicPolicy(
        name,
        arn=topic.arn,
        policy=render(policy_document(deny_insecure_transport(SNS_TLS_ACTIONS, topic.arn))),
        opts=opts,
    )


def service_topic_policy(
    name: str,
    topic_arn: pulumi.Input[str],
    *,
    sid: str,
    service: str,
    source_arns: pulumi.Input[str] | Sequence[pulumi.Input[str]],
    account_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.sns.TopicPolicy:
    """A topic's policy: one service may publish, for the named sources only, and no request without TLS."""
    return aws.sns.TopicPolicy(
        name,
        arn=topic_arn,
        policy=render(
            policy_document(
                allow_service(
                    sid,
                    service=service,
                    actions=["sns:Publish"],
                    resource=topic_arn,
                    source_arns=source_arns,
                    source_account=account_id,
                ),
                deny_insecure_transport(SNS_TLS_ACTIONS, topic_arn),
            )
        ),
        opts=opts,
    )


def allow_sending(
    sid: str,
    *,
    service: str,
    queue_arn: pulumi.Input[str],
    source_arns: pulumi.Input[str],
    account_id: pulumi.Input[str],
) -> dict:
    """A queue-policy statement: one service may send to the queue, for the named source only."""
    return allow_service(
        sid,
        service=service,
        actions=["sqs:SendMessage"],
        resource=queue_arn,
        source_arns=source_arns,
        source_account=account_id,
    )


def dead_letter_queue(name: str, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions) -> aws.sqs.Queue:
    """An encrypted queue that keeps dead letters as long as SQS allows."""
    return aws.sqs.Queue(
        name, message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS, kms_master_key_id=key_arn, opts=opts
    )


def subscription_filter_policy(
    subscription: Subscription | OpsSubscription | Consumer,
) -> dict[str, list[str]] | None:
    """SNS filter policy on the outcome's message attributes (status, route); None receives everything."""
    policy: dict[str, list[str]] = {}
    if subscription.statuses:
        policy[contract.MESSAGE_ATTRIBUTE_STATUS] = list(subscription.statuses)
    if subscription.routes:
        policy[contract.MESSAGE_ATTRIBUTE_ROUTE] = list(subscription.routes)
    return policy or None


@dataclass
class TopicsArgs:
    key_arn: pulumi.Input[str]
    notification_subscriptions: Sequence[Subscription]
    ops_subscriptions: Sequence[OpsSubscription]


class Topics(pulumi.ComponentResource):
    """Encrypted `notifications` (outcomes) and `ops` (alarms) topics with their configured subscriptions.

    E-mail and HTTPS subscriptions stay pending until their owner confirms them. SQS/Lambda subscribers
    must grant sns.amazonaws.com access themselves. Topic policies are attached by the components that
    create the topics' publishers (EndpointStateEvents, observability.Alarms).
    """

    def __init__(self, name: str, args: TopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:messaging:Topics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.notifications = aws.sns.Topic("notifications", kms_master_key_id=args.key_arn, opts=child)
        self.ops = aws.sns.Topic("ops", kms_master_key_id=args.key_arn, opts=child)
        self.subscriptions: list[aws.sns.TopicSubscription] = []
        for topic, prefix, subscriptions in (
            (self.notifications, "notifications", args.notification_subscriptions),
            (self.ops, "ops", args.ops_subscriptions),
        ):
            for index, subscription in enumerate(subscriptions):
                filter_policy = subscription_filter_policy(subscription)
                self.subscriptions.append(
                    aws.sns.TopicSubscription(
                        f"{prefix}-subscription-{index}",
                        topic=topic.arn,
                        protocol=subscription.protocol,
                        endpoint=subscription.endpoint,
                        filter_policy=pulumi.Output.json_dumps(filter_policy) if filter_policy else None,
                        filter_policy_scope="MessageAttributes" if filter_policy else None,
                        opts=child,
                    )
                )
        self.register_outputs(
            {"notifications_topic_arn": self.notifications.arn, "ops_topic_arn": self.ops.arn}
        )


@dataclass
class RouteChannelArgs:
    route: Route
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    function_timeout_seconds: int
    batching_window_seconds: int
    kinesis: KinesisSettings | None = None  # kinesis routes: the stream's settings


def stream_capacity(settings: KinesisSettings) -> dict:
    """The stream's capacity arguments: on-demand takes no shard count, provisioned needs one (Kinesis API
    Reference, CreateStream: ShardCount with StreamModeDetails PROVISIONED)."""
    if settings.stream_mode == "PROVISIONED":
        return {
            "stream_mode_details": aws.kinesis.StreamStreamModeDetailsArgs(stream_mode="PROVISIONED"),
            "shard_count": settings.shard_count,
        }
    return {"stream_mode_details": aws.kinesis.StreamStreamModeDetailsArgs(stream_mode="ON_DEMAND")}


class RouteChannel(pulumi.ComponentResource):
    """Everything that carries one route's S3 events to its function, and the route's dead-letter queue.

    Exposes `dead_letter_queue` and, by route kind, `topic` + `topic_policy` (sns), `queue` + `queue_policy`
    (sqs), `rule` (eventbridge) or `stream` + `producer_policy` (kinesis); `publisher_grant` is the policy S3
    needs before the bucket notification.
    """

    def __init__(self, name: str, args: RouteChannelArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:messaging:RouteChannel", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        route = args.route
        self.route = route
        self.topic: aws.sns.Topic | None = None
        self.topic_policy: aws.sns.TopicPolicy | None = None
        self.queue: aws.sqs.Queue | None = None
        self.queue_policy: aws.sqs.QueuePolicy | None = None
        self.rule: aws.cloudwatch.EventRule | None = None
        self.stream: aws.kinesis.Stream | None = None
        self.producer_policy: aws.iam.Policy | None = None

        # One DLQ per route: the SQS redrive target (sqs), or the async on-failure destination
        # (sns, lambda, eventbridge), plus SNS delivery failures and EventBridge target failures.
        self.dead_letter_queue = dead_letter_queue(f"{name}-dlq", args.key_arn, child)

        senders = []
        if route.via == "sns":
            self.topic = aws.sns.Topic(f"{name}-object-events", kms_master_key_id=args.key_arn, opts=child)
            self.topic_policy = service_topic_policy(
                f"{name}-object-events-policy",
                self.topic.arn,
                sid="AllowBucketNotifications",
                service="s3",
                source_arns=args.bucket_arn,
                account_id=args.account_id,
                opts=child,
            )
            senders.append(
                allow_sending(
                    "AllowSubscriptionRedrive",
                    service="sns",
                    queue_arn=self.dead_letter_queue.arn,
                    source_arns=self.topic.arn,
                    account_id=args.account_id,
                )
            )
        elif route.via == "sqs":
            self.queue = aws.sqs.Queue(
                f"{name}-queue",
                visibility_timeout_seconds=queue_visibility_timeout_seconds(
                    args.function_timeout_seconds, args.batching_window_seconds
                ),
                message_retention_seconds=ROUTE_QUEUE_RETENTION_SECONDS,
                kms_master_key_id=args.key_arn,
                # A message the function fails MAX_RECEIVE_COUNT times (reported through
                # ReportBatchItemFailures, or a crashed batch) moves to the DLQ instead of retrying forever.
                redrive_policy=pulumi.Output.json_dumps(
                    {
                        "deadLetterTargetArn": self.dead_letter_queue.arn,
                        "maxReceiveCount": MAX_RECEIVE_COUNT,
                    }
                ),
                opts=child,
            )
            self.queue_policy = tls_only_queue_policy(
                f"{name}-queue-policy",
                self.queue,
                allow_sending(
                    "AllowBucketNotifications",
                    service="s3",
                    queue_arn=self.queue.arn,
                    source_arns=args.bucket_arn,
                    account_id=args.account_id,
                ),
                opts=child,
            )
        elif route.via == "eventbridge":
            self.rule = aws.cloudwatch.EventRule(
                f"{name}-object-created",
                description=f"S3 Object Created events for route {route.name}",
                event_pattern=pulumi.Output.json_dumps(object_created_pattern(args.bucket_name, route)),
                state="ENABLED",
                opts=child,
            )
            senders.append(
                allow_sending(
                    "AllowRuleTargetDeadLetters",
                    service="events",
                    queue_arn=self.dead_letter_queue.arn,
                    source_arns=self.rule.arn,
                    account_id=args.account_id,
                )
            )

        elif route.via == "kinesis":
            settings = args.kinesis or KinesisSettings()
            # Server-side encryption under the stack key: producers need kms:GenerateDataKey, consumers
            # kms:Decrypt (Kinesis Data Streams Developer Guide, "Permissions to use user-generated KMS
            # keys"). The stream's on-failure records go to the DLQ, sent by Lambda with the function's role
            # (no queue policy grant: the role's own SendMessage is enough within the account).
            self.stream = aws.kinesis.Stream(
                f"{name}-stream",
                retention_period=settings.retention_hours,
                encryption_type="KMS",
                kms_key_id=args.key_arn,
                **stream_capacity(settings),
                opts=child,
            )
            # Producers attach this managed policy to their own role: exactly PutRecord/PutRecords on this
            # stream and the key use encryption needs. (A customer managed policy, attached to no role here,
            # so it never mixes with a role's inline policy.)
            self.producer_policy = aws.iam.Policy(
                f"{name}-producer",
                description=f"Put records on the stream of route {route.name}",
                policy=render(
                    policy_document(allow_put_records(self.stream.arn), allow_encrypt_records(args.key_arn))
                ),
                opts=child,
            )

        self.dead_letter_queue_policy = tls_only_queue_policy(
            f"{name}-dlq-policy", self.dead_letter_queue, *senders, opts=child
        )
        self.publisher_grant = self.topic_policy or self.queue_policy
        outputs = {"dlq_arn": self.dead_letter_queue.arn, "dlq_url": self.dead_letter_queue.url}
        if self.topic:
            outputs["topic_arn"] = self.topic.arn
        if self.queue:
            outputs.update(queue_arn=self.queue.arn, queue_url=self.queue.url)
        if self.rule:
            outputs.update(rule_arn=self.rule.arn, rule_name=self.rule.name)
        if self.stream and self.producer_policy:
            outputs.update(
                stream_name=self.stream.name,
                stream_arn=self.stream.arn,
                producer_policy_arn=self.producer_policy.arn,
            )
        self.register_outputs(outputs)


# EventBridge's delivery of an endpoint state change to the notifications topic: SNS throttling passes within
# minutes, a permission or key fault never does, so a few retries within an hour, then the DLQ (and alarms).
ENDPOINT_STATE_MAX_RETRY_ATTEMPTS = 8
ENDPOINT_STATE_MAX_EVENT_AGE_SECONDS = 3600


@dataclass
class EndpointStateEventsArgs:
    # Every model's endpoint, owned or existing: their state changes are news for subscribers.
    endpoint_names: Sequence[pulumi.Input[str]]
    notifications_topic_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]


class EndpointStateEvents(pulumi.ComponentResource):
    """Forwards "SageMaker Endpoint State Change" events for our models' endpoints to the notifications topic
    as a readable sentence, and owns the notifications topic's policy (EventBridge is its only service
    publisher).

    These messages carry no `status`/`route` attributes, so only subscriptions without filters receive them.
    A delivery EventBridge gives up on goes to `dead_letter_queue`; exposes `rule`, `target` and it.
    """

    def __init__(
        self, name: str, args: EndpointStateEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:messaging:EndpointStateEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            description="SageMaker endpoint state changes of the models' endpoints",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Endpoint State Change"],
                    "detail": {"EndpointName": list(args.endpoint_names)},
                }
            ),
            state="ENABLED",
            opts=child,
        )
        self.dead_letter_queue = dead_letter_queue(f"{name}-dlq", args.key_arn, child)
        self.dead_letter_queue_policy = tls_only_queue_policy(
            f"{name}-dlq-policy",
            self.dead_letter_queue,
            # EventBridge User Guide, "Using dead-letter queues": the rule, by aws:SourceArn.
            allow_sending(
                "AllowRuleTargetDeadLetters",
                service="events",
                queue_arn=self.dead_letter_queue.arn,
                source_arns=self.rule.arn,
                account_id=args.account_id,
            ),
            opts=child,
        )
        self.topic_policy = service_topic_policy(
            f"{name}-notifications-policy",
            args.notifications_topic_arn,
            sid="AllowEndpointStateEvents",
            service="events",
            source_arns=self.rule.arn,
            account_id=args.account_id,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-to-notifications",
            rule=self.rule.name,
            arn=args.notifications_topic_arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={
                    "endpoint": "$.detail.EndpointName",
                    "status": "$.detail.EndpointStatus",
                    "time": "$.time",
                },
                # A quoted template makes EventBridge deliver a plain string, not JSON.
                input_template='"SageMaker endpoint <endpoint> is now <status> (<time>)."',
            ),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=ENDPOINT_STATE_MAX_RETRY_ATTEMPTS,
                maximum_event_age_in_seconds=ENDPOINT_STATE_MAX_EVENT_AGE_SECONDS,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.topic_policy, self.dead_letter_queue_policy]
            ),
        )
        self.register_outputs({"rule_arn": self.rule.arn, "dlq_arn": self.dead_letter_queue.arn})


@dataclass
class RouteNotification:
    """One route's part of the bucket notification."""

    channel: RouteChannel
    function_arn: pulumi.Input[str]

    @property
    def route(self) -> Route:
        return self.channel.route

    @property
    def destination_arn(self) -> pulumi.Input[str]:
        """Where S3 sends the route's events (EventBridge routes receive them from the default bus)."""
        if self.channel.topic is not None:
            return self.channel.topic.arn
        if self.channel.queue is not None:
            return self.channel.queue.arn
        return self.function_arn


@dataclass
class BucketEventsArgs:
    bucket_id: pulumi.Input[str]
    routes: Sequence[RouteNotification]
    # Every topic policy, queue policy and lambda permission S3 checks on creation, and the key policy.
    grants: Sequence[pulumi.Resource]


class BucketEvents(pulumi.ComponentResource):
    """The bucket's single `BucketNotification`, built from every route: a second notification resource on
    the same bucket would silently replace the first."""

    def __init__(self, name: str, args: BucketEventsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:messaging:BucketEvents", name, None, opts)

        def filters(via: str) -> list[tuple[RouteNotification, dict]]:
            return [
                (
                    r,
                    {
                        "id": r.route.name,
                        "events": OBJECT_CREATED_EVENTS,
                        "filter_prefix": r.route.key_prefix or None,
                        "filter_suffix": r.route.suffix,
                    },
                )
                for r in args.routes
                if r.route.via == via
            ]

        self.notification = aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket_id,
            topics=[
                aws.s3.BucketNotificationTopicArgs(topic_arn=r.destination_arn, **f)
                for r, f in filters("sns")
            ]
            or None,
            queues=[
                aws.s3.BucketNotificationQueueArgs(queue_arn=r.destination_arn, **f)
                for r, f in filters("sqs")
            ]
            or None,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(lambda_function_arn=r.destination_arn, **f)
                for r, f in filters("lambda")
            ]
            or None,
            eventbridge=any(r.route.via == "eventbridge" for r in args.routes) or None,
            # S3 sends a test event to every destination when the configuration is written and refuses
            # destinations it cannot reach: all grants (and the key policy) must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.grants)),
        )
        self.register_outputs({"bucket": args.bucket_id})


@dataclass
class ConsumerQueueArgs:
    consumer: Consumer
    notifications_topic_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    region: str
    partition: str


class ConsumerQueue(pulumi.ComponentResource):
    """One decoupled service's own copy of the outcomes it asked for.

    Creates an SQS queue encrypted with the stack key, its DLQ (after MAX_RECEIVE_COUNT receives), a
    TLS-only queue policy admitting only the notifications topic, the topic's raw-delivery subscription with
    the consumer's filter policy, and a managed IAM policy (`read_policy`) that an operator attaches to the
    consumer's role. Exposes `queue`, `dead_letter_queue`, `subscription`, `read_policy`.

    SNS must also be allowed to use the stack key to send to the encrypted queue: the key policy's
    `SnsDeliveryToConsumerQueues` statement (infra.iam.key_policy_document), for the notifications topic only.
    """

    def __init__(
        self, name: str, args: ConsumerQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:messaging:ConsumerQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        consumer = args.consumer
        self.consumer = consumer
        self.dead_letter_queue = dead_letter_queue(f"{name}-dlq", args.key_arn, child)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            # Below the DLQ's retention: a message keeps its original enqueue time when it moves to the DLQ.
            message_retention_seconds=ROUTE_QUEUE_RETENTION_SECONDS,
            kms_master_key_id=args.key_arn,
            # A message the consumer fails to delete after MAX_RECEIVE_COUNT receives waits in the DLQ
            # instead of being received forever (SQS Developer Guide, "Using dead-letter queues").
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
            opts=child,
        )
        # Only the notifications topic may send (SNS Developer Guide, "Fanout to Amazon SQS queues": the
        # queue policy allows sns.amazonaws.com sqs:SendMessage with aws:SourceArn = the topic).
        self.queue_policy = tls_only_queue_policy(
            f"{name}-queue-policy",
            self.queue,
            allow_sending(
                "AllowNotificationsTopic",
                service="sns",
                queue_arn=self.queue.arn,
                source_arns=args.notifications_topic_arn,
                account_id=args.account_id,
            ),
            opts=child,
        )
        # SQS moves dead letters itself: no service principal sends to the DLQ.
        self.dead_letter_queue_policy = tls_only_queue_policy(
            f"{name}-dlq-policy", self.dead_letter_queue, opts=child
        )
        filter_policy = subscription_filter_policy(consumer)
        self.subscription = aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=args.notifications_topic_arn,
            protocol="sqs",
            endpoint=self.queue.arn,
            # Raw delivery: the queue receives the outcome JSON itself, message attributes kept as SQS
            # message attributes, no SNS envelope (SNS Developer Guide, "Amazon SNS raw message delivery",
            # https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html).
            raw_message_delivery=True,
            filter_policy=pulumi.Output.json_dumps(filter_policy) if filter_policy else None,
            filter_policy_scope="MessageAttributes" if filter_policy else None,
            # A message SNS sends before the queue policy exists would be refused.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.queue_policy]),
        )
        self.read_policy = aws.iam.Policy(
            f"{name}-read-policy",
            description=f"Read outcomes from the {consumer.name} consumer queue",
            policy=render(
                policy_document(
                    allow_consume_queue_messages(self.queue.arn),
                    allow_decrypt_queue_messages(args.key_arn, args.region, args.partition),
                )
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "queue_url": self.queue.url,
                "queue_arn": self.queue.arn,
                "dlq_url": self.dead_letter_queue.url,
                "dlq_arn": self.dead_letter_queue.arn,
                "read_policy_arn": self.read_policy.arn,
            }
        )
