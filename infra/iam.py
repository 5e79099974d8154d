"""IAM as data: intent-named statement helpers, roles, and the stack key's policy.

Every helper returns a plain statement dict scoped to real ARNs (values may be Outputs); documents are
rendered with `pulumi.Output.json_dumps`. Creates `ExecutionRole` (a role plus one inline policy) and
`KeyAccess` (the KMS key policy, applied once every principal that needs the key exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = dict[str, Any]
Arn = pulumi.Input[str]

POLICY_VERSION = "2012-10-17"


def policy_document(*statements: Statement) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def render(document: dict[str, Any]) -> pulumi.Output[str]:
    """JSON for a policy document whose values may still be Outputs."""
    return pulumi.Output.json_dumps(document)


def _as_list(arns: Arn | Sequence[Arn]) -> list[Arn]:
    """One ARN or several, as the list a policy element holds (a str is one ARN, not a sequence)."""
    return list(arns) if isinstance(arns, list | tuple) else [arns]


def _allow(sid: str, actions: Sequence[str], resources: Arn | Sequence[Arn], **extra: Any) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": _as_list(resources), **extra}


# --- identity statements (what a role may do) -------------------------------------------------------


def allow_read_objects(bucket_arn: Arn, prefix: str) -> Statement:
    """Read (any version of) the objects under one key prefix."""
    return _allow(
        "ReadRouteObjects",
        ["s3:GetObject", "s3:GetObjectVersion"],
        pulumi.Output.concat(bucket_arn, "/", prefix, "*"),
    )


def allow_list_bucket(bucket_arn: Arn) -> Statement:
    """Without s3:ListBucket, S3 answers GetObject on a missing key with 403 instead of 404 (NoSuchKey),
    and the handler could not record the `missing` outcome. It reveals key names only, not content."""
    return _allow("TellMissingObjectsApart", ["s3:ListBucket"], bucket_arn)


def allow_invoke_endpoint(endpoint_arn: Arn) -> Statement:
    return _allow("InvokeModelEndpoint", ["sagemaker:InvokeEndpoint"], endpoint_arn)


def allow_write_large_results(bucket_arn: Arn, prefix: str) -> Statement:
    """Results too large for a table item go to the bucket under one prefix, which no route's filter matches
    (infra.config checks it); the stack key's GenerateDataKey (allow_use_key) encrypts them."""
    return _allow("WriteLargeResults", ["s3:PutObject"], pulumi.Output.concat(bucket_arn, "/", prefix, "*"))


def allow_put_result(table_arn: Arn) -> Statement:
    """The handler writes one item per object with a conditional PutItem, and nothing else."""
    return _allow("PutResults", ["dynamodb:PutItem"], table_arn)


def allow_update_result(table_arn: Arn) -> Statement:
    """The result writer completes an async route's item with a conditional UpdateItem, and nothing else."""
    return _allow("UpdateResults", ["dynamodb:UpdateItem"], table_arn)


def allow_publish(topic_arn: Arn) -> Statement:
    """sns:Publish also authorises PublishBatch."""
    return _allow("PublishOutcomes", ["sns:Publish"], topic_arn)


# What a function does with the stack key: its role policy grants exactly this (the key policy's account
# statement lets IAM grant it).
FUNCTION_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def allow_use_key(key_arn: Arn) -> Statement:
    """Decrypt SSE-KMS objects and queue messages; generate data keys to publish to the encrypted topic
    and to send to the encrypted DLQ."""
    return _allow("UseStackKey", FUNCTION_KEY_ACTIONS, key_arn)


def allow_consume_queue(queue_arn: Arn) -> Statement:
    """What the SQS event source mapping does with the execution role's credentials."""
    return _allow(
        "ConsumeRouteQueue", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], queue_arn
    )


# What Lambda's Kinesis event source mapping does with the execution role on a standard iterator (Lambda
# Developer Guide, "Process Amazon Kinesis Data Streams records with Lambda",
# https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html). Not granted: SubscribeToShard
# (enhanced fan-out consumers only; the mapping reads the stream itself) and ListStreams, which the managed
# AWSLambdaKinesisExecutionRole policy carries but the page does not list, and which would name every stream
# of the account.
STREAM_CONSUMER_ACTIONS = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]
# What a producer needs (Kinesis Data Streams Developer Guide, "Permissions to use user-generated KMS keys",
# https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html): PutRecord(s) on the stream
# and kms:GenerateDataKey on the key the stream is encrypted with.
STREAM_PRODUCER_ACTIONS = ["kinesis:PutRecord", "kinesis:PutRecords"]


def allow_read_stream(stream_arn: Arn) -> Statement:
    """The event source mapping reads exactly the route's stream with the execution role."""
    return _allow("ReadRouteStream", STREAM_CONSUMER_ACTIONS, stream_arn)


def allow_put_records(stream_arn: Arn) -> Statement:
    return _allow("PutStreamRecords", STREAM_PRODUCER_ACTIONS, stream_arn)


def allow_encrypt_records(key_arn: Arn) -> Statement:
    """Producers encrypt records with a data key of the stream's key: kms:GenerateDataKey, nothing else."""
    return _allow("EncryptStreamRecords", ["kms:GenerateDataKey"], key_arn)


# What a consumer of its own queue does: receive, delete when done, extend the visibility timeout of a message
# it is still working on, and read the queue's attributes (CDK's `grantConsumeMessages` grants the same set,
# without GetQueueUrl: the queue's URL is a stack output).
CONSUMER_QUEUE_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]


def allow_consume_queue_messages(queue_arn: Arn) -> Statement:
    """A consumer reads exactly its own queue."""
    return _allow("ConsumeOwnQueue", CONSUMER_QUEUE_ACTIONS, queue_arn)


def allow_decrypt_queue_messages(key_arn: Arn, region: str, partition: str) -> Statement:
    """Receiving from an SSE-KMS queue needs kms:Decrypt on its key (SQS Developer Guide, "Amazon SQS Key
    management", consumer permissions,
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html), and
    only in requests SQS makes for the caller (kms:ViaService `sqs.<region>.<domain>`; AWS KMS Developer
    Guide, "AWS KMS condition keys", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html)."""
    return _allow(
        "DecryptQueueMessages",
        ["kms:Decrypt"],
        key_arn,
        Condition={"StringEquals": {"kms:ViaService": f"sqs.{region}.{service_domain(partition)}"}},
    )


def allow_send_to_dead_letter_queue(queue_arn: Arn) -> Statement:
    """Lambda sends async (and stream) on-failure records to the destination with the execution role."""
    return _allow("SendFailuresToDeadLetterQueue", ["sqs:SendMessage"], queue_arn)


def allow_write_logs(log_group_arn: Arn) -> Statement:
    """Streams and events in the function's own log group (it exists already; no CreateLogGroup)."""
    return _allow(
        "WriteOwnLogs",
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        pulumi.Output.concat(log_group_arn, ":*"),
    )


def allow_tracing() -> Statement:
    # X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions: "*" is the
    # only resource AWS accepts (Service Authorization Reference, AWS X-Ray).
    return _allow("WriteTraces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")


def allow_pull_image(repository_arn: Arn) -> list[Statement]:
    """SageMaker pulls the inference image with the model's execution role."""
    return [
        # ecr:GetAuthorizationToken is account-wide; AWS offers no resource-level permission for it.
        _allow("GetRegistryToken", ["ecr:GetAuthorizationToken"], "*"),
        _allow(
            "PullInferenceImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            repository_arn,
        ),
    ]


def allow_read_model_artifact(object_arn: str) -> Statement:
    """SageMaker downloads the model artifact (ModelDataUrl) with the model's execution role: exactly that
    object (SageMaker Developer Guide, "CreateModel API: Execution Role Permissions", s3:GetObject on the
    artifact; https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html)."""
    return _allow("ReadModelArtifact", ["s3:GetObject"], object_arn)


def allow_decrypt_model_artifact(key_arn: str, region: str, domain: str) -> Statement:
    """An SSE-KMS artifact: decrypt with exactly its key, and only in requests S3 makes on the role's behalf
    (kms:ViaService `s3.<region>.amazonaws.com`; AWS KMS Developer Guide, "AWS KMS condition keys",
    kms:ViaService, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service)."""
    return _allow(
        "DecryptModelArtifact",
        ["kms:Decrypt"],
        key_arn,
        Condition={"StringEquals": {"kms:ViaService": f"s3.{region}.{domain}"}},
    )


def allow_put_metrics() -> Statement:
    # SageMaker's CreateModel execution-role policy lists cloudwatch:PutMetricData, and CloudWatch offers no
    # resource-level permission for it: "*" is the only resource (SageMaker Developer Guide, "CreateModel
    # API: Execution Role Permissions").
    return _allow("PublishEndpointMetrics", ["cloudwatch:PutMetricData"], "*")


def allow_endpoint_logs(log_group_arn_prefix: Arn) -> Statement:
    """SageMaker writes container logs to /aws/sagemaker/Endpoints/<endpoint> with the execution role."""
    return _allow(
        "WriteEndpointLogs",
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        [log_group_arn_prefix, pulumi.Output.concat(log_group_arn_prefix, ":*")],
    )


# --- resource-policy statements (who may reach a resource) ------------------------------------------


def source_conditions(
    source_arns: Arn | Sequence[Arn], source_account: Arn, arn_operator: str = "ArnEquals"
) -> dict[str, Any]:
    """Confused-deputy protection for service principals: only our resources, in our account."""
    return {
        arn_operator: {"aws:SourceArn": _as_list(source_arns)},
        "StringEquals": {"aws:SourceAccount": source_account},
    }


def allow_service(
    sid: str,
    *,
    service: str,
    actions: Sequence[str],
    resource: Arn,
    source_arns: Arn | Sequence[Arn],
    source_account: Arn,
    arn_operator: str = "ArnEquals",
) -> Statement:
    """Let an AWS service principal act on a resource on behalf of the named source resources only
    (`arn_operator` ArnLike when `source_arns` are patterns)."""
    return _allow(
        sid,
        actions,
        resource,
        Principal={"Service": f"{service}.amazonaws.com"},
        Condition=source_conditions(source_arns, source_account, arn_operator),
    )


def deny_insecure_transport(actions: Sequence[str], resources: Arn | Sequence[Arn]) -> Statement:
    """TLS-only: refuse every request that did not arrive over HTTPS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": _as_list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def trust_service(service: str, source_arn_pattern: Arn | None = None) -> dict[str, Any]:
    """Assume-role policy for one AWS service, conditioned on our resources where the service documents it."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": f"{service}.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if source_arn_pattern is not None:
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": source_arn_pattern}}
    return policy_document(statement)


def sagemaker_source_arn_pattern(partition: str, region: str, account_id: Arn) -> pulumi.Output[str]:
    """The trust condition SageMaker documents for inference execution roles: `arn:...:sagemaker:<region>:
    <account>:*`. Its `*` is part of the template, not a wildcard to narrow, and aws:SourceAccount is not
    needed beside it (SageMaker Developer Guide, "Cross-service confused deputy prevention", SageMaker AI
    Inference)."""
    return pulumi.Output.concat("arn:", partition, ":sagemaker:", region, ":", account_id, ":*")


# --- components -------------------------------------------------------------------------------------


@dataclass
class ExecutionRoleArgs:
    service: str
    statements: Sequence[Statement]
    description: str
    # None where the service documents no source condition for execution-role trust (Lambda).
    trust_source_arn_pattern: Arn | None = None


class ExecutionRole(pulumi.ComponentResource):
    """One IAM role for one workload, with exactly one inline policy (no managed policy attachments).

    Exposes `role` and `policy` (depend on `policy` before using the role's permissions).
    """

    def __init__(
        self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:iam:ExecutionRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            description=args.description,
            assume_role_policy=render(trust_service(args.service, args.trust_source_arn_pattern)),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=render(policy_document(*args.statements)),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn, "role_name": self.role.name})


@dataclass
class KeyAccessArgs:
    key_id: pulumi.Input[str]
    account_id: Arn
    partition: str
    region: str
    bucket_arn: Arn
    # The route topics whose subscriptions redrive to encrypted DLQs (empty: no SNS statement).
    sns_topic_arns: Sequence[Arn]
    # ArnLike pattern matching exactly this stack's alarms (their names share a prefix).
    alarm_arn_pattern: Arn
    # The log groups encrypted with the key; computed from their names, so the policy can exist first.
    log_group_arns: Sequence[Arn]
    # The notifications topic when it delivers to encrypted consumer queues (None: no consumers).
    consumer_topic_arn: Arn | None = None


KEY_SERVICE_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"]
# CloudWatch Logs needs these on a log group's key (CloudWatch Logs User Guide, "Encrypt log data in
# CloudWatch Logs using AWS Key Management Service", step 2: the key policy).
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


def service_domain(partition: str) -> str:
    """Regional service principals end in amazonaws.com, and in amazonaws.com.cn in the China partition."""
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def key_policy_document(args: KeyAccessArgs) -> dict[str, Any]:
    """Key policy: account administration plus exactly the services that write encrypted data.

    The functions' roles are not named here: the administration statement lets IAM policies grant key use,
    and each role's own policy grants exactly FUNCTION_KEY_ACTIONS on this key. Keeping roles out lets the
    policy exist before the functions' encrypted log groups, which CloudWatch Logs checks on creation.
    """
    root = pulumi.Output.concat("arn:", args.partition, ":iam::", args.account_id, ":root")
    statements: list[Statement] = [
        {
            # AWS's default key statement: without it the key becomes unmanageable, and IAM policies
            # (e.g. the deployer's and the functions' roles) could not grant access. In a key policy,
            # "*" resource means this key.
            "Sid": "EnableAccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        },
        # S3 encrypts event notifications it sends to the encrypted topics and queues.
        allow_service(
            "S3EventNotifications",
            service="s3",
            actions=KEY_SERVICE_ACTIONS,
            resource="*",
            source_arns=args.bucket_arn,
            source_account=args.account_id,
        ),
        # CloudWatch alarms publish to the encrypted ops topic.
        allow_service(
            "CloudWatchAlarmActions",
            service="cloudwatch",
            actions=KEY_SERVICE_ACTIONS,
            resource="*",
            source_arns=args.alarm_arn_pattern,
            source_account=args.account_id,
            arn_operator="ArnLike",
        ),
        {
            # EventBridge delivers to the encrypted notifications topic and route DLQs. AWS does not support
            # aws:SourceArn, aws:SourceAccount or aws:SourceOrgID in a key policy for EventBridge to encrypted
            # topics (SNS Developer Guide, "Key management", compatibility with AWS services): with them,
            # deliveries fail silently. The EventBridge User Guide ("Event bus targets", KMS) documents this
            # statement without a condition (README: Security, deliberate exceptions).
            "Sid": "EventBridgeRuleTargets",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
        },
    ]
    if args.sns_topic_arns:
        # SNS subscriptions redrive undeliverable messages to the encrypted route DLQ.
        statements.append(
            allow_service(
                "SnsRedriveToDeadLetterQueues",
                service="sns",
                actions=KEY_SERVICE_ACTIONS,
                resource="*",
                source_arns=list(args.sns_topic_arns),
                source_account=args.account_id,
            )
        )
    if args.consumer_topic_arn is not None:
        # The notifications topic sends outcomes to the encrypted consumer queues (SQS Developer Guide,
        # "Amazon SQS Key management", KMS permissions for AWS services: kms:GenerateDataKey and kms:Decrypt
        # for sns.amazonaws.com). SnsRedriveToDeadLetterQueues names only the route topics: it does not
        # cover this topic.
        statements.append(
            allow_service(
                "SnsDeliveryToConsumerQueues",
                service="sns",
                actions=KEY_SERVICE_ACTIONS,
                resource="*",
                source_arns=[args.consumer_topic_arn],
                source_account=args.account_id,
            )
        )
    if args.log_group_arns:
        statements.append(
            {
                # The regional service principal, and only for this stack's log groups: CloudWatch Logs
                # puts the log group's ARN in the encryption context of every request.
                "Sid": "CloudWatchLogsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{args.region}.{service_domain(args.partition)}"},
                "Action": LOGS_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": list(args.log_group_arns)}},
            }
        )
    return policy_document(*statements)


class KeyAccess(pulumi.ComponentResource):
    """The stack key's policy, as its own resource so it can name principals created after the key.

    S3 validates encrypted notification destinations when the bucket notification is created, and CloudWatch
    Logs checks the key when an encrypted log group is created: both must depend on `policy`.
    """

    def __init__(self, name: str, args: KeyAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:iam:KeyAccess", name, None, opts)
        self.policy = aws.kms.KeyPolicy(
            f"{name}-policy",
            key_id=args.key_id,
            policy=render(key_policy_document(args)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"key_id": args.key_id})


# --- async models ---------------------------------------------------------------------------------------
def allow_invoke_endpoint_async(endpoint_arn: Arn) -> Statement:
    """Submit requests to one async endpoint (SageMaker Service Authorization Reference:
    sagemaker:InvokeEndpointAsync, resource type endpoint)."""
    return _allow("InvokeAsyncEndpoint", ["sagemaker:InvokeEndpointAsync"], endpoint_arn)


def allow_read_async_inputs(bucket_arn: Arn, prefixes: Sequence[str]) -> Statement:
    """SageMaker reads each request's InputLocation with the execution role: exactly its routes' prefixes."""
    return _allow(
        "ReadAsyncInputs",
        ["s3:GetObject"],
        [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes],
    )


def allow_write_async_outputs(bucket_arn: Arn, prefixes: Sequence[str]) -> Statement:
    """SageMaker writes outputs and failures with the execution role: exactly the two paths."""
    return _allow(
        "WriteAsyncOutputs",
        ["s3:PutObject"],
        [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes],
    )


def allow_read_async_outputs(bucket_arn: Arn, prefix: str) -> Statement:
    """The result writer reads outputs under exactly the model's output path."""
    return _allow("ReadAsyncOutputs", ["s3:GetObject"], pulumi.Output.concat(bucket_arn, "/", prefix, "*"))


def allow_publish_async_notifications(topic_arns: Sequence[Arn]) -> Statement:
    """SageMaker publishes success and error notifications with the execution role (SageMaker Developer
    Guide, "Check prediction results": the role needs sns:Publish)."""
    return _allow("PublishAsyncNotifications", ["sns:Publish"], list(topic_arns))


def allow_async_key(key_arn: Arn) -> Statement:
    """SageMaker decrypts SSE-KMS inputs, encrypts outputs with the stack key (OutputConfig KmsKeyId) and
    publishes to the encrypted topics: GenerateDataKey and Decrypt, on the stack key only."""
    return _allow("UseStackKeyForAsync", ["kms:GenerateDataKey", "kms:Decrypt"], key_arn)
