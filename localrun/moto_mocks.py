"""Pulumi mocks that CREATE each declared resource in moto, and answer with moto's real identifiers.

`run_program(MotoMocks(...))` runs the real `__main__.py`; every custom resource it
declares is created through boto3 inside the active `moto.mock_aws()`, and the
mock returns the resource's inputs plus the outputs AWS would compute (ARNs, URLs,
names) taken from moto's answers. Pulumi registers resources in dependency order,
so a resource's inputs already carry the real identifiers of what it depends on.

Rules:
- A resource type without a creator here is an `UnsupportedResourceType` error
  naming the type — never skipped. Reads of existing resources are refused too.
- Physical names follow Pulumi's auto-naming (`<logical name>-<7 hex>`, here derived
  from the logical name so runs are reproducible) unless the program sets one.
- Inputs that change behaviour but are not emulated are listed in
  `not_emulated` (e.g. X-Ray tracing, S3 lifecycle actions); inputs that have no
  behaviour in the local run (tags, descriptions, retention) are ignored quietly.
- Where moto lacks an API, the declared setting is kept by the emulator itself
  (FunctionRecursionConfig, function log group / dead-letter config) and honoured
  there (see `lambda_runtime.py`).
- S3 validates bucket notification destinations when the configuration is put
  (the destination's policy must let S3 deliver); moto does not, so this does.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from .deliveries import S3, AccessGuard
from .lambda_runtime import FunctionExtras, LambdaRuntime
from .program import PROJECT_DIR

ACCOUNT_ID = "123456789012"  # moto's default account


class UnsupportedResourceType(RuntimeError):
    """The local run cannot create this resource type (or this use of it)."""


class DestinationValidationError(RuntimeError):
    """S3's "Unable to validate the following destination configurations"."""


def physical_name(logical_name: str, *, max_length: int = 63, lower: bool = False, suffix: str = "") -> str:
    """Pulumi-style auto-name: the logical name plus 7 hex characters (stable per logical name)."""
    digest = hashlib.sha256(logical_name.encode()).hexdigest()[:7]
    base = logical_name.lower() if lower else logical_name
    base = base[: max_length - 8 - len(suffix)]
    return f"{base}-{digest}{suffix}"


def _as_is(value: Any) -> Any:
    return value


class _Inputs:
    """Read access to one resource's inputs with errors that name the resource and the key."""

    def __init__(self, typ: str, name: str, raw: dict[str, Any]) -> None:
        self.typ, self.name, self.raw = typ, name, raw
        self.used: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        value = self.raw.get(key)
        return default if value is None else value

    def int(self, key: str, default: int | None = None) -> int | None:
        value = self.get(key)
        return default if value is None else int(value)

    def req(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise UnsupportedResourceType(
                f"{self.typ} {self.name!r}: input {key!r} is required by the local run"
            )
        return value

    def present(self, wire_names: dict[str, str], convert: Callable[[Any], Any] = _as_is) -> dict[str, Any]:
        """The set (non-empty) inputs among `wire_names`, converted, under their AWS API names."""
        return {wire: convert(self.get(key)) for key, wire in wire_names.items() if self.get(key)}

    def name_or_auto(self, key: str = "name", prefix_key: str = "namePrefix", **naming: Any) -> str:
        explicit = self.get(key)
        if explicit:
            return str(explicit)
        prefix = self.get(prefix_key) if prefix_key else None
        if prefix:
            return f"{prefix}{hashlib.sha256(self.name.encode()).hexdigest()[:26]}"[
                : naming.get("max_length", 63)
            ]
        return physical_name(self.name, **naming)


# Inputs that have no behaviour in the local run; present or not, nothing changes.
_NO_LOCAL_EFFECT = {
    "tags",
    "tagsAll",
    "description",
    "region",
    "forceDestroy",
    "skipDestroy",
    "displayName",
    "retentionInDays",
    "deletionWindowInDays",
    "alarmDescription",
    "path",
    "forceDetachPolicies",
    "maxSessionDuration",
    "expectedBucketOwner",
    "logGroupClass",
    "deletionProtectionEnabled",
    "sourceCodeHash",
    "publish",
    "architectures",
    "runtime",
    "treatMissingData",
    "datapointsToAlarm",
    "bypassPolicyLockoutSafetyCheck",
    "isEnabled",
    "rotationPeriodInDays",
    "customerMasterKeySpec",
    "keyUsage",
    "signatureVersion",
    "actionsEnabled",
    "endpointAutoConfirms",
    "confirmationTimeoutInMinutes",
    "tableClass",
    "billingMode",
    "readCapacity",
    "writeCapacity",
    "kmsDataKeyReusePeriodSeconds",
    "ephemeralStorage",
    "enableNetworkIsolation",
    "__defaults",
}


_SSE_TYPE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
_SSE_TYPE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"


class MotoMocks(pulumi_mocks.Mocks):
    """Creates each declared resource in moto (a `mock_aws()` must be active)."""

    def __init__(self, runtime: LambdaRuntime, region: str) -> None:
        self.runtime = runtime
        self.region = region
        self.account = ACCOUNT_ID
        self.guard = AccessGuard(runtime)
        # What the program declared that the local run does not emulate -> the resources declaring it.
        self.not_emulated: dict[str, list[str]] = {}
        self._lock = threading.Lock()  # Pulumi registers resources from several threads
        self._clients: dict[tuple[str, str], Any] = {}
        self._creators: dict[str, Callable[[_Inputs], tuple[str, dict[str, Any]]]] = {
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": self._kms_alias,
            "aws:kms/keyPolicy:KeyPolicy": self._kms_key_policy,
            "aws:s3/bucket:Bucket": self._bucket,
            "aws:s3/bucketV2:BucketV2": self._bucket,
            "aws:s3/bucketVersioning:BucketVersioning": self._bucket_versioning,
            "aws:s3/bucketVersioningV2:BucketVersioningV2": self._bucket_versioning,
            _SSE_TYPE: self._bucket_encryption,
            _SSE_TYPE_V2: self._bucket_encryption,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self._bucket_public_access_block,
            "aws:s3/bucketPolicy:BucketPolicy": self._bucket_policy,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": self._bucket_ownership_controls,
            "aws:s3/bucketNotification:BucketNotification": self._bucket_notification,
            "aws:s3/bucketLogging:BucketLogging": self._bucket_logging,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": self._bucket_lifecycle,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicPolicy:TopicPolicy": self._topic_policy,
            "aws:sns/topicSubscription:TopicSubscription": self._topic_subscription,
            "aws:sqs/queue:Queue": self._queue,
            "aws:sqs/queuePolicy:QueuePolicy": self._queue_policy,
            "aws:sqs/redrivePolicy:RedrivePolicy": self._queue_redrive_policy,
            "aws:cloudwatch/eventRule:EventRule": self._event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self._event_target,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._metric_alarm,
            "aws:dynamodb/table:Table": self._table,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:iam/policy:Policy": self._policy,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._role_policy_attachment,
            "aws:sagemaker/model:Model": self._sagemaker_model,
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration": self._sagemaker_endpoint_config,
            "aws:sagemaker/endpoint:Endpoint": self._sagemaker_endpoint,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/permission:Permission": self._permission,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._event_source_mapping,
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": self._event_invoke_config,
            "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": self._recursion_config,
        }

    # -- Pulumi mock interface ------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.custom is False:
            return "", {}  # component resources exist only in the Pulumi graph
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}_provider", dict(args.inputs)
        if args.resource_id:
            raise UnsupportedResourceType(
                f"{args.typ} {args.name!r}: reading an existing resource ({args.resource_id}) is not "
                "supported by the local run; declare the resource instead"
            )
        creator = self._creators.get(args.typ)
        if creator is None:
            raise UnsupportedResourceType(
                f"the local run cannot create resource type {args.typ} ({args.name!r}); "
                "add a creator for it in localrun/moto_mocks.py"
            )
        inputs = _Inputs(args.typ, args.name, dict(args.inputs))
        with self._lock:
            resource_id, computed = creator(inputs)
            for key in sorted(set(args.inputs) - inputs.used - _NO_LOCAL_EFFECT):
                self._not_emulated(inputs, f"{args.typ.rsplit(':', 1)[-1]} input {key!r}")
        outputs = {k: v for k, v in args.inputs.items() if not isinstance(v, (pulumi.Archive, pulumi.Asset))}
        outputs.update(computed)
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        # A plain dict: the mock monitor treats a tuple's second item as a list of check failures.
        invoke = args.token
        if invoke == "aws:index/getRegion:getRegion":
            return {
                "id": self.region,
                "name": self.region,
                "region": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": self.region,
            }
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self._client("sts").get_caller_identity()
            return {
                "id": identity["Account"],
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }
        if invoke == "aws:index/getPartition:getPartition":
            return {
                "id": "aws",
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
            }
        raise UnsupportedResourceType(
            f"the local run does not answer the invoke {invoke}; add it to MotoMocks.call"
        )

    # -- helpers --------------------------------------------------------------------------
    def _client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = boto3.client(service, region_name=key[1])
        return self._clients[key]

    def _not_emulated(self, inputs: _Inputs, what: str) -> None:
        self.not_emulated.setdefault(what, []).append(inputs.name)

    @staticmethod
    def _json(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    # -- KMS --------------------------------------------------------------------------------
    def _kms_key(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        kms = self._client("kms")
        params: dict[str, Any] = {"Description": i.get("description", "")}
        if i.get("policy"):
            params["Policy"] = self._json(i.get("policy"))
        key = kms.create_key(**params)["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        if i.get("multiRegion"):
            self._not_emulated(i, "multiRegion")
        return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}

    def _kms_alias(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = (
            i.get("name")
            or f"{i.get('namePrefix', 'alias/')}{hashlib.sha256(i.name.encode()).hexdigest()[:10]}"
        )
        kms = self._client("kms")
        kms.create_alias(AliasName=name, TargetKeyId=i.req("targetKeyId"))
        key = kms.describe_key(KeyId=name)["KeyMetadata"]
        return name, {
            "name": name,
            "arn": f"arn:aws:kms:{self.region}:{self.account}:{name}",
            "targetKeyArn": key["Arn"],
        }

    def _kms_key_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        key_id = i.req("keyId")
        self._client("kms").put_key_policy(
            KeyId=key_id, PolicyName="default", Policy=self._json(i.req("policy"))
        )
        return key_id, {}

    # -- S3 -----------------------------------------------------------------------------------
    def _bucket(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto("bucket", "bucketPrefix", lower=True)
        s3 = self._client("s3")
        params: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if i.get("objectLockEnabled"):
            params["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**params)
        if (i.get("versioning") or {}).get("enabled"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        inline_sse = (i.get("serverSideEncryptionConfiguration") or {}).get("rule")
        if inline_sse:
            self._put_encryption(name, [inline_sse])
        if i.get("policy"):
            s3.put_bucket_policy(Bucket=name, Policy=self._json(i.get("policy")))
        return name, {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "region": self.region,
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
        }

    def _bucket_versioning(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        status = (i.req("versioningConfiguration")).get("status", "Enabled")
        self._client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        if i.get("mfa"):
            self._not_emulated(i, "MFA delete")
        return bucket, {}

    def _put_encryption(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        wire_rules = []
        for rule in rules:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "AES256")}
            if default.get("kmsMasterKeyId"):
                by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            wire_rules.append(
                {
                    "ApplyServerSideEncryptionByDefault": by_default,
                    "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled", False)),
                }
            )
        self._client("s3").put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={"Rules": wire_rules},
        )

    def _bucket_encryption(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        self._put_encryption(bucket, i.req("rules"))
        return bucket, {}

    def _bucket_public_access_block(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        self._client("s3").put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": bool(i.get("blockPublicAcls", False)),
                "IgnorePublicAcls": bool(i.get("ignorePublicAcls", False)),
                "BlockPublicPolicy": bool(i.get("blockPublicPolicy", False)),
                "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets", False)),
            },
        )
        return bucket, {}

    def _bucket_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        self._client("s3").put_bucket_policy(Bucket=bucket, Policy=self._json(i.req("policy")))
        return bucket, {}

    def _bucket_ownership_controls(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        rule = i.req("rule")
        self._client("s3").put_bucket_ownership_controls(
            Bucket=bucket,
            OwnershipControls={"Rules": [{"ObjectOwnership": rule["objectOwnership"]}]},
        )
        return bucket, {}

    def _bucket_logging(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        """moto checks, as S3 does, that the target exists in the region and its policy admits the logging
        service; it delivers no access logs (noted as not emulated)."""
        bucket = i.req("bucket")
        enabled = {"TargetBucket": i.req("targetBucket"), "TargetPrefix": i.get("targetPrefix", "")}
        self._client("s3").put_bucket_logging(
            Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": enabled}
        )
        self._not_emulated(i, "S3 server access log delivery")
        return bucket, {}

    def _bucket_lifecycle(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        """Stored in moto (its rules are validated there); moto never runs lifecycle actions."""
        bucket = i.req("bucket")
        self._client("s3").put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in i.req("rules")]},
        )
        self._not_emulated(i, "S3 lifecycle actions (expiring versions, aborting uploads)")
        return bucket, {}

    def _bucket_notification(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        bucket_arn = f"arn:aws:s3:::{bucket}"

        def with_filter(entry: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
            rules = []
            if entry.get("filterPrefix"):
                rules.append({"Name": "prefix", "Value": entry["filterPrefix"]})
            if entry.get("filterSuffix"):
                rules.append({"Name": "suffix", "Value": entry["filterSuffix"]})
            if entry.get("id"):
                target["Id"] = entry["id"]
            target["Events"] = entry["events"]
            if rules:
                target["Filter"] = {"Key": {"FilterRules": rules}}
            return target

        topics = [with_filter(t, {"TopicArn": t["topicArn"]}) for t in i.get("topics", [])]
        queues = [with_filter(q, {"QueueArn": q["queueArn"]}) for q in i.get("queues", [])]
        functions = [
            with_filter(f, {"LambdaFunctionArn": f["lambdaFunctionArn"]})
            for f in i.get("lambdaFunctions", [])
        ]
        # S3 checks each destination when the configuration is put; the error lists the failures.
        failures = (
            [
                f"{t['TopicArn']}: {reason}"
                for t in topics
                if (reason := self.guard.topic_publish(S3, t["TopicArn"], bucket_arn))
            ]
            + [
                f"{q['QueueArn']}: {reason}"
                for q in queues
                if (reason := self.guard.queue_send(S3, q["QueueArn"], bucket_arn))
            ]
            + [
                f"{f['LambdaFunctionArn']}: {reason}"
                for f in functions
                if (reason := self.guard.lambda_invoke(S3, f["LambdaFunctionArn"], bucket_arn))
            ]
        )
        if failures:
            raise DestinationValidationError(
                f"PutBucketNotificationConfiguration on {bucket}: Unable to validate the following "
                f"destination configurations: {'; '.join(failures)}"
            )
        configuration: dict[str, Any] = {
            "TopicConfigurations": topics,
            "QueueConfigurations": queues,
            "LambdaFunctionConfigurations": functions,
        }
        if i.get("eventbridge"):
            configuration["EventBridgeConfiguration"] = {}
        self._client("s3").put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration=configuration,
        )
        return bucket, {}

    # -- SNS ------------------------------------------------------------------------------------
    def _topic(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        fifo = bool(i.get("fifoTopic"))
        name = i.name_or_auto(max_length=256, suffix=".fifo" if fifo else "")
        attributes = i.present(
            {
                "kmsMasterKeyId": "KmsMasterKeyId",
                "policy": "Policy",
                "deliveryPolicy": "DeliveryPolicy",
                "displayName": "DisplayName",
            },
            self._json,
        )
        if fifo:
            attributes["FifoTopic"] = "true"
            if i.get("contentBasedDeduplication"):
                attributes["ContentBasedDeduplication"] = "true"
        if i.get("tracingConfig"):
            self._not_emulated(i, "tracingConfig (X-Ray)")
        arn = self._client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return arn, {"arn": arn, "name": name, "owner": self.account}

    def _topic_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        arn = i.req("arn")
        self._client("sns").set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=self._json(i.req("policy"))
        )
        return arn, {"owner": self.account}

    def _topic_subscription(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        attributes = i.present(
            {
                "filterPolicy": "FilterPolicy",
                "filterPolicyScope": "FilterPolicyScope",
                "redrivePolicy": "RedrivePolicy",
                "deliveryPolicy": "DeliveryPolicy",
            },
            self._json,
        )
        if i.get("rawMessageDelivery"):
            attributes["RawMessageDelivery"] = "true"
        if i.get("subscriptionRoleArn"):
            attributes["SubscriptionRoleArn"] = i.get("subscriptionRoleArn")
        arn = self._client("sns").subscribe(
            TopicArn=i.req("topic"),
            Protocol=i.req("protocol"),
            Endpoint=i.req("endpoint"),
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"arn": arn, "ownerId": self.account, "pendingConfirmation": False}

    # -- SQS ------------------------------------------------------------------------------------
    def _queue(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        fifo = bool(i.get("fifoQueue"))
        name = i.name_or_auto(max_length=80, suffix=".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        mapping = {
            "visibilityTimeoutSeconds": "VisibilityTimeout",
            "messageRetentionSeconds": "MessageRetentionPeriod",
            "maxMessageSize": "MaximumMessageSize",
            "delaySeconds": "DelaySeconds",
            "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
            "kmsMasterKeyId": "KmsMasterKeyId",
            "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
        }
        for key, attribute in mapping.items():
            value = i.get(key)
            if value is not None:
                attributes[attribute] = str(int(value)) if isinstance(value, float) else str(value)
        attributes |= i.present(
            {
                "redrivePolicy": "RedrivePolicy",
                "redriveAllowPolicy": "RedriveAllowPolicy",
                "policy": "Policy",
            },
            self._json,
        )
        if i.get("sqsManagedSseEnabled"):
            attributes["SqsManagedSseEnabled"] = "true"
        if fifo:
            attributes["FifoQueue"] = "true"
            if i.get("contentBasedDeduplication"):
                attributes["ContentBasedDeduplication"] = "true"
        sqs = self._client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"arn": arn, "url": url, "name": name}

    def _queue_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        url = i.req("queueUrl")
        self._client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": self._json(i.req("policy"))}
        )
        return url, {}

    def _queue_redrive_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        url = i.req("queueUrl")
        self._client("sqs").set_queue_attributes(
            QueueUrl=url,
            Attributes={"RedrivePolicy": self._json(i.req("redrivePolicy"))},
        )
        return url, {}

    # -- EventBridge ------------------------------------------------------------------------------
    def _event_rule(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=64)
        params: dict[str, Any] = {"Name": name, "EventBusName": i.get("eventBusName", "default")}
        if i.get("eventPattern"):
            params["EventPattern"] = self._json(i.get("eventPattern"))
        if i.get("scheduleExpression"):
            params["ScheduleExpression"] = i.get("scheduleExpression")
            self._not_emulated(i, "scheduleExpression (scheduled rules never fire locally)")
        state = i.get("state") or ("DISABLED" if i.get("isEnabled") is False else "ENABLED")
        params["State"] = state
        if i.get("description"):
            params["Description"] = i.get("description")
        if i.get("roleArn"):
            params["RoleArn"] = i.get("roleArn")
        arn = self._client("events").put_rule(**params)["RuleArn"]
        return name, {"arn": arn, "name": name}

    def _event_target(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        rule = i.req("rule")
        target_id = i.get("targetId") or physical_name(i.name, max_length=64)
        target: dict[str, Any] = {"Id": target_id, "Arn": i.req("arn")}
        if i.get("input") is not None:
            target["Input"] = i.get("input")
        if i.get("inputPath") is not None:
            target["InputPath"] = i.get("inputPath")
        transformer = i.get("inputTransformer")
        if transformer:
            target["InputTransformer"] = {
                "InputPathsMap": transformer.get("inputPaths", {}),
                "InputTemplate": transformer["inputTemplate"],
            }
        retry = i.get("retryPolicy")
        if retry:
            target["RetryPolicy"] = {
                k: int(retry[src])
                for src, k in (
                    ("maximumRetryAttempts", "MaximumRetryAttempts"),
                    ("maximumEventAgeInSeconds", "MaximumEventAgeInSeconds"),
                )
                if retry.get(src) is not None
            }
        if i.get("deadLetterConfig"):
            target["DeadLetterConfig"] = {"Arn": i.get("deadLetterConfig")["arn"]}
        if i.get("roleArn"):
            target["RoleArn"] = i.get("roleArn")
        if i.get("sqsTarget"):
            target["SqsParameters"] = {"MessageGroupId": i.get("sqsTarget")["messageGroupId"]}
        self._client("events").put_targets(
            Rule=rule,
            EventBusName=i.get("eventBusName", "default"),
            Targets=[target],
        )
        return f"{rule}-{target_id}", {"targetId": target_id}

    # -- logs and alarms ----------------------------------------------------------------------------
    def _log_group(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=512)
        logs = self._client("logs")
        params: dict[str, Any] = {"logGroupName": name}
        if i.get("kmsKeyId"):
            params["kmsKeyId"] = i.get("kmsKeyId")
        logs.create_log_group(**params)
        if i.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(i.get("retentionInDays")))
        arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}"
        return name, {"arn": arn, "name": name}

    def _metric_alarm(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=255)
        params: dict[str, Any] = {
            "AlarmName": name,
            "ComparisonOperator": i.req("comparisonOperator"),
            "EvaluationPeriods": i.int("evaluationPeriods"),
            "AlarmActions": i.get("alarmActions", []),
            "OKActions": i.get("okActions", []),
            "InsufficientDataActions": i.get("insufficientDataActions", []),
            "TreatMissingData": i.get("treatMissingData", "missing"),
        }
        if i.get("threshold") is not None:
            params["Threshold"] = float(i.get("threshold"))
        statistic = (
            {"ExtendedStatistic": i.get("extendedStatistic")}
            if i.get("extendedStatistic")
            else {"Statistic": i.get("statistic", "Sum")}
        )
        if i.get("metricQueries"):
            self._not_emulated(i, "metricQueries (metric math alarms are created without their queries)")
        else:
            params.update(
                {
                    "MetricName": i.req("metricName"),
                    "Namespace": i.req("namespace"),
                    "Period": i.int("period"),
                    **statistic,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
                }
            )
        if i.get("datapointsToAlarm"):
            params["DatapointsToAlarm"] = i.int("datapointsToAlarm")
        cloudwatch = self._client("cloudwatch")
        cloudwatch.put_metric_alarm(**params)
        self._not_emulated(i, "alarm evaluation and actions (moto stores alarms but never evaluates them)")
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        return name, {"arn": arn, "name": name}

    # -- DynamoDB -------------------------------------------------------------------------------------
    def _table(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=255)
        dynamodb = self._client("dynamodb")
        key_schema = [{"AttributeName": i.req("hashKey"), "KeyType": "HASH"}]
        if i.get("rangeKey"):
            key_schema.append({"AttributeName": i.get("rangeKey"), "KeyType": "RANGE"})
        params: dict[str, Any] = {
            "TableName": name,
            "KeySchema": key_schema,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i.req("attributes")
            ],
            "DeletionProtectionEnabled": bool(i.get("deletionProtectionEnabled", False)),
        }
        if i.get("billingMode", "PROVISIONED") == "PAY_PER_REQUEST":
            params["BillingMode"] = "PAY_PER_REQUEST"
        else:
            params["ProvisionedThroughput"] = {
                "ReadCapacityUnits": i.int("readCapacity", 1),
                "WriteCapacityUnits": i.int("writeCapacity", 1),
            }
        sse = i.get("serverSideEncryption")
        if sse and sse.get("enabled"):
            params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
            if sse.get("kmsKeyArn"):
                params["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
        if i.get("streamEnabled"):
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": i.get("streamViewType")}
        for index_key in ("globalSecondaryIndexes", "localSecondaryIndexes"):
            if i.get(index_key):
                self._not_emulated(i, f"{index_key}")
        table = dynamodb.create_table(**params)["TableDescription"]
        if (i.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        ttl = i.get("ttl")
        if ttl and ttl.get("enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        return name, {"arn": table["TableArn"], "name": name, "streamArn": table.get("LatestStreamArn", "")}

    # -- IAM --------------------------------------------------------------------------------------------
    def _role(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=64)
        iam = self._client("iam")
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=self._json(i.req("assumeRolePolicy")),
            Path=i.get("path", "/"),
        )["Role"]
        for policy in i.get("inlinePolicies", []) or []:
            if policy.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=policy["name"], PolicyDocument=policy["policy"])
        for policy_arn in i.get("managedPolicyArns", []) or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        if i.get("permissionsBoundary"):
            self._not_emulated(i, "permissionsBoundary")
        return name, {
            "arn": role["Arn"],
            "name": name,
            "uniqueId": role["RoleId"],
            "createDate": str(role["CreateDate"]),
        }

    def _role_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        role = i.req("role")
        name = i.name_or_auto(max_length=128)
        self._client("iam").put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=self._json(i.req("policy"))
        )
        return f"{role}:{name}", {"name": name}

    def _policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=128)
        policy = self._client("iam").create_policy(
            PolicyName=name,
            PolicyDocument=self._json(i.req("policy")),
            Path=i.get("path", "/"),
        )["Policy"]
        return policy["Arn"], {"arn": policy["Arn"], "name": name, "policyId": policy["PolicyId"]}

    def _role_policy_attachment(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        role, policy_arn = i.req("role"), i.req("policyArn")
        try:
            self._client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
        except self._client("iam").exceptions.NoSuchEntityException as err:
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: policy {policy_arn} does not exist in moto (AWS-managed policies "
                "are not loaded by the local run; grant what the role needs with a RolePolicy)"
            ) from err
        return f"{role}-{physical_name(i.name)}", {}

    # -- SageMaker ------------------------------------------------------------------------------------
    def _sagemaker_model(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=63)
        params: dict[str, Any] = {"ModelName": name, "ExecutionRoleArn": i.req("executionRoleArn")}
        container = i.get("primaryContainer")
        if container:
            params["PrimaryContainer"] = _sagemaker_container(container)
        elif i.get("containers"):
            params["Containers"] = [_sagemaker_container(c) for c in i.get("containers")]
        arn = self._client("sagemaker").create_model(**params)["ModelArn"]
        return name, {"arn": arn, "name": name}

    def _sagemaker_endpoint_config(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=63)
        variants = []
        for variant in i.req("productionVariants"):
            wire: dict[str, Any] = {
                "VariantName": variant.get("variantName") or "AllTraffic",
                "ModelName": variant["modelName"],
            }
            serverless = variant.get("serverlessConfig")
            if serverless:
                wire["ServerlessConfig"] = {
                    "MemorySizeInMB": int(serverless["memorySizeInMb"]),
                    "MaxConcurrency": int(serverless["maxConcurrency"]),
                }
            else:
                wire["InitialInstanceCount"] = int(variant.get("initialInstanceCount", 1))
                wire["InstanceType"] = variant.get("instanceType")
                wire["InitialVariantWeight"] = float(variant.get("initialVariantWeight", 1.0))
            variants.append(wire)
        params: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants}
        if i.get("kmsKeyArn"):
            params["KmsKeyId"] = i.get("kmsKeyArn")
        for unsupported in ("asyncInferenceConfig", "dataCaptureConfig", "shadowProductionVariants"):
            if i.get(unsupported):
                self._not_emulated(i, unsupported)
        arn = self._client("sagemaker").create_endpoint_config(**params)["EndpointConfigArn"]
        return name, {"arn": arn, "name": name}

    def _sagemaker_endpoint(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=63)
        arn = self._client("sagemaker").create_endpoint(
            EndpointName=name,
            EndpointConfigName=i.req("endpointConfigName"),
        )["EndpointArn"]
        return name, {"arn": arn, "name": name}

    # -- Lambda -----------------------------------------------------------------------------------------
    def _function(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=64)
        code = i.get("code")
        if code is None:
            raise UnsupportedResourceType(
                f"{i.typ} {name!r}: only zip code from a Pulumi archive (`code=`) can run locally "
                "(S3 or image code cannot be imported in-process)"
            )
        params: dict[str, Any] = {
            "FunctionName": name,
            "Role": i.req("role"),
            "Handler": i.req("handler"),
            "Runtime": i.get("runtime", "python3.13"),
            "Code": {"ZipFile": archive_to_zip(code)},
            "MemorySize": i.int("memorySize", 128),
            "Timeout": i.int("timeout", 3),
            "Environment": {
                "Variables": {
                    k: str(v) for k, v in ((i.get("environment") or {}).get("variables") or {}).items()
                }
            },
            "Architectures": i.get("architectures") or ["x86_64"],
            "TracingConfig": {"Mode": (i.get("tracingConfig") or {}).get("mode", "PassThrough")},
        }
        if i.get("kmsKeyArn"):
            params["KMSKeyArn"] = i.get("kmsKeyArn")
        if params["TracingConfig"]["Mode"] == "Active":
            self._not_emulated(i, "X-Ray active tracing (no traces are recorded locally)")
        if i.get("vpcConfig"):
            self._not_emulated(i, "vpcConfig")
        function = self._client("lambda").create_function(**params)
        reserved = i.int("reservedConcurrentExecutions")
        if reserved is not None and reserved >= 0:
            self._client("lambda").put_function_concurrency(
                FunctionName=name,
                ReservedConcurrentExecutions=reserved,
            )
        logging_config = i.get("loggingConfig") or {}
        dead_letter = i.get("deadLetterConfig") or {}
        self.runtime.declare(
            name,
            FunctionExtras(
                log_group=logging_config.get("logGroup"),
                log_format=logging_config.get("logFormat"),
                application_log_level=logging_config.get("applicationLogLevel"),
                dead_letter_target_arn=dead_letter.get("targetArn"),
            ),
        )
        self.runtime.declared_variable_names.update(params["Environment"]["Variables"])
        arn = function["FunctionArn"]
        return name, {
            "arn": arn,
            "name": name,
            "qualifiedArn": f"{arn}:$LATEST",
            "version": "$LATEST",
            "invokeArn": (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            ),
            "codeSha256": function["CodeSha256"],
            "sourceCodeSize": function["CodeSize"],
        }

    def _permission(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        statement_id = i.get("statementId") or (
            f"{i.get('statementIdPrefix', '')}{hashlib.sha256(i.name.encode()).hexdigest()[:26]}"
        )
        params: dict[str, Any] = {
            "FunctionName": i.req("function"),
            "StatementId": statement_id,
            "Action": i.req("action"),
            "Principal": i.req("principal"),
        }
        params |= i.present(
            {
                "sourceArn": "SourceArn",
                "sourceAccount": "SourceAccount",
                "qualifier": "Qualifier",
                "eventSourceToken": "EventSourceToken",
                "principalOrgId": "PrincipalOrgID",
                "functionUrlAuthType": "FunctionUrlAuthType",
            }
        )
        self._client("lambda").add_permission(**params)
        return statement_id, {"statementId": statement_id}

    def _event_source_mapping(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        source_arn = i.req("eventSourceArn")
        if source_arn.split(":")[2] != "sqs":
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: only SQS event sources are emulated ({source_arn})"
            )
        if i.get("filterCriteria"):
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: filterCriteria is not emulated by the SQS poller"
            )
        params: dict[str, Any] = {
            "EventSourceArn": source_arn,
            "FunctionName": i.req("functionName"),
            "BatchSize": i.int("batchSize", 10),
            "Enabled": bool(i.get("enabled", True)),
            "FunctionResponseTypes": i.get("functionResponseTypes", []),
        }
        if i.get("maximumBatchingWindowInSeconds") is not None:
            params["MaximumBatchingWindowInSeconds"] = i.int("maximumBatchingWindowInSeconds")
        if i.get("scalingConfig"):
            params["ScalingConfig"] = {
                "MaximumConcurrency": int(i.get("scalingConfig")["maximumConcurrency"])
            }
        # The poller (sqs_poller.py) takes over delivery from moto when the mapping is created.
        mapping = self._client("lambda").create_event_source_mapping(**params)
        return mapping["UUID"], {
            "uuid": mapping["UUID"],
            "functionArn": mapping["FunctionArn"],
            "state": mapping.get("State", "Enabled"),
            "arn": mapping.get("EventSourceMappingArn", ""),
        }

    def _event_invoke_config(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        function_name = i.req("functionName")
        params: dict[str, Any] = {"FunctionName": function_name}
        if i.get("qualifier"):
            params["Qualifier"] = i.get("qualifier")
        if i.get("maximumRetryAttempts") is not None:
            params["MaximumRetryAttempts"] = i.int("maximumRetryAttempts")
        if i.get("maximumEventAgeInSeconds") is not None:
            params["MaximumEventAgeInSeconds"] = i.int("maximumEventAgeInSeconds")
        destinations = i.get("destinationConfig") or {}
        wire: dict[str, Any] = {}
        for key, wire_key in (("onFailure", "OnFailure"), ("onSuccess", "OnSuccess")):
            if destinations.get(key):
                wire[wire_key] = {"Destination": destinations[key]["destination"]}
        if wire:
            params["DestinationConfig"] = wire
        self._client("lambda").put_function_event_invoke_config(**params)
        return function_name, {}

    def _recursion_config(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        # moto has no PutFunctionRecursionConfig: the runtime keeps and honours the setting.
        function_name = i.req("functionName")
        setting = i.req("recursiveLoop")
        if setting not in ("Allow", "Terminate"):
            raise UnsupportedResourceType(f"{i.typ} {i.name!r}: recursiveLoop must be Allow or Terminate")
        self.runtime.function(function_name)  # the function must exist, as in AWS
        extras = self.runtime.extras.setdefault(function_name, FunctionExtras())
        extras.recursive_loop = setting
        return function_name, {}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle rule's Pulumi inputs under their S3 API names (the parts the program declares)."""
    wire: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"]}
    wire["Filter"] = {"Prefix": (rule.get("filter") or {}).get("prefix", "")}
    if rule.get("noncurrentVersionExpiration"):
        wire["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["noncurrentVersionExpiration"]["noncurrentDays"])
        }
    if rule.get("abortIncompleteMultipartUpload"):
        wire["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])
        }
    expiration = rule.get("expiration") or {}
    if expiration.get("days"):
        wire["Expiration"] = {"Days": int(expiration["days"])}
    elif expiration.get("expiredObjectDeleteMarker"):
        wire["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    return wire


def _sagemaker_container(container: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for key, wire_key in (
        ("image", "Image"),
        ("modelDataUrl", "ModelDataUrl"),
        ("mode", "Mode"),
        ("containerHostname", "ContainerHostname"),
    ):
        if container.get(key):
            wire[wire_key] = container[key]
    if container.get("environment"):
        wire["Environment"] = {k: str(v) for k, v in container["environment"].items()}
    return wire


def archive_to_zip(archive: Any) -> bytes:
    """The zip Pulumi would upload for a Lambda `code` archive (AssetArchive/FileArchive/assets)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
        _add_to_zip(zip_file, "", archive)
    return buffer.getvalue()


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_DIR / candidate


def _add_to_zip(zip_file: zipfile.ZipFile, prefix: str, item: Any) -> None:
    def member(name: str) -> str:
        return f"{prefix}/{name}" if prefix else name

    if isinstance(item, pulumi.AssetArchive):
        for name, child in item.assets.items():
            _add_to_zip(zip_file, member(name), child)
    elif isinstance(item, pulumi.FileArchive):
        source = _resolve(item.path)
        if source.is_dir():
            for file in sorted(p for p in source.rglob("*") if p.is_file()):
                zip_file.write(file, member(file.relative_to(source).as_posix()))
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as inner:
                for info in inner.infolist():
                    zip_file.writestr(member(info.filename), inner.read(info))
        else:
            raise UnsupportedResourceType(f"FileArchive {item.path}: not a directory or a zip file")
    elif isinstance(item, pulumi.FileAsset):
        zip_file.write(_resolve(item.path), prefix)
    elif isinstance(item, pulumi.StringAsset):
        zip_file.writestr(prefix, item.text)
    else:
        raise UnsupportedResourceType(
            f"Lambda code of type {type(item).__name__} cannot be packaged by the local run "
            "(use AssetArchive / FileArchive / FileAsset / StringAsset)"
        )
