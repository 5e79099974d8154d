"""ai-event-pipeline: files land in S3 and are scored by a SageMaker model; results go to DynamoDB.

Deploys, from the stack config (infra/config.py validates it before anything is declared):
- an AWS provider with default tags (project, stack, managed-by) used by every resource;
- storage: one customer-managed KMS key (rotation on), the SSE-KMS versioned TLS-only ingest bucket with
  public access blocked, a lifecycle and server access logging to its own log bucket, and the DynamoDB
  results table (on-demand, PITR, encrypted);
- topics: `notifications` (outcomes, subscriptions with status/route filter policies) and `ops` (alarms);
- per consumer (`notifications.consumers`): an encrypted queue with its own DLQ, subscribed to `notifications`
  with raw delivery and its filter policy, and a managed IAM policy that lets the consumer read it;
- per named model: a SageMaker model, serverless endpoint configuration and endpoint with the model's own
  execution role (or a reference to an existing endpoint; or, for an async model, an asynchronous endpoint
  configuration writing under the async prefix, its success and error topics and Application Auto Scaling
  from zero on its backlog), and one EventBridge rule forwarding the endpoints'
  state changes to `notifications` (retries, then its own DLQ);
- per route (sns / sqs / lambda / eventbridge / kinesis): a dead-letter queue and the route's topic, queue,
  rule or Kinesis data stream (under the stack key, with a managed policy for its producers);
- the key policy, before anything whose creation AWS checks against it;
- per route, one inference function (own role invoking only its model's endpoint, encrypted log group and
  environment naming its model and version, Powertools packaged in its zip, async retries to the DLQ,
  trigger wiring: a kinesis route's stream event source mapping with bisection, retries and the DLQ);
- per async model, a result writer: its function, role, log group and DLQ, subscribed to both topics;
- alarms (DLQ depth, function errors and throttles, queue age, per owned endpoint 5XX and latency, per
  async model its oldest request's age, failed invocations and notifications, its writer's errors and DLQ,
  endpoint-state delivery failures) to `ops`, and one CloudWatch dashboard from the same registry;
- the bucket's single notification configuration once every grant exists.
"""

import pulumi
import pulumi_aws as aws

from infra.compute import (
    InferenceFunction,
    InferenceFunctionArgs,
    ResultWriter,
    ResultWriterArgs,
    function_code,
    function_log_group_name,
    log_group_arn,
)
from infra.config import AsyncModel, load_config
from infra.dashboard import Dashboard, DashboardArgs
from infra.iam import KeyAccess, KeyAccessArgs
from infra.messaging import (
    BucketEvents,
    BucketEventsArgs,
    ConsumerQueue,
    ConsumerQueueArgs,
    EndpointStateEvents,
    EndpointStateEventsArgs,
    RouteChannel,
    RouteChannelArgs,
    RouteNotification,
    Topics,
    TopicsArgs,
)
from infra.ml import InferenceEndpoint, InferenceEndpointArgs
from infra.observability import (
    Alarms,
    AlarmsArgs,
    AsyncEndpointAlarmTargets,
    ConsumerAlarmTargets,
    EndpointAlarmTargets,
    EndpointStateAlarmTargets,
    RouteAlarmTargets,
    alarm_arn_pattern,
)
from infra.storage import Storage, StorageArgs

config = load_config()

provider = aws.Provider(
    "aws",
    region=config.region,
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={"project": config.project, "stack": config.stack, "managed-by": "pulumi"}
    ),
)
within_stack = pulumi.ResourceOptions(providers=[provider])
invoke_in_stack = pulumi.InvokeOutputOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=invoke_in_stack).account_id

storage = Storage(
    "storage",
    StorageArgs(
        project=config.project,
        stack=config.stack,
        deletion_protection=config.deletion_protection,
        account_id=account_id,
        noncurrent_version_expiration_days=config.bucket.noncurrent_version_expiration_days,
        access_log_expiration_days=config.bucket.access_log_expiration_days,
    ),
    within_stack,
)
topics = Topics(
    "topics",
    TopicsArgs(storage.key.arn, config.notification_subscriptions, config.ops_subscriptions),
    within_stack,
)
endpoints = {
    name: InferenceEndpoint(
        f"model-{name}",
        InferenceEndpointArgs(
            config.project,
            config.stack,
            config.region,
            config.partition,
            account_id,
            name,
            model,
            bucket_name=storage.bucket.bucket,
            bucket_arn=storage.bucket.arn,
            key_arn=storage.key.arn,
            input_prefixes=tuple(r.key_prefix for r in config.routes_of(name)),
            async_inference_prefix=config.bucket.async_inference_prefix,
        ),
        within_stack,
    )
    for name, model in config.models.items()
}
endpoint_events = EndpointStateEvents(
    "endpoint-state",
    EndpointStateEventsArgs(
        [e.endpoint_name for e in endpoints.values()], topics.notifications.arn, account_id, storage.key.arn
    ),
    within_stack,
)

consumers = {
    consumer.name: ConsumerQueue(
        f"consumer-{consumer.name}",
        ConsumerQueueArgs(
            consumer=consumer,
            notifications_topic_arn=topics.notifications.arn,
            key_arn=storage.key.arn,
            account_id=account_id,
            region=config.region,
            partition=config.partition,
        ),
        within_stack,
    )
    for consumer in config.notification_consumers
}

# Component names of the functions; their log group names derive from them.
function_names = {route.name: f"inference-{route.name}" for route in config.routes}
# One result writer per async model: SageMaker's success and error topics reach it.
async_endpoints = {name: e for name, e in endpoints.items() if e.success_topic is not None}
writer_names = {name: f"result-writer-{name}" for name in async_endpoints}
channels: dict[str, RouteChannel] = {}
for route in config.routes:
    channels[route.name] = RouteChannel(
        route.name,
        RouteChannelArgs(
            route=route,
            bucket_name=storage.bucket.bucket,
            bucket_arn=storage.bucket.arn,
            key_arn=storage.key.arn,
            account_id=account_id,
            function_timeout_seconds=config.function.timeout_seconds,
            batching_window_seconds=config.sqs.maximum_batching_window_seconds,
            kinesis=config.kinesis,
        ),
        within_stack,
    )

# Before the functions: CloudWatch Logs refuses to create a log group under a key whose policy does not let it
# use the key, so the policy names the log groups (and alarms) by their known names, not their resources.
key_access = KeyAccess(
    "key-access",
    KeyAccessArgs(
        key_id=storage.key.key_id,
        account_id=account_id,
        partition=config.partition,
        region=config.region,
        bucket_arn=storage.bucket.arn,
        sns_topic_arns=[
            *(c.topic.arn for c in channels.values() if c.topic),
            *(t.arn for e in async_endpoints.values() for t in (e.success_topic, e.error_topic) if t),
        ],
        alarm_arn_pattern=alarm_arn_pattern(
            config.partition, config.region, account_id, config.project, config.stack
        ),
        log_group_arns=[
            log_group_arn(
                config.partition,
                config.region,
                account_id,
                function_log_group_name(config.project, config.stack, function_names[route.name]),
            )
            for route in config.routes
        ]
        + [
            log_group_arn(
                config.partition,
                config.region,
                account_id,
                function_log_group_name(config.project, config.stack, writer_name),
            )
            for writer_name in writer_names.values()
        ],
        consumer_topic_arn=topics.notifications.arn if consumers else None,
    ),
    within_stack,
)

code = function_code()
functions: dict[str, InferenceFunction] = {}
for route in config.routes:
    functions[route.name] = InferenceFunction(
        function_names[route.name],
        InferenceFunctionArgs(
            project=config.project,
            stack=config.stack,
            channel=channels[route.name],
            function=config.function,
            sqs=config.sqs,
            async_invoke=config.async_invoke,
            model=config.model_of(route),
            large_results_prefix=config.bucket.large_results_prefix,
            code=code,
            key_policy=key_access.policy,
            account_id=account_id,
            bucket_name=storage.bucket.bucket,
            bucket_arn=storage.bucket.arn,
            table_name=storage.table.name,
            table_arn=storage.table.arn,
            endpoint_name=endpoints[route.model].endpoint_name,
            endpoint_arn=endpoints[route.model].endpoint_arn,
            notifications_topic_arn=topics.notifications.arn,
            key_arn=storage.key.arn,
            kinesis=config.kinesis,
        ),
        within_stack,
    )

writers = {
    name: ResultWriter(
        writer_names[name],
        ResultWriterArgs(
            project=config.project,
            stack=config.stack,
            model_name=name,
            function=config.function,
            async_invoke=config.async_invoke,
            code=code,
            key_policy=key_access.policy,
            account_id=account_id,
            bucket_name=storage.bucket.bucket,
            bucket_arn=storage.bucket.arn,
            output_prefix=e.output_prefix or "",
            table_name=storage.table.name,
            table_arn=storage.table.arn,
            notifications_topic_arn=topics.notifications.arn,
            key_arn=storage.key.arn,
            success_topic_arn=e.success_topic.arn,  # type: ignore[union-attr]
            error_topic_arn=e.error_topic.arn,  # type: ignore[union-attr]
        ),
        within_stack,
    )
    for name, e in async_endpoints.items()
}

# One registry of what is watched, per route and per owned endpoint: the alarms and the dashboard read it.
route_targets = [
    RouteAlarmTargets(
        route_name=route.name,
        function_name=functions[route.name].function.name,
        dead_letter_queue_name=channels[route.name].dead_letter_queue.name,
        queue_name=channels[route.name].queue.name if channels[route.name].queue else None,
    )
    for route in config.routes
]
endpoint_targets = [
    EndpointAlarmTargets(
        name,
        e.endpoint_name,
        e.variant_name,
        **(
            {"invocation_limit_seconds": model.invocation_timeout_seconds}
            if isinstance(model := config.models[name], AsyncModel)
            else {}
        ),
    )
    for name, e in endpoints.items()
    if e.variant_name
]
async_targets = [
    AsyncEndpointAlarmTargets(
        name,
        e.endpoint_name,
        e.variant_name,  # type: ignore[arg-type]
        writers[name].function.name,
        writers[name].dead_letter_queue.name,
    )
    for name, e in async_endpoints.items()
]
consumer_targets = [
    ConsumerAlarmTargets(name, c.queue.name, c.dead_letter_queue.name) for name, c in consumers.items()
]
alarms = Alarms(
    "alarms",
    AlarmsArgs(
        project=config.project,
        stack=config.stack,
        ops_topic_arn=topics.ops.arn,
        account_id=account_id,
        routes=route_targets,
        endpoints=endpoint_targets,
        endpoint_state=EndpointStateAlarmTargets(
            endpoint_events.rule.name, endpoint_events.dead_letter_queue.name
        ),
        queue_oldest_message_age_seconds=config.alarms.queue_oldest_message_age_seconds,
        consumers=consumer_targets,
        async_endpoints=async_targets,
    ),
    within_stack,
)
dashboard = Dashboard(
    "dashboard",
    DashboardArgs(
        project=config.project,
        stack=config.stack,
        region=config.region,
        routes=route_targets,
        endpoints=endpoint_targets,
        consumers=consumer_targets,
        async_endpoints=async_targets,
    ),
    within_stack,
)

bucket_events = BucketEvents(
    "bucket-events",
    BucketEventsArgs(
        bucket_id=storage.bucket.id,
        routes=[
            RouteNotification(channels[route.name], functions[route.name].function.arn)
            for route in config.routes
        ],
        grants=[
            key_access.policy,
            *(c.publisher_grant for c in channels.values() if c.publisher_grant),
            *(functions[r.name].invoke_permission for r in config.routes if r.via == "lambda"),
        ],
    ),
    within_stack,
)


def route_outputs(name: str) -> dict:
    channel, function = channels[name], functions[name]
    route = channel.route
    outputs = {
        "via": route.via,
        "prefix": route.prefix,
        "suffix": route.suffix,
        "model": route.model,
        "endpoint_name": endpoints[route.model].endpoint_name,
        "function_name": function.function.name,
        "function_arn": function.function.arn,
        "role_arn": function.role.role.arn,
        "dlq_url": channel.dead_letter_queue.url,
        "dlq_arn": channel.dead_letter_queue.arn,
    }
    if channel.topic:
        outputs["topic_arn"] = channel.topic.arn
    if channel.queue:
        outputs.update(queue_url=channel.queue.url, queue_arn=channel.queue.arn)
    if channel.rule:
        outputs.update(rule_name=channel.rule.name, rule_arn=channel.rule.arn)
    if channel.stream and channel.producer_policy:
        # What a producer needs: where to put records, and the policy to attach to its role.
        outputs.update(
            stream_name=channel.stream.name,
            stream_arn=channel.stream.arn,
            producer_policy_arn=channel.producer_policy.arn,
        )
    return outputs


pulumi.export("region", config.region)
pulumi.export("bucket_name", storage.bucket.bucket)
pulumi.export("bucket_arn", storage.bucket.arn)
pulumi.export("results_table_name", storage.table.name)
pulumi.export("notifications_topic_arn", topics.notifications.arn)
pulumi.export("ops_topic_arn", topics.ops.arn)
pulumi.export(
    "models",
    {
        name: {
            "mode": model.mode,
            "payload_format": model.payload_format,
            "model_version": model.model_version,
            "endpoint_name": endpoints[name].endpoint_name,
            "endpoint_arn": endpoints[name].endpoint_arn,
            "routes": [r.name for r in config.routes_of(name)],
            **(
                {
                    "success_topic_arn": endpoints[name].success_topic.arn,
                    "error_topic_arn": endpoints[name].error_topic.arn,
                    "result_writer_function_name": writers[name].function.name,
                    "result_writer_role_arn": writers[name].role.role.arn,
                    "result_writer_dlq_url": writers[name].dead_letter_queue.url,
                    "output_prefix": endpoints[name].output_prefix,
                }
                if name in writers
                else {}
            ),
        }
        for name, model in config.models.items()
    },
)
pulumi.export("kms_key_arn", storage.key.arn)
pulumi.export("access_log_bucket_name", storage.access_logs.bucket.bucket)
pulumi.export("endpoint_state_dlq_url", endpoint_events.dead_letter_queue.url)
pulumi.export("routes", {route.name: route_outputs(route.name) for route in config.routes})
if consumers:
    # What a consumer's owner needs: where to read, and the policy to attach to the reading role.
    pulumi.export(
        "consumers",
        {
            name: {
                "queue_url": c.queue.url,
                "queue_arn": c.queue.arn,
                "dlq_url": c.dead_letter_queue.url,
                "dlq_arn": c.dead_letter_queue.arn,
                "read_policy_arn": c.read_policy.arn,
                "statuses": list(c.consumer.statuses),
                "routes": list(c.consumer.routes),
            }
            for name, c in consumers.items()
        },
    )
