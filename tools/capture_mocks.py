"""Pulumi mocks that fabricate realistic outputs per AWS type token, without any cloud.

Used by the infra tests and the diagram generator: physical names, ARNs, ids and URLs look like AWS's and
are derived deterministically from logical names, so runs are reproducible. Also records which provider
each resource was registered with.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


def physical_name(logical_name: str) -> str:
    """What Pulumi auto-naming produces: the logical name plus a 7-character suffix (here deterministic)."""
    return f"{logical_name}-{hashlib.sha256(logical_name.encode()).hexdigest()[:7]}"


class CaptureMocks(pulumi_mocks.Mocks):
    """Answers resource registrations with plausible AWS outputs and the invokes the program uses."""

    def __init__(self, region: str = DEFAULT_REGION, account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.providers: dict[tuple[str, str], str | None] = {}
        self.call_args: list[tuple[str, dict]] = []

    @property
    def calls(self) -> list[str]:
        """The invoke tokens answered, in order."""
        return [token for token, _ in self.call_args]

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        self.providers[(args.typ, args.name)] = args.provider
        inputs = dict(args.inputs)
        name = inputs.get("name") or physical_name(args.name)
        fabricate = _FABRICATORS.get(args.typ)
        resource_id, outputs = fabricate(self, name, inputs) if fabricate else (f"{args.name}-id", {})
        return resource_id, {**inputs, **outputs}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        self.call_args.append((args.token, dict(args.args)))
        if args.token == GET_CALLER_IDENTITY:
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/deployer",
                "userId": "AIDAEXAMPLEDEPLOYER",
                "id": self.account_id,
            }, []
        raise NotImplementedError(f"CaptureMocks does not answer invoke {args.token}")

    # --- fabricators: (mocks, physical name, inputs) -> (id, outputs) ---------------------------------

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        owner = self.account_id if account else ""
        return f"arn:aws:{service}:{region}:{owner}:{resource}"


def _bucket(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or name
    return bucket, {
        "bucket": bucket,
        "arn": m.arn("s3", bucket, regional=False, account=False),
        "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.amazonaws.com",
    }


def _key(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    key_id = hashlib.sha256(name.encode()).hexdigest()[:8] + "-1234-5678-9abc-def012345678"
    return key_id, {"keyId": key_id, "arn": m.arn("kms", f"key/{key_id}")}


def _alias(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {"arn": m.arn("kms", name), "targetKeyArn": m.arn("kms", f"key/{inputs.get('targetKeyId')}")}


def _topic(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    arn = m.arn("sns", name)
    return arn, {"name": name, "arn": arn}


def _queue(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    url = f"https://sqs.{m.region}.amazonaws.com/{m.account_id}/{name}"
    return url, {"name": name, "arn": m.arn("sqs", name), "url": url}


def _table(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {"name": name, "arn": m.arn("dynamodb", f"table/{name}")}


def _role(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {
        "name": name,
        "arn": m.arn("iam", f"role/{name}", regional=False),
        "uniqueId": "AROA" + hashlib.sha256(name.encode()).hexdigest()[:17].upper(),
    }


def _role_policy(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('role')}:{name}", {"name": name}


def _managed_policy(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    arn = m.arn("iam", f"policy{inputs.get('path') or '/'}{name}", regional=False)
    return arn, {"name": name, "arn": arn}


def _function(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    arn = m.arn("lambda", f"function:{name}")
    return name, {
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
        "invokeArn": f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    }


def _log_group(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    # The provider's log group ARN has no trailing ":*".
    return name, {"name": name, "arn": m.arn("logs", f"log-group:{name}")}


def _event_rule(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {"name": name, "arn": m.arn("events", f"rule/{name}")}


def _sagemaker(kind: str):
    def fabricate(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
        return name, {"name": name, "arn": m.arn("sagemaker", f"{kind}/{name.lower()}")}

    return fabricate


def _alarm(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {"name": name, "arn": m.arn("cloudwatch", f"alarm:{name}")}


def _subscription(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    arn = f"{inputs.get('topic')}:{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return arn, {"arn": arn}


def _event_source_mapping(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    uuid = hashlib.sha256(name.encode()).hexdigest()[:8] + "-0000-4000-8000-000000000000"
    return uuid, {"uuid": uuid, "arn": m.arn("lambda", f"event-source-mapping:{uuid}")}


def _stream(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return name, {"name": name, "arn": m.arn("kinesis", f"stream/{name}")}


def _managed_policy(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    arn = m.arn("iam", f"policy/{name}", regional=False)
    return arn, {"name": name, "arn": arn}


def _scaling_policy(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    # PutScalingPolicy's PolicyARN: arn:aws:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/...
    resource = f"{inputs.get('serviceNamespace')}/{inputs.get('resourceId')}"
    arn = m.arn(
        "autoscaling",
        f"scalingPolicy:{hashlib.sha256(name.encode()).hexdigest()[:8]}:resource/{resource}:policyName/{name}",
    )
    return arn, {"name": name, "arn": arn}


def _provider(m: CaptureMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{name}-provider-id", {}


_FABRICATORS: dict[str, Any] = {
    "pulumi:providers:aws": _provider,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:kms/key:Key": _key,
    "aws:kms/alias:Alias": _alias,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:sqs/queue:Queue": _queue,
    "aws:dynamodb/table:Table": _table,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/policy:Policy": _managed_policy,
    "aws:kinesis/stream:Stream": _stream,
    "aws:lambda/function:Function": _function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:sagemaker/model:Model": _sagemaker("model"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _sagemaker("endpoint-config"),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:appautoscaling/policy:Policy": _scaling_policy,
}
