"""ai-event-pipeline: files land in S3 and are scored by a SageMaker model; results go to DynamoDB.

Deploys, from the stack config (infra/config.py validates it before anything is declared):
- an AWS provider with default tags (project, stack, managed-by) used by every resource;
- storage: one customer-managed KMS key (rotation on), the SSE-KMS versioned TLS-only ingest bucket with
  public access blocked, a lifecycle and server access logging to its own log bucket, and the DynamoDB
  results table (on-demand, PITR, encrypted);
- topics: `notifications` (outcomes, subscriptions with status/route filter policies) and `ops` (alarms);
- the SageMaker serverless endpoint with its own execution role (or a reference to an existing endpoint),
  and an EventBridge rule forwarding its state changes to `notifications` (retries, then its own DLQ);
- per route (sns / sqs / lambda / eventbridge): a dead-letter queue and the route's topic, queue or rule;
- the key policy, before anything whose creation AWS checks against it;
- per route, one inference function (own role, encrypted log group and environment, Powertools packaged in
  its zip, async retries to the DLQ, trigger wiring);
- alarms (DLQ depth, function errors and throttles, queue age, endpoint 5XX and latency, endpoint-state
  delivery failures) to `ops`;
- the bucket's single notification configuration once every grant exists.
"""

import pulumi
import pulumi_aws as aws

from infra.compute import (
    InferenceFunction,
    InferenceFunctionArgs,
    function_code,
    function_log_group_name,
    log_group_arn,
)
from infra.config import load_config
from infra.iam import KeyAccess, KeyAccessArgs
from infra.messaging import (
    BucketEvents,
    BucketEventsArgs,
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
endpoint = InferenceEndpoint(
    "inference",
    InferenceEndpointArgs(
        config.project, config.stack, config.region, config.partition, account_id, config.model
    ),
    within_stack,
)
endpoint_events = EndpointStateEvents(
    "endpoint-state",
    EndpointStateEventsArgs(endpoint.endpoint_name, topics.notifications.arn, account_id, storage.key.arn),
    within_stack,
)

# Component names of the functions; their log group names derive from them.
function_names = {route.name: f"inference-{route.name}" for route in config.routes}
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
        sns_topic_arns=[c.topic.arn for c in channels.values() if c.topic],
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
        ],
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
            max_batch_size=config.model.max_batch_size,
            code=code,
            key_policy=key_access.policy,
            account_id=account_id,
            bucket_name=storage.bucket.bucket,
            bucket_arn=storage.bucket.arn,
            table_name=storage.table.name,
            table_arn=storage.table.arn,
            endpoint_name=endpoint.endpoint_name,
            endpoint_arn=endpoint.endpoint_arn,
            notifications_topic_arn=topics.notifications.arn,
            key_arn=storage.key.arn,
        ),
        within_stack,
    )

alarms = Alarms(
    "alarms",
    AlarmsArgs(
        project=config.project,
        stack=config.stack,
        ops_topic_arn=topics.ops.arn,
        account_id=account_id,
        routes=[
            RouteAlarmTargets(
                route_name=route.name,
                function_name=functions[route.name].function.name,
                dead_letter_queue_name=channels[route.name].dead_letter_queue.name,
                queue_name=channels[route.name].queue.name if channels[route.name].queue else None,
            )
            for route in config.routes
        ],
        # Endpoints the stack does not own are monitored by their owner.
        endpoint=EndpointAlarmTargets(endpoint.endpoint_name, endpoint.variant_name)
        if endpoint.variant_name
        else None,
        endpoint_state=EndpointStateAlarmTargets(
            endpoint_events.rule.name, endpoint_events.dead_letter_queue.name
        ),
        queue_oldest_message_age_seconds=config.alarms.queue_oldest_message_age_seconds,
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
    return outputs


pulumi.export("region", config.region)
pulumi.export("bucket_name", storage.bucket.bucket)
pulumi.export("bucket_arn", storage.bucket.arn)
pulumi.export("results_table_name", storage.table.name)
pulumi.export("notifications_topic_arn", topics.notifications.arn)
pulumi.export("ops_topic_arn", topics.ops.arn)
pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("kms_key_arn", storage.key.arn)
pulumi.export("access_log_bucket_name", storage.access_logs.bucket.bucket)
pulumi.export("endpoint_state_dlq_url", endpoint_events.dead_letter_queue.url)
pulumi.export("routes", {route.name: route_outputs(route.name) for route in config.routes})
