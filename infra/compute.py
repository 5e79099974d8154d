"""Compute: the inference function, one per route, from one reusable component.

`InferenceFunction` (`ai-event-pipeline:compute:InferenceFunction`) creates the function's log group (under
the stack key), its own execution role (least privilege for its route), the function (environment under
the stack key), its recursion guard, the async invoke config (async routes), and the trigger wiring of its
route: SNS subscription, SQS event source mapping, S3 invoke permission, EventBridge target, or Kinesis
event source mapping (bisection, retries, record age, on-failure destination to the route's DLQ).
`function_code_files()` lists what the deployment zip holds: our code and the vendored Powertools.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import iam
from infra.config import (
    AsyncInvokeSettings,
    AsyncModel,
    ExistingModel,
    FunctionSettings,
    KinesisSettings,
    Route,
    ServerlessModel,
    SqsSettings,
)
from infra.messaging import RouteChannel
from lambdas.inference import contract

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
# Lambda's own retries of a failed async invocation before the on-failure destination (the DLQ).
# EventBridge's delivery retries reuse it: Lambda accepts async invokes into its own queue, so a delivery
# failure is a permission or configuration fault that more retries would not fix.
ASYNC_MAX_RETRY_ATTEMPTS = 2
# The Powertools release the handler is tested with (requirements.txt pins the same; a test checks). It is
# packaged into the function zip rather than taken from AWS's public layer: the layer ARN of a release is
# published only through a per-version SSM parameter, and such parameters have gone missing
# (aws-powertools/powertools-lambda-python#7689), which would stop every preview. Packaged, the tested
# release is exactly what runs, in every partition, with nothing resolved at deploy time (README).
POWERTOOLS_VERSION = "3.37.0"
# Imported packages the zip carries besides our code: Powertools and its one dependency the Lambda runtime
# lacks (its other one, jmespath, comes with the runtime's botocore).
VENDORED_DISTRIBUTIONS = {"aws-lambda-powertools": POWERTOOLS_VERSION, "typing_extensions": None}


def function_code_files() -> dict[str, Path]:
    """Archive path -> source file: our handler package, then the vendored distributions' files.

    Paths mirror the repository so the handler string `lambdas.inference.app.handler` imports the same
    module the tests import; vendored packages sit at the archive root, where Lambda's sys.path finds them.
    """
    package = PROJECT_ROOT / "lambdas"
    files = {"lambdas/__init__.py": package / "__init__.py"}
    for path in sorted((package / "inference").rglob("*.py")):
        if "__pycache__" not in path.parts:
            files[path.relative_to(PROJECT_ROOT).as_posix()] = path
    for distribution, version in VENDORED_DISTRIBUTIONS.items():
        files.update(vendored_files(distribution, version))
    return files


def vendored_files(distribution: str, expected_version: str | None) -> dict[str, Path]:
    """The Python modules an installed distribution owns (no metadata, caches, bytecode or web assets such
    as Powertools' Swagger UI bundle, which only its OpenAPI event handler serves)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            f"{distribution} is not installed in this virtualenv; the function zip packages it. "
            "Run `make install` (Pulumi.yaml uses .venv)."
        ) from None
    if expected_version is not None and dist.version != expected_version:
        raise RuntimeError(
            f"{distribution} {dist.version} is installed, but the handler is tested with {expected_version}; "
            "run `make install` to get the pinned version."
        )
    files: dict[str, Path] = {}
    for entry in dist.files or ():
        parts = entry.parts
        if entry.suffix != ".py" or "__pycache__" in parts or parts[0] == "..":
            continue
        files[entry.as_posix()] = Path(str(dist.locate_file(entry))).resolve()
    return dict(sorted(files.items()))


def function_log_group_name(project: str, stack: str, function_name: str) -> str:
    """Known before the log group exists, so the key policy can name it (encryption context) first."""
    return f"/aws/lambda/{project}/{stack}/{function_name}"


def log_group_arn(
    partition: str, region: str, account_id: pulumi.Input[str], name: str
) -> pulumi.Output[str]:
    """The log group ARN CloudWatch Logs puts in the encryption context (no trailing `:*`)."""
    return pulumi.Output.concat("arn:", partition, ":logs:", region, ":", account_id, ":log-group:", name)


def function_code() -> pulumi.AssetArchive:
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(path)) for name, path in function_code_files().items()}
    )


def function_environment(
    route: Route,
    function: FunctionSettings,
    model: ServerlessModel | ExistingModel | AsyncModel,
    *,
    large_results_prefix: str,
    bucket_name: pulumi.Input[str],
    table_name: pulumi.Input[str],
    endpoint_name: pulumi.Input[str],
    notifications_topic_arn: pulumi.Input[str],
    stream_name: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Physical names reach the handler only through these variables (names from the shared contract).

    The bucket and the route's filter let the function refuse events that are not its route's; the route's
    model says how objects are sent (payload format, content type, JSON field and key), how large a request
    may be, and which model version every result records.
    """
    variables: dict[str, pulumi.Input[str]] = {
        contract.ENV_RESULTS_TABLE: table_name,
        contract.ENV_ENDPOINT_NAME: endpoint_name,
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: notifications_topic_arn,
        contract.ENV_ROUTE_NAME: route.name,
        contract.ENV_BUCKET_NAME: bucket_name,
        contract.ENV_ROUTE_PREFIX: route.key_prefix,
        contract.ENV_ROUTE_SUFFIX: route.suffix or "",
        contract.ENV_ROUTE_VIA: route.via,
        contract.ENV_MAX_OBJECT_BYTES: str(function.max_object_bytes),
        contract.ENV_MODEL_NAME: route.model or "",
        contract.ENV_MODEL_VERSION: model.model_version,
        contract.ENV_PAYLOAD_FORMAT: model.payload_format,
        contract.ENV_MAX_PAYLOAD_BYTES: str(model.max_payload_bytes),
        contract.ENV_LARGE_RESULTS_PREFIX: large_results_prefix,
    }
    optional = {
        contract.ENV_MAX_WORKERS: function.max_workers,
        contract.ENV_MODEL_MAX_BATCH_SIZE: model.max_batch_size,
        # binary without a content type: unset, so the handler sends each object's own S3 Content-Type.
        contract.ENV_ENDPOINT_CONTENT_TYPE: model.endpoint_content_type,
        contract.ENV_JSON_INPUT_FIELD: model.json_input_field,
        contract.ENV_JSON_REQUEST_KEY: model.json_request_key,
    }
    variables.update({name: str(value) for name, value in optional.items() if value is not None})
    if stream_name is not None:
        variables[contract.ENV_STREAM_NAME] = stream_name
    if isinstance(model, AsyncModel):
        variables[contract.ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS] = str(model.invocation_timeout_seconds)
    return variables


@dataclass
class InferenceFunctionArgs:
    project: str
    stack: str
    channel: RouteChannel  # carries the route
    function: FunctionSettings
    sqs: SqsSettings
    async_invoke: AsyncInvokeSettings
    model: ServerlessModel | ExistingModel | AsyncModel  # the route's model (route.model names it)
    large_results_prefix: str
    code: pulumi.Archive
    # The key policy must let CloudWatch Logs use the key before an encrypted log group can be created.
    key_policy: pulumi.Resource
    account_id: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    endpoint_name: pulumi.Input[str]
    endpoint_arn: pulumi.Input[str]
    notifications_topic_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    kinesis: KinesisSettings | None = None  # kinesis routes: the mapping's settings


def function_log_group(  # noqa: PLR0917 - a function's log group and what it is made of
    parent: pulumi.Resource,
    name: str,
    project: str,
    stack: str,
    settings: FunctionSettings,
    key_arn: pulumi.Input[str],
    key_policy: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """A function's own log group, under the stack key (the key policy must allow Logs first)."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=function_log_group_name(project, stack, name),
        retention_in_days=settings.log_retention_days,
        kms_key_id=key_arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[key_policy]),
    )


def function_resource(
    parent: pulumi.Resource,
    name: str,
    *,
    description: str,
    role: iam.ExecutionRole,
    handler: str,
    code: pulumi.Archive,
    memory_size: int,
    timeout: int,
    log_group: aws.cloudwatch.LogGroup,
    key_arn: pulumi.Input[str],
    variables: Mapping[str, pulumi.Input[str]],
    reserved_concurrency: int | None = None,
) -> aws.lambda_.Function:
    """One of the stack's functions: the shared package, arm64, active tracing, JSON logs in its own group."""
    return aws.lambda_.Function(
        name,
        description=description,
        role=role.role.arn,
        runtime=RUNTIME,
        architectures=[ARCHITECTURE],
        handler=handler,
        code=code,
        memory_size=memory_size,
        timeout=timeout,
        reserved_concurrent_executions=reserved_concurrency,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        # Environment variables at rest under the stack key; Lambda creates its grant with the deployer's
        # permissions and decrypts without any from the role (Lambda Developer Guide, "Securing Lambda
        # environment variables").
        kms_key_arn=key_arn,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
        # The policy and log group must exist before the first event can arrive.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role.policy, log_group]),
    )


def terminate_recursive_loops(
    parent: pulumi.Resource, name: str, function: aws.lambda_.Function
) -> aws.lambda_.FunctionRecursionConfig:
    return aws.lambda_.FunctionRecursionConfig(
        f"{name}-recursion",
        function_name=function.name,
        recursive_loop="Terminate",
        opts=pulumi.ResourceOptions(parent=parent),
    )


def async_failures_to(
    name: str,
    function: aws.lambda_.Function,
    dead_letter_queue: aws.sqs.Queue,
    async_invoke: AsyncInvokeSettings,
    opts: pulumi.ResourceOptions,
) -> aws.lambda_.FunctionEventInvokeConfig:
    """Lambda's retries of an asynchronous invocation (fixed at 2), then its record to the DLQ."""
    return aws.lambda_.FunctionEventInvokeConfig(
        f"{name}-async",
        function_name=function.name,
        maximum_retry_attempts=ASYNC_MAX_RETRY_ATTEMPTS,
        maximum_event_age_in_seconds=async_invoke.maximum_event_age_seconds,
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                destination=dead_letter_queue.arn
            )
        ),
        opts=opts,
    )


class InferenceFunction(pulumi.ComponentResource):
    """One route's inference function and its trigger.

    Exposes `function`, `role` (an `iam.ExecutionRole`), `log_group`, and `invoke_permission` (the S3, SNS or
    EventBridge permission; None for sqs, whose mapping polls with the role).
    """

    def __init__(
        self, name: str, args: InferenceFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:compute:InferenceFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        channel, settings = args.channel, args.function
        route = channel.route

        self.log_group = function_log_group(
            self, name, args.project, args.stack, settings, args.key_arn, args.key_policy
        )

        # A kinesis route reads records, never objects: no GetObject, no ListBucket. It keeps the put of large
        # results, because a model's answer may outgrow a table item whatever the input (a json model's
        # embeddings, say), and without it such a record could never complete.
        # An async route's function reads nothing and writes no large result: SageMaker reads the object
        # with the model's execution role, and the result writer stores the outcome.
        submits_async = isinstance(args.model, AsyncModel)
        reads = (
            [
                iam.allow_read_objects(args.bucket_arn, route.key_prefix),
                iam.allow_list_bucket(args.bucket_arn),
            ]
            if route.reads_objects and not submits_async
            else []
        )
        model_statements = (
            [iam.allow_invoke_endpoint_async(args.endpoint_arn)]
            if submits_async
            else [
                iam.allow_invoke_endpoint(args.endpoint_arn),
                iam.allow_write_large_results(args.bucket_arn, args.large_results_prefix),
            ]
        )
        statements = [
            *reads,
            *model_statements,
            iam.allow_put_result(args.table_arn),
            iam.allow_publish(args.notifications_topic_arn),
            iam.allow_use_key(args.key_arn),
            iam.allow_write_logs(self.log_group.arn),
            iam.allow_tracing(),
        ]
        if channel.queue is not None:
            statements.append(iam.allow_consume_queue(channel.queue.arn))
        else:
            # Async and stream routes: Lambda sends on-failure records with the execution role. An sqs
            # route's DLQ is filled by SQS redrive, which needs no grant from the role.
            statements.append(iam.allow_send_to_dead_letter_queue(channel.dead_letter_queue.arn))
        if channel.stream is not None:
            # The stream is under the stack key: GetRecords needs kms:Decrypt, which allow_use_key grants.
            statements.append(iam.allow_read_stream(channel.stream.arn))
        self.role = iam.ExecutionRole(
            name,
            iam.ExecutionRoleArgs(
                service="lambda",
                statements=statements,
                description=f"Inference function of route {route.name} ({args.stack})",
            ),
            opts=child,
        )

        self.function = function_resource(
            self,
            name,
            description=f"Scores objects of route {route.name} ({route.via}) with model {route.model}",
            role=self.role,
            handler=contract.HANDLER,
            code=args.code,
            memory_size=settings.memory_mb,
            timeout=settings.timeout_seconds,
            reserved_concurrency=settings.reserved_concurrency,
            log_group=self.log_group,
            key_arn=args.key_arn,
            variables=function_environment(
                route,
                settings,
                args.model,
                large_results_prefix=args.large_results_prefix,
                bucket_name=args.bucket_name,
                table_name=args.table_name,
                endpoint_name=args.endpoint_name,
                notifications_topic_arn=args.notifications_topic_arn,
                stream_name=channel.stream.name if channel.stream is not None else None,
            ),
        )
        # Lambda stops loops through SQS/SNS/S3 after ~16 hops; results never go back to the bucket anyway.
        self.recursion = terminate_recursive_loops(self, name, self.function)

        self.invoke_permission: aws.lambda_.Permission | None = None
        self.async_config: aws.lambda_.FunctionEventInvokeConfig | None = None
        self.subscription: aws.sns.TopicSubscription | None = None
        self.event_source_mapping: aws.lambda_.EventSourceMapping | None = None
        self.target: aws.cloudwatch.EventTarget | None = None
        # Lambda checks the role can reach the destination / queue when these are created.
        after_policy = pulumi.ResourceOptions(parent=self, depends_on=[self.role.policy])

        if route.is_async:
            self.async_config = async_failures_to(
                name, self.function, channel.dead_letter_queue, args.async_invoke, after_policy
            )

        if route.via == "sns" and channel.topic is not None:
            self.invoke_permission = aws.lambda_.Permission(
                f"{name}-allow-sns",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="sns.amazonaws.com",
                source_arn=channel.topic.arn,
                opts=child,
            )
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-subscription",
                topic=channel.topic.arn,
                protocol="lambda",
                endpoint=self.function.arn,
                # Deliveries SNS gives up on (e.g. throttled past SNS's retries) go to the DLQ.
                redrive_policy=pulumi.Output.json_dumps(
                    {"deadLetterTargetArn": channel.dead_letter_queue.arn}
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.invoke_permission]),
            )
        elif route.via == "sqs" and channel.queue is not None:
            self.event_source_mapping = aws.lambda_.EventSourceMapping(
                f"{name}-queue-mapping",
                event_source_arn=channel.queue.arn,
                function_name=self.function.arn,
                batch_size=args.sqs.batch_size,
                maximum_batching_window_in_seconds=args.sqs.maximum_batching_window_seconds,
                # The handler reports failed records only; the rest of the batch is deleted, not redelivered.
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                    maximum_concurrency=args.sqs.maximum_concurrency
                ),
                opts=after_policy,
            )
        elif route.via == "kinesis" and channel.stream is not None:
            settings = args.kinesis or KinesisSettings()
            # Lambda Developer Guide, "Process Amazon Kinesis Data Streams records with Lambda" and
            # "Configuring partial batch response with Kinesis Data Streams and Lambda": the handler reports
            # the first failed sequence number; Lambda checkpoints there and retries from it, bisecting the
            # batch at it when BisectBatchOnFunctionError is on (a split uses no retry), until
            # MaximumRetryAttempts or MaximumRecordAgeInSeconds; then the batch's metadata (shard, sequence
            # range) goes to the on-failure destination, the route's DLQ, and the shard moves on.
            self.event_source_mapping = aws.lambda_.EventSourceMapping(
                f"{name}-stream-mapping",
                event_source_arn=channel.stream.arn,
                function_name=self.function.arn,
                starting_position=settings.starting_position,
                batch_size=settings.batch_size,
                maximum_batching_window_in_seconds=settings.maximum_batching_window_seconds,
                parallelization_factor=settings.parallelization_factor,
                bisect_batch_on_function_error=settings.bisect_batch_on_function_error,
                maximum_retry_attempts=settings.maximum_retry_attempts,
                maximum_record_age_in_seconds=settings.maximum_record_age_seconds,
                function_response_types=["ReportBatchItemFailures"],
                destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                    on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                        destination_arn=channel.dead_letter_queue.arn
                    )
                ),
                opts=after_policy,
            )
        elif route.via == "lambda":
            self.invoke_permission = aws.lambda_.Permission(
                f"{name}-allow-s3",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="s3.amazonaws.com",
                source_arn=args.bucket_arn,
                source_account=args.account_id,
                opts=child,
            )
        elif route.via == "eventbridge" and channel.rule is not None:
            self.invoke_permission = aws.lambda_.Permission(
                f"{name}-allow-events",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="events.amazonaws.com",
                source_arn=channel.rule.arn,
                opts=child,
            )
            self.target = aws.cloudwatch.EventTarget(
                f"{name}-target",
                rule=channel.rule.name,
                arn=self.function.arn,
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                    maximum_retry_attempts=ASYNC_MAX_RETRY_ATTEMPTS,
                    maximum_event_age_in_seconds=args.async_invoke.maximum_event_age_seconds,
                ),
                dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                    arn=channel.dead_letter_queue.arn
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.invoke_permission]),
            )

        self.register_outputs(
            {
                "function_name": self.function.name,
                "function_arn": self.function.arn,
                "role_arn": self.role.role.arn,
            }
        )


@dataclass
class ResultWriterArgs:
    project: str
    stack: str
    model_name: str
    function: FunctionSettings
    async_invoke: AsyncInvokeSettings
    code: pulumi.Archive
    key_policy: pulumi.Resource
    account_id: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    output_prefix: str
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    notifications_topic_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    success_topic_arn: pulumi.Input[str]
    error_topic_arn: pulumi.Input[str]


class ResultWriter(pulumi.ComponentResource):
    """An async model's result writer (`ai-event-pipeline:compute:ResultWriter`): its DLQ, log group, own role
    (read exactly the model's output path, update results, publish outcomes), the function (same code package,
    entry point contract.RESULT_WRITER_HANDLER), and its subscriptions to the model's success and error
    topics, each redriving undeliverable notifications to the DLQ, as do the function's async retries.

    Exposes `function`, `role`, `log_group`, `dead_letter_queue`, `subscriptions`.
    """

    def __init__(self, name: str, args: ResultWriterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:compute:ResultWriter", name, None, opts)
        from infra.messaging import allow_sending, dead_letter_queue, tls_only_queue_policy  # noqa: PLC0415

        child = pulumi.ResourceOptions(parent=self)
        settings = args.function
        self.dead_letter_queue = dead_letter_queue(f"{name}-dlq", args.key_arn, child)
        # SNS redrives undeliverable notifications of either topic here (SNS Developer Guide, "Amazon SNS
        # dead-letter queues": the queue policy must let sns.amazonaws.com send, scoped by the topic ARN).
        self.dead_letter_queue_policy = tls_only_queue_policy(
            f"{name}-dlq-policy",
            self.dead_letter_queue,
            allow_sending(
                "AllowSubscriptionRedrive",
                service="sns",
                queue_arn=self.dead_letter_queue.arn,
                source_arns=[args.success_topic_arn, args.error_topic_arn],
                account_id=args.account_id,
            ),
            opts=child,
        )
        self.log_group = function_log_group(
            self, name, args.project, args.stack, settings, args.key_arn, args.key_policy
        )
        self.role = iam.ExecutionRole(
            name,
            iam.ExecutionRoleArgs(
                service="lambda",
                statements=[
                    iam.allow_read_async_outputs(args.bucket_arn, args.output_prefix),
                    iam.allow_update_result(args.table_arn),
                    iam.allow_publish(args.notifications_topic_arn),
                    iam.allow_use_key(args.key_arn),
                    iam.allow_write_logs(self.log_group.arn),
                    iam.allow_tracing(),
                    iam.allow_send_to_dead_letter_queue(self.dead_letter_queue.arn),
                ],
                description=f"Result writer of async model {args.model_name} ({args.stack})",
            ),
            opts=child,
        )
        self.function = function_resource(
            self,
            name,
            description=f"Stores the outcomes of async model {args.model_name} from SageMaker notifications",
            role=self.role,
            handler=contract.RESULT_WRITER_HANDLER,
            code=args.code,
            memory_size=256,
            timeout=60,
            log_group=self.log_group,
            key_arn=args.key_arn,
            variables={
                contract.ENV_RESULTS_TABLE: args.table_name,
                contract.ENV_NOTIFICATIONS_TOPIC_ARN: args.notifications_topic_arn,
                contract.ENV_MODEL_NAME: args.model_name,
                contract.ENV_ASYNC_OUTPUT_URI: pulumi.Output.concat(
                    "s3://", args.bucket_name, "/", args.output_prefix
                ),
            },
        )
        # Like every function: Lambda stops loops through SNS (it publishes, it is invoked by SNS).
        self.recursion = terminate_recursive_loops(self, name, self.function)
        self.async_config = async_failures_to(
            name,
            self.function,
            self.dead_letter_queue,
            args.async_invoke,
            pulumi.ResourceOptions(parent=self, depends_on=[self.role.policy]),
        )
        self.subscriptions: list[aws.sns.TopicSubscription] = []
        for kind, topic_arn in (("success", args.success_topic_arn), ("error", args.error_topic_arn)):
            permission = aws.lambda_.Permission(
                f"{name}-allow-{kind}",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="sns.amazonaws.com",
                source_arn=topic_arn,
                opts=child,
            )
            self.subscriptions.append(
                aws.sns.TopicSubscription(
                    f"{name}-{kind}-subscription",
                    topic=topic_arn,
                    protocol="lambda",
                    endpoint=self.function.arn,
                    redrive_policy=pulumi.Output.json_dumps(
                        {"deadLetterTargetArn": self.dead_letter_queue.arn}
                    ),
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=[permission, self.dead_letter_queue_policy]
                    ),
                )
            )
        self.register_outputs({"function_name": self.function.name, "role_arn": self.role.role.arn})
