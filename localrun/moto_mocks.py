"""Pulumi mocks that CREATE each declared resource in moto, and answer with moto's real identifiers.

`run_program(MotoMocks(...))` runs the real `__main__.py`; every custom resource it
declares is created through boto3 inside the active `moto.mock_aws()`, and the
mock returns the resource's inputs plus the outputs AWS would compute (ARNs, URLs,
names) taken from moto's answers. Pulumi registers resources in dependency order,
so a resource's inputs already carry the real identifiers of what it depends on.

Rules:
- `CREATORS` holds a creator for exactly the resource types the program declares (a test
  checks it against the dev and production-shaped stacks); any other type is an
  `UnsupportedResourceType` error naming the type — never skipped. Reads of existing
  resources are refused too.
- Each creator handles the inputs the program sets. Any other input that is set, top-level
  or inside a nested block a creator reads field by field, is listed in `not_emulated`, as
  are the declared features the local run does not emulate (e.g. X-Ray tracing, S3
  lifecycle actions); only the few inputs without behaviour here (descriptions,
  force-destroy, the key's deletion window) are ignored quietly.
- Physical names follow Pulumi's auto-naming (`<logical name>-<7 hex>`, here derived
  from the logical name so runs are reproducible) unless the program sets one.
- Where moto lacks an API, the declared setting is kept by the emulator itself
  (FunctionRecursionConfig, function log group) and honoured there (see `lambda_runtime.py`).
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


def physical_name(logical_name: str, *, max_length: int = 63, lower: bool = False) -> str:
    """Pulumi-style auto-name: the logical name plus 7 hex characters (stable per logical name)."""
    digest = hashlib.sha256(logical_name.encode()).hexdigest()[:7]
    base = logical_name.lower() if lower else logical_name
    return f"{base[: max_length - 8]}-{digest}"


def _as_is(value: Any) -> Any:
    return value


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Inputs:
    """Read access to one resource's inputs with errors that name the resource and the key.

    Records which inputs a creator read (`used`) and the set fields of nested blocks it did not
    read (`unread`), so everything else the program sets can be reported as not emulated.
    """

    def __init__(self, typ: str, name: str, raw: dict[str, Any]) -> None:
        self.typ, self.name, self.raw = typ, name, raw
        self.used: set[str] = set()
        self.unread: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        value = self.raw.get(key)
        return default if value is None else value

    def int(self, key: str) -> int | None:
        value = self.get(key)
        return None if value is None else int(value)

    def req(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise UnsupportedResourceType(
                f"{self.typ} {self.name!r}: input {key!r} is required by the local run"
            )
        return value

    def fields(self, path: str, block: dict[str, Any] | None, *read: str) -> dict[str, Any]:
        """A nested block (`path` names it in reports) of which the creator reads only `read`."""
        block = block or {}
        self.unread.update(
            f"{path}.{key}" for key, value in block.items() if key not in read and value is not None
        )
        return block

    def block(self, key: str, *read: str) -> dict[str, Any]:
        return self.fields(key, self.get(key), *read)

    def present(self, wire_names: dict[str, str], convert: Callable[[Any], Any] = _as_is) -> dict[str, Any]:
        """The set inputs among `wire_names`, converted, under their AWS API names."""
        return {wire: convert(self.get(key)) for key, wire in wire_names.items() if self.get(key) is not None}

    def name_or_auto(self, key: str = "name", **naming: Any) -> str:
        return str(self.get(key) or physical_name(self.name, **naming))


# Inputs the program sets that have no behaviour in the local run; nothing else is ignored quietly.
_NO_LOCAL_EFFECT = {"description", "alarmDescription", "forceDestroy", "deletionWindowInDays"}


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
        self._clients: dict[str, Any] = {}

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
        creator = CREATORS.get(args.typ)
        if creator is None:
            raise UnsupportedResourceType(
                f"the local run cannot create resource type {args.typ} ({args.name!r}); "
                "add a creator for it in localrun/moto_mocks.py"
            )
        inputs = _Inputs(args.typ, args.name, dict(args.inputs))
        with self._lock:
            resource_id, computed = creator(self, inputs)
            unused = (set(args.inputs) - inputs.used - _NO_LOCAL_EFFECT) | inputs.unread
            for key in sorted(unused):
                self._not_emulated(inputs, f"{args.typ.rsplit(':', 1)[-1]} input {key!r}")
        outputs = {k: v for k, v in args.inputs.items() if not isinstance(v, (pulumi.Archive, pulumi.Asset))}
        outputs.update(computed)
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        # A plain dict: the mock monitor treats a tuple's second item as a list of check failures.
        invoke = args.token
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self._client("sts").get_caller_identity()
            return {
                "id": identity["Account"],
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }
        raise UnsupportedResourceType(
            f"the local run does not answer the invoke {invoke}; add it to MotoMocks.call"
        )

    # -- helpers --------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    def _not_emulated(self, inputs: _Inputs, what: str) -> None:
        self.not_emulated.setdefault(what, []).append(inputs.name)

    # -- KMS --------------------------------------------------------------------------------
    def _kms_key(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        kms = self._client("kms")
        key = kms.create_key(Description=i.get("description", ""))["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}

    def _kms_alias(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.req("name")
        self._client("kms").create_alias(AliasName=name, TargetKeyId=i.req("targetKeyId"))
        return name, {"name": name, "arn": f"arn:aws:kms:{self.region}:{self.account}:{name}"}

    def _kms_key_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        key_id = i.req("keyId")
        self._client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=_json(i.req("policy")))
        return key_id, {}

    # -- S3 -----------------------------------------------------------------------------------
    def _bucket(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto("bucket", lower=True)
        params: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self._client("s3").create_bucket(**params)
        return name, {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "region": self.region,
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
        }

    def _bucket_versioning(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        status = i.block("versioningConfiguration", "status")["status"]
        self._client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        return bucket, {}

    def _bucket_encryption(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        rules = []
        for index, rule in enumerate(i.req("rules")):
            path = f"rules[{index}]"
            i.fields(path, rule, "applyServerSideEncryptionByDefault", "bucketKeyEnabled")
            default = i.fields(
                f"{path}.applyServerSideEncryptionByDefault",
                rule["applyServerSideEncryptionByDefault"],
                "sseAlgorithm",
                "kmsMasterKeyId",
            )
            by_default = {"SSEAlgorithm": default["sseAlgorithm"]}
            if default.get("kmsMasterKeyId"):
                by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            rules.append(
                {
                    "ApplyServerSideEncryptionByDefault": by_default,
                    "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled", False)),
                }
            )
        self._client("s3").put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules}
        )
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
        self._client("s3").put_bucket_policy(Bucket=bucket, Policy=_json(i.req("policy")))
        return bucket, {}

    def _bucket_logging(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        """moto checks, as S3 does, that the target exists in the region and its policy admits the logging
        service; it delivers no access logs (noted as not emulated)."""
        bucket = i.req("bucket")
        enabled = {"TargetBucket": i.req("targetBucket"), "TargetPrefix": i.get("targetPrefix", "")}
        self._client("s3").put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": enabled})
        self._not_emulated(i, "S3 server access log delivery")
        return bucket, {}

    def _bucket_lifecycle(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        """Stored in moto (its rules are validated there); moto never runs lifecycle actions."""
        bucket = i.req("bucket")
        rules = [_lifecycle_rule(i, f"rules[{n}]", rule) for n, rule in enumerate(i.req("rules"))]
        self._client("s3").put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
        self._not_emulated(i, "S3 lifecycle actions (expiring versions, aborting uploads)")
        return bucket, {}

    def _bucket_notification(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        bucket = i.req("bucket")
        bucket_arn = f"arn:aws:s3:::{bucket}"

        def destinations(key: str, arn_key: str, wire_key: str) -> list[dict[str, Any]]:
            configurations = []
            for index, entry in enumerate(i.get(key, [])):
                i.fields(f"{key}[{index}]", entry, arn_key, "id", "events", "filterPrefix", "filterSuffix")
                target: dict[str, Any] = {
                    wire_key: entry[arn_key],
                    "Id": entry["id"],
                    "Events": entry["events"],
                }
                rules = [
                    {"Name": name, "Value": entry[field]}
                    for name, field in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
                    if entry.get(field)
                ]
                if rules:
                    target["Filter"] = {"Key": {"FilterRules": rules}}
                configurations.append(target)
            return configurations

        topics = destinations("topics", "topicArn", "TopicArn")
        queues = destinations("queues", "queueArn", "QueueArn")
        functions = destinations("lambdaFunctions", "lambdaFunctionArn", "LambdaFunctionArn")
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
        name = i.name_or_auto(max_length=256)
        attributes = i.present({"kmsMasterKeyId": "KmsMasterKeyId"})
        arn = self._client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return arn, {"arn": arn, "name": name, "owner": self.account}

    def _topic_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        arn = i.req("arn")
        self._client("sns").set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=_json(i.req("policy"))
        )
        return arn, {"owner": self.account}

    def _topic_subscription(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        attributes = i.present(
            {
                "filterPolicy": "FilterPolicy",
                "filterPolicyScope": "FilterPolicyScope",
                "redrivePolicy": "RedrivePolicy",
            },
            _json,
        )
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
        name = i.name_or_auto(max_length=80)
        attributes = i.present(
            {
                "visibilityTimeoutSeconds": "VisibilityTimeout",
                "messageRetentionSeconds": "MessageRetentionPeriod",
            },
            lambda seconds: str(int(seconds)),
        )
        attributes |= i.present({"kmsMasterKeyId": "KmsMasterKeyId"})
        attributes |= i.present({"redrivePolicy": "RedrivePolicy"}, _json)
        sqs = self._client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"arn": arn, "url": url, "name": name}

    def _queue_policy(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        url = i.req("queueUrl")
        self._client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": _json(i.req("policy"))})
        return url, {}

    # -- EventBridge ------------------------------------------------------------------------------
    def _event_rule(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=64)
        params: dict[str, Any] = {
            "Name": name,
            "EventPattern": _json(i.req("eventPattern")),
            "State": i.get("state", "ENABLED"),
            **i.present({"description": "Description"}),
        }
        arn = self._client("events").put_rule(**params)["RuleArn"]
        return name, {"arn": arn, "name": name}

    def _event_target(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        rule = i.req("rule")
        target_id = physical_name(i.name, max_length=64)
        target: dict[str, Any] = {"Id": target_id, "Arn": i.req("arn")}
        transformer = i.block("inputTransformer", "inputPaths", "inputTemplate")
        if transformer:
            target["InputTransformer"] = {
                "InputPathsMap": transformer.get("inputPaths", {}),
                "InputTemplate": transformer["inputTemplate"],
            }
        retry = i.block("retryPolicy", "maximumRetryAttempts", "maximumEventAgeInSeconds")
        if retry:
            target["RetryPolicy"] = {
                "MaximumRetryAttempts": int(retry["maximumRetryAttempts"]),
                "MaximumEventAgeInSeconds": int(retry["maximumEventAgeInSeconds"]),
            }
        dead_letter = i.block("deadLetterConfig", "arn")
        if dead_letter:
            target["DeadLetterConfig"] = {"Arn": dead_letter["arn"]}
        self._client("events").put_targets(Rule=rule, Targets=[target])
        return f"{rule}-{target_id}", {"targetId": target_id}

    # -- logs and alarms ----------------------------------------------------------------------------
    def _log_group(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=512)
        logs = self._client("logs")
        logs.create_log_group(logGroupName=name, **i.present({"kmsKeyId": "kmsKeyId"}))
        if i.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(i.get("retentionInDays")))
        arn = f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}"
        return name, {"arn": arn, "name": name}

    def _metric_alarm(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=255)
        statistic = (
            {"ExtendedStatistic": i.get("extendedStatistic")}
            if i.get("extendedStatistic")
            else {"Statistic": i.req("statistic")}
        )
        params: dict[str, Any] = {
            "AlarmName": name,
            "ComparisonOperator": i.req("comparisonOperator"),
            "EvaluationPeriods": int(i.req("evaluationPeriods")),
            "Threshold": float(i.req("threshold")),
            "AlarmActions": i.get("alarmActions", []),
            "OKActions": i.get("okActions", []),
            "TreatMissingData": i.get("treatMissingData", "missing"),
            "MetricName": i.req("metricName"),
            "Namespace": i.req("namespace"),
            "Period": int(i.req("period")),
            **statistic,
            "Dimensions": [{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
            **i.present({"datapointsToAlarm": "DatapointsToAlarm"}, int),
        }
        cloudwatch = self._client("cloudwatch")
        cloudwatch.put_metric_alarm(**params)
        self._not_emulated(i, "alarm evaluation and actions (moto stores alarms but never evaluates them)")
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        return name, {"arn": arn, "name": name}

    # -- DynamoDB -------------------------------------------------------------------------------------
    def _table(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=255)
        dynamodb = self._client("dynamodb")
        if i.get("billingMode") != "PAY_PER_REQUEST":
            self._not_emulated(i, "provisioned capacity (the table is created on-demand)")
        attributes = [
            i.fields(f"attributes[{index}]", attribute, "name", "type")
            for index, attribute in enumerate(i.req("attributes"))
        ]
        params: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": i.req("hashKey"), "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in attributes
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "DeletionProtectionEnabled": bool(i.get("deletionProtectionEnabled", False)),
        }
        sse = i.block("serverSideEncryption", "enabled", "kmsKeyArn")
        if sse.get("enabled"):
            params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
            if sse.get("kmsKeyArn"):
                params["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
        table = dynamodb.create_table(**params)["TableDescription"]
        if i.block("pointInTimeRecovery", "enabled").get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return name, {"arn": table["TableArn"], "name": name}

    # -- IAM --------------------------------------------------------------------------------------------
    def _role(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=64)
        role = self._client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=_json(i.req("assumeRolePolicy"))
        )["Role"]
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
            RoleName=role, PolicyName=name, PolicyDocument=_json(i.req("policy"))
        )
        return f"{role}:{name}", {"name": name}

    # -- SageMaker ------------------------------------------------------------------------------------
    def _sagemaker_model(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=63)
        container = i.block("primaryContainer", "image", "environment")
        wire: dict[str, Any] = {"Image": container["image"]}
        if container.get("environment"):
            wire["Environment"] = {k: str(v) for k, v in container["environment"].items()}
        arn = self._client("sagemaker").create_model(
            ModelName=name, ExecutionRoleArn=i.req("executionRoleArn"), PrimaryContainer=wire
        )["ModelArn"]
        return name, {"arn": arn, "name": name}

    def _sagemaker_endpoint_config(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        name = i.name_or_auto(max_length=63)
        variants = []
        for index, variant in enumerate(i.req("productionVariants")):
            path = f"productionVariants[{index}]"
            i.fields(path, variant, "variantName", "modelName", "serverlessConfig")
            if not variant.get("serverlessConfig"):
                raise UnsupportedResourceType(
                    f"{i.typ} {i.name!r}: only serverless production variants are emulated"
                )
            serverless = i.fields(
                f"{path}.serverlessConfig", variant["serverlessConfig"], "memorySizeInMb", "maxConcurrency"
            )
            variants.append(
                {
                    "VariantName": variant["variantName"],
                    "ModelName": variant["modelName"],
                    "ServerlessConfig": {
                        "MemorySizeInMB": int(serverless["memorySizeInMb"]),
                        "MaxConcurrency": int(serverless["maxConcurrency"]),
                    },
                }
            )
        arn = self._client("sagemaker").create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=variants
        )["EndpointConfigArn"]
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
        environment = i.block("environment", "variables")
        variables = {k: str(v) for k, v in (environment.get("variables") or {}).items()}
        params: dict[str, Any] = {
            "FunctionName": name,
            "Role": i.req("role"),
            "Handler": i.req("handler"),
            "Runtime": i.req("runtime"),
            "Code": {"ZipFile": archive_to_zip(code)},
            "Environment": {"Variables": variables},
            **i.present({"memorySize": "MemorySize", "timeout": "Timeout"}, int),
            **i.present({"architectures": "Architectures", "kmsKeyArn": "KMSKeyArn"}),
        }
        tracing = i.block("tracingConfig", "mode")
        if tracing:
            params["TracingConfig"] = {"Mode": tracing["mode"]}
            if tracing["mode"] == "Active":
                self._not_emulated(i, "X-Ray active tracing (no traces are recorded locally)")
        function = self._client("lambda").create_function(**params)
        reserved = i.int("reservedConcurrentExecutions")
        if reserved is not None:
            self._client("lambda").put_function_concurrency(
                FunctionName=name,
                ReservedConcurrentExecutions=reserved,
            )
        logging_config = i.block("loggingConfig", "logFormat", "logGroup")
        self.runtime.declare(
            name,
            FunctionExtras(
                log_group=logging_config.get("logGroup"), log_format=logging_config.get("logFormat")
            ),
        )
        self.runtime.declared_variable_names.update(variables)
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
        statement_id = hashlib.sha256(i.name.encode()).hexdigest()[:26]
        self._client("lambda").add_permission(
            FunctionName=i.req("function"),
            StatementId=statement_id,
            Action=i.req("action"),
            Principal=i.req("principal"),
            **i.present({"sourceArn": "SourceArn", "sourceAccount": "SourceAccount"}),
        )
        return statement_id, {"statementId": statement_id}

    def _event_source_mapping(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        source_arn = i.req("eventSourceArn")
        if source_arn.split(":")[2] != "sqs":
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: only SQS event sources are emulated ({source_arn})"
            )
        scaling = i.block("scalingConfig", "maximumConcurrency")
        # The poller (sqs_poller.py) takes over delivery from moto when the mapping is created.
        mapping = self._client("lambda").create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=i.req("functionName"),
            BatchSize=int(i.req("batchSize")),
            MaximumBatchingWindowInSeconds=int(i.req("maximumBatchingWindowInSeconds")),
            FunctionResponseTypes=i.get("functionResponseTypes", []),
            ScalingConfig={"MaximumConcurrency": int(scaling["maximumConcurrency"])},
        )
        return mapping["UUID"], {
            "uuid": mapping["UUID"],
            "functionArn": mapping["FunctionArn"],
            "state": mapping.get("State", "Enabled"),
            "arn": mapping.get("EventSourceMappingArn", ""),
        }

    def _event_invoke_config(self, i: _Inputs) -> tuple[str, dict[str, Any]]:
        function_name = i.req("functionName")
        destinations = i.block("destinationConfig", "onFailure")
        on_failure = i.fields("destinationConfig.onFailure", destinations.get("onFailure"), "destination")
        self._client("lambda").put_function_event_invoke_config(
            FunctionName=function_name,
            MaximumRetryAttempts=int(i.req("maximumRetryAttempts")),
            MaximumEventAgeInSeconds=int(i.req("maximumEventAgeInSeconds")),
            DestinationConfig={"OnFailure": {"Destination": on_failure["destination"]}},
        )
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


Creator = Callable[[MotoMocks, _Inputs], tuple[str, dict[str, Any]]]

# The one dispatch table: exactly the resource types the program declares (tests/e2e checks it).
CREATORS: dict[str, Creator] = {
    "aws:kms/key:Key": MotoMocks._kms_key,
    "aws:kms/alias:Alias": MotoMocks._kms_alias,
    "aws:kms/keyPolicy:KeyPolicy": MotoMocks._kms_key_policy,
    "aws:s3/bucket:Bucket": MotoMocks._bucket,
    "aws:s3/bucketVersioning:BucketVersioning": MotoMocks._bucket_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        MotoMocks._bucket_encryption
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": MotoMocks._bucket_public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": MotoMocks._bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": MotoMocks._bucket_notification,
    "aws:s3/bucketLogging:BucketLogging": MotoMocks._bucket_logging,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": MotoMocks._bucket_lifecycle,
    "aws:sns/topic:Topic": MotoMocks._topic,
    "aws:sns/topicPolicy:TopicPolicy": MotoMocks._topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": MotoMocks._topic_subscription,
    "aws:sqs/queue:Queue": MotoMocks._queue,
    "aws:sqs/queuePolicy:QueuePolicy": MotoMocks._queue_policy,
    "aws:cloudwatch/eventRule:EventRule": MotoMocks._event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": MotoMocks._event_target,
    "aws:cloudwatch/logGroup:LogGroup": MotoMocks._log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": MotoMocks._metric_alarm,
    "aws:dynamodb/table:Table": MotoMocks._table,
    "aws:iam/role:Role": MotoMocks._role,
    "aws:iam/rolePolicy:RolePolicy": MotoMocks._role_policy,
    "aws:sagemaker/model:Model": MotoMocks._sagemaker_model,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": MotoMocks._sagemaker_endpoint_config,
    "aws:sagemaker/endpoint:Endpoint": MotoMocks._sagemaker_endpoint,
    "aws:lambda/function:Function": MotoMocks._function,
    "aws:lambda/permission:Permission": MotoMocks._permission,
    "aws:lambda/eventSourceMapping:EventSourceMapping": MotoMocks._event_source_mapping,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": MotoMocks._event_invoke_config,
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": MotoMocks._recursion_config,
}


def _lifecycle_rule(i: _Inputs, path: str, rule: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle rule's Pulumi inputs under their S3 API names (the parts the program declares)."""
    rule = i.fields(
        path,
        rule,
        "id",
        "status",
        "filter",
        "noncurrentVersionExpiration",
        "abortIncompleteMultipartUpload",
        "expiration",
    )
    noncurrent = i.fields(
        f"{path}.noncurrentVersionExpiration", rule["noncurrentVersionExpiration"], "noncurrentDays"
    )
    abort = i.fields(
        f"{path}.abortIncompleteMultipartUpload",
        rule["abortIncompleteMultipartUpload"],
        "daysAfterInitiation",
    )
    expiration = i.fields(f"{path}.expiration", rule["expiration"], "days", "expiredObjectDeleteMarker")
    wire: dict[str, Any] = {
        "ID": rule["id"],
        "Status": rule["status"],
        "Filter": {"Prefix": i.fields(f"{path}.filter", rule["filter"], "prefix").get("prefix", "")},
        "NoncurrentVersionExpiration": {"NoncurrentDays": int(noncurrent["noncurrentDays"])},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": int(abort["daysAfterInitiation"])},
    }
    if expiration.get("days"):
        wire["Expiration"] = {"Days": int(expiration["days"])}
    else:
        wire["Expiration"] = {"ExpiredObjectDeleteMarker": bool(expiration["expiredObjectDeleteMarker"])}
    return wire


def archive_to_zip(archive: Any) -> bytes:
    """The zip Pulumi would upload for a Lambda `code` archive (an AssetArchive of file assets)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
        _add_to_zip(zip_file, "", archive)
    return buffer.getvalue()


def _add_to_zip(zip_file: zipfile.ZipFile, prefix: str, item: Any) -> None:
    if isinstance(item, pulumi.AssetArchive):
        for name, child in item.assets.items():
            _add_to_zip(zip_file, f"{prefix}/{name}" if prefix else name, child)
    elif isinstance(item, pulumi.FileAsset):
        path = Path(item.path)
        zip_file.write(path if path.is_absolute() else PROJECT_DIR / path, prefix)
    else:
        raise UnsupportedResourceType(
            f"Lambda code of type {type(item).__name__} cannot be packaged by the local run "
            "(use an AssetArchive of FileAssets)"
        )
