"""Access checks, all in one place: resource policies, identity policies, and where each is applied.

Resource policies (services calling services), `evaluate_resource_policy`:
AWS checks these when one service delivers to another: S3 validates that it may
publish to a topic / send to a queue / invoke a function when a bucket notification
is configured; SNS, EventBridge and S3 need the function's resource policy to invoke
it; a KMS-encrypted topic or queue needs the key policy to let the publisher use the
key. moto checks none of this, so the local run does, with this small evaluator.

Supported: Effect, Principal (`*`, `{"Service": ...}`, `{"AWS": "*"}`), Action /
NotAction and Resource / NotResource with `*`/`?` wildcards, and the condition
operators String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool
(each with IfExists). An explicit Deny wins; no matching Allow is an implicit deny.
A condition operator outside that list is an error naming it — never silently passed.

`AccessGuard` applies them where AWS does when one service writes to or invokes another (the
deliveries in `deliveries.py`, S3's notification validation in `services/s3.py`); S3's own bucket
policy decisions (`services/s3.py`) use the same evaluator.

Identity policies (least privilege, checked both ways: recorded calls → IAM actions on ARNs → the
role's declared policies):
`required_permissions(call)` maps one recorded AWS call (see `calls.py`) to the IAM
actions and resource ARNs AWS authorises it against, including permissions the call
needs implicitly — each stated with its reason:
- GetObject on an SSE-KMS object needs `kms:Decrypt` on the object's key;
- a GetObject answered `NoSuchKey` needs `s3:ListBucket` (without it S3 says 403);
- Publish/PublishBatch to an encrypted topic and SendMessage to an encrypted queue
  need `kms:GenerateDataKey` and `kms:Decrypt`; ReceiveMessage from one `kms:Decrypt`.

`check_calls` evaluates each requirement with moto's IAM policy evaluator
(`IAMPolicy.is_action_permitted`, called directly with the real ARN, matching action
and resource wildcards) against the policy documents the program declared for the
function's role. `unexercised_grants` goes the other way: every (action, resource)
the role grants must be needed by some recorded call, or be on
`USED_BY_AWS_ON_FUNCTIONS_BEHALF`; a wildcard action (`s3:*`) is never needed. Statements
either direction would misjudge (Condition, NotAction, NotResource, no Resource) are refused.

`AccessEnforcer` applies the same mapping and evaluator *while the run happens*: a botocore
`before-call` hook (installed with the call recorder's patch, see `calls.py`) answers a handler's call
its role does not allow with the error response the service sends, so botocore raises the `ClientError`
AWS would and the handler's real error path runs. The role's policies are read from moto's IAM at each
call (a test can change them); verdicts are cached per policy set, action and resource.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.parsers import ResponseParserFactory
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.sts.models import sts_backends

from .calls import ACTOR_HANDLER, RecordedCall, call_in_context
from .program import ProgramRun

if TYPE_CHECKING:
    from .lambda_.runtime import LambdaRuntime


# -- resource policies --------------------------------------------------------------------------------
ALLOW = "allow"
EXPLICIT_DENY = "explicit-deny"
IMPLICIT_DENY = "implicit-deny"


class UnsupportedPolicyFeature(ValueError):
    """The policy uses something this evaluator cannot judge; refuse rather than guess."""


@dataclass(frozen=True)
class ServiceRequest:
    """One request by a principal (an AWS service, or an IAM role/user), with its condition keys."""

    service: str | None  # e.g. "s3.amazonaws.com"; None for an IAM principal
    action: str  # e.g. "sns:Publish"
    resource: str  # the resource ARN the policy is attached to
    context: Mapping[str, str] = field(default_factory=dict)  # aws:SourceArn, aws:SourceAccount, ...
    principal_arn: str | None = None  # the IAM principal, when not a service


@lru_cache(maxsize=512)
def _wildcard_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{escaped}$", 0 if case_sensitive else re.IGNORECASE)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM-style match: `*` any run of characters, `?` one character."""
    return bool(_wildcard_regex(pattern, case_sensitive).match(value))


def _one_or_many(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, request: ServiceRequest) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = _one_or_many(principal.get("AWS", []))
    if "*" in aws or (request.principal_arn is not None and request.principal_arn in aws):
        return True
    return request.service is not None and request.service in _one_or_many(principal.get("Service", []))


def _element_matches(statement: Mapping[str, Any], name: str, value: str, *, case_sensitive: bool) -> bool:
    """Action/NotAction or Resource/NotResource; a missing element matches everything."""
    if name in statement:
        return any(
            wildcard_match(p, value, case_sensitive=case_sensitive) for p in _one_or_many(statement[name])
        )
    negated = f"Not{name}"
    if negated in statement:
        return not any(
            wildcard_match(p, value, case_sensitive=case_sensitive) for p in _one_or_many(statement[negated])
        )
    return True


def _equals(expected: str, actual: str) -> bool:
    return expected == actual


def _like(expected: str, actual: str) -> bool:
    return wildcard_match(expected, actual)


def _bool(expected: str, actual: str) -> bool:
    return str(expected).lower() == str(actual).lower()


# operator -> (comparison, negated). ARN operators compare with wildcards, as AWS does.
_OPERATORS = {
    "StringEquals": (_equals, False),
    "StringNotEquals": (_equals, True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (_like, False),
    "ArnLike": (_like, False),
    "ArnNotEquals": (_like, True),
    "ArnNotLike": (_like, True),
    "Bool": (_bool, False),
}


def _conditions_match(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, clauses in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise UnsupportedPolicyFeature(
                f"condition operator {operator!r} is not supported by the local run"
            )
        compare, negated = _OPERATORS[base]
        for key, expected_values in clauses.items():
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if actual is None:
                if if_exists:
                    continue
                return False  # a condition on a key the request does not carry never matches
            matched = any(compare(str(expected), actual) for expected in _one_or_many(expected_values))
            if matched == negated:
                return False
    return True


def evaluate_resource_policy(policy: str | Mapping[str, Any] | None, request: ServiceRequest) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for `request` under the resource policy `policy`."""
    if not policy:
        return IMPLICIT_DENY
    document = json.loads(policy) if isinstance(policy, str) else policy
    decision = IMPLICIT_DENY
    for statement in _one_or_many(document.get("Statement", [])):
        if not _principal_matches(statement.get("Principal"), request):
            continue
        if not _element_matches(statement, "Action", request.action, case_sensitive=False):
            continue
        if not _element_matches(statement, "Resource", request.resource, case_sensitive=True):
            continue
        if not _conditions_match(statement.get("Condition", {}), request.context):
            continue
        if statement.get("Effect") == "Deny":
            return EXPLICIT_DENY
        if statement.get("Effect") == "Allow":
            decision = ALLOW
    return decision


def service_context(source_arn: str | None, source_account: str | None) -> dict[str, str]:
    """Condition keys an AWS service supplies when it calls another service for a resource."""
    context = {"aws:SecureTransport": "true"}  # service-to-service calls always use TLS
    if source_arn:
        context["aws:SourceArn"] = source_arn
    if source_account:
        context["aws:SourceAccount"] = source_account
    return context


# -- where AWS applies them: one service delivering to another ----------------------------------------
S3 = "s3.amazonaws.com"
SNS = "sns.amazonaws.com"
EVENTS = "events.amazonaws.com"


class AccessGuard:
    """The resource-policy checks AWS makes when one service writes to or invokes another."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        self.account = runtime.account
        self.region = runtime.region

    def lambda_invoke(self, service: str, function_arn: str, source_arn: str) -> str | None:
        """None if `service` may invoke the function for `source_arn`, else why not."""
        try:
            function = self.runtime.function(function_arn)
        except Exception:
            return f"function {function_arn} does not exist"
        statements = function.policy.statements
        request = ServiceRequest(
            service,
            "lambda:InvokeFunction",
            function.function_arn,
            service_context(source_arn, self.account),
        )
        return self._judge({"Statement": statements}, request, f"function policy of {function.function_name}")

    def topic_publish(self, service: str, topic_arn: str, source_arn: str) -> str | None:
        topic = sns_backends[self.account][self.region].topics.get(topic_arn)
        if topic is None:
            return f"topic {topic_arn} does not exist"
        request = ServiceRequest(service, "sns:Publish", topic_arn, service_context(source_arn, self.account))
        denied = self._judge(topic.policy, request, f"topic policy of {topic.name}")
        if denied or not topic.kms_master_key_id:
            return denied
        # EventBridge's KMS requests for an encrypted topic carry no aws:SourceArn/aws:SourceAccount (SNS
        # Developer Guide, "Key management": those conditions are not supported for EventBridge-to-encrypted
        # topics), so a key statement conditioned on them refuses the delivery, as in AWS.
        key_source = None if service == EVENTS else source_arn
        return self.kms_use(service, topic.kms_master_key_id, key_source, {"aws:sns:topicArn": topic_arn})

    def queue_send(self, service: str, queue_arn: str, source_arn: str) -> str | None:
        name = queue_arn.rsplit(":", 1)[-1]
        queue = sqs_backends[self.account][self.region].queues.get(name)
        if queue is None:
            return f"queue {queue_arn} does not exist"
        request = ServiceRequest(
            service, "sqs:SendMessage", queue_arn, service_context(source_arn, self.account)
        )
        denied = self._judge(queue.policy, request, f"queue policy of {name}")
        if denied or not queue.kms_master_key_id:
            return denied
        return self.kms_use(service, queue.kms_master_key_id, source_arn, {"aws:sqs:arn": queue_arn})

    def kms_use(
        self, service: str, key_id: str, source_arn: str | None, encryption_context: dict[str, str]
    ) -> str | None:
        """The caller needs kms:GenerateDataKey and kms:Decrypt on an encrypted destination's key (with no
        `source_arn`, the request carries no aws:SourceArn or aws:SourceAccount)."""
        backend = kms_backends[self.account][self.region]
        try:
            key = backend.describe_key(key_id)
        except KeyError:
            return f"KMS key {key_id} does not exist"
        context = service_context(source_arn, self.account if source_arn else None)
        context.update({f"kms:EncryptionContext:{k}": v for k, v in encryption_context.items()})
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            denied = self._judge(
                key.policy, ServiceRequest(service, action, key.arn, context), f"key policy of {key.id}"
            )
            if denied:
                return denied
        return None

    @staticmethod
    def _judge(policy: Any, request: ServiceRequest, what: str) -> str | None:
        try:
            decision = evaluate_resource_policy(policy, request)
        except UnsupportedPolicyFeature as err:
            return f"{what}: cannot evaluate ({err})"
        if decision == ALLOW:
            return None
        return (
            f"{what} does not allow {request.service} to {request.action} "
            f"({decision}; aws:SourceArn={request.context.get('aws:SourceArn')})"
        )


# -- identity policies: least privilege ------------------------------------------------------------
# Granted actions that no recorded call needs because AWS uses them for the function, out of the
# local run's sight. Keep this list short; each entry says who uses it.
USED_BY_AWS_ON_FUNCTIONS_BEHALF = {
    # With tracing Active, Lambda's X-Ray integration sends segments with the execution role; the local
    # run records no traces.
    "xray:PutTraceSegments": "Lambda X-Ray integration (tracing Active)",
    "xray:PutTelemetryRecords": "Lambda X-Ray integration (tracing Active)",
}
# What SageMaker does with a model's execution role outside the requests the local run emulates: it pulls
# the image when an instance starts, writes the endpoint's logs and publishes its metrics.
USED_BY_SAGEMAKER_OUTSIDE_REQUESTS = {
    "ecr:GetAuthorizationToken": "pulling the model image",
    "ecr:BatchCheckLayerAvailability": "pulling the model image",
    "ecr:GetDownloadUrlForLayer": "pulling the model image",
    "ecr:BatchGetImage": "pulling the model image",
    "logs:CreateLogGroup": "the endpoint's CloudWatch logs",
    "logs:CreateLogStream": "the endpoint's CloudWatch logs",
    "logs:PutLogEvents": "the endpoint's CloudWatch logs",
    "logs:DescribeLogStreams": "the endpoint's CloudWatch logs",
    "cloudwatch:PutMetricData": "the endpoint's metrics",
}


class UnmappedCall(ValueError):
    """A recorded call this module cannot translate into IAM actions (add it to `required_permissions`)."""


@dataclass(frozen=True)
class Permission:
    """One IAM action on one resource ARN that a call needs, and why."""

    action: str
    resource: str
    why: str


@dataclass(frozen=True)
class Denial:
    call: RecordedCall
    permission: Permission

    def __str__(self) -> str:
        return (
            f"{self.call.function_name}: {self.call.service}:{self.call.operation} needs "
            f"{self.permission.action} on {self.permission.resource} ({self.permission.why}) — not granted"
        )


class PermissionMapper:
    """Translates recorded calls into the permissions AWS checks, reading encryption settings from moto."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def required_permissions(self, call: RecordedCall) -> list[Permission]:  # noqa: PLR0911 - one return per service
        p = call.params
        op = (call.service, call.operation)
        if op in (("s3", "GetObject"), ("s3", "HeadObject")):
            resource = f"arn:aws:s3:::{p['Bucket']}/{p['Key']}"
            versioned = bool(p.get("VersionId"))
            needed = [
                Permission(
                    "s3:GetObjectVersion" if versioned else "s3:GetObject",
                    resource,
                    f"{call.operation} {'with' if versioned else 'without'} VersionId",
                )
            ]
            if call.error_code in ("NoSuchKey", "NoSuchVersion"):
                needed.append(
                    Permission(
                        "s3:ListBucket",
                        f"arn:aws:s3:::{p['Bucket']}",
                        "S3 answers 404 for an object that does not exist only to callers allowed "
                        "s3:ListBucket (others get 403)",
                    )
                )
            key_arn = self._object_key_arn(p["Bucket"], p["Key"], p.get("VersionId"))
            if key_arn and call.error_code is None:
                needed.append(Permission("kms:Decrypt", key_arn, "reading an SSE-KMS object"))
            return needed
        if op == ("s3", "PutObject"):
            # The handler's large results: a new object under the bucket's default encryption (SSE-KMS with
            # the stack key), for which S3 asks KMS for a data key on the caller's behalf (S3 User Guide,
            # "Using SSE-KMS": PutObject needs kms:GenerateDataKey; bucket keys do not change that).
            needed = [Permission("s3:PutObject", f"arn:aws:s3:::{p['Bucket']}/{p['Key']}", "PutObject")]
            key_arn = self._bucket_default_key_arn(
                p["Bucket"], p.get("ServerSideEncryption"), p.get("SSEKMSKeyId")
            )
            if key_arn:
                needed.append(Permission("kms:GenerateDataKey", key_arn, "writing an SSE-KMS object"))
            return needed
        if op in (("sagemaker-runtime", "InvokeEndpoint"), ("sagemaker-runtime", "InvokeEndpointAsync")):
            # SageMaker ARNs carry the endpoint name in lower case. InvokeEndpointAsync needs only its own
            # action: SageMaker reads the InputLocation with the endpoint's execution role, not the caller's.
            arn = f"arn:aws:sagemaker:{call.region}:{self.account}:endpoint/{p['EndpointName'].lower()}"
            return [Permission(f"sagemaker:{call.operation}", arn, call.operation)]
        if call.service == "dynamodb" and call.operation in (
            "PutItem",
            "GetItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
        ):
            arn = f"arn:aws:dynamodb:{call.region}:{self.account}:table/{p['TableName']}"
            return [Permission(f"dynamodb:{call.operation}", arn, call.operation)]
        if op in (("sns", "Publish"), ("sns", "PublishBatch")):
            topic_arn = p["TopicArn"]
            needed = [Permission("sns:Publish", topic_arn, f"{call.operation} (authorised as sns:Publish)")]
            key_arn = self._topic_key_arn(topic_arn)
            if key_arn:
                needed += [
                    Permission("kms:GenerateDataKey", key_arn, "publishing to a KMS-encrypted topic"),
                    Permission("kms:Decrypt", key_arn, "publishing to a KMS-encrypted topic"),
                ]
            return needed
        if call.service == "sqs":
            return self._sqs(call)
        if call.service == "kinesis":
            return self._kinesis(call)
        if op in (("logs", "CreateLogStream"), ("logs", "PutLogEvents")):
            arn = (
                f"arn:aws:logs:{call.region}:{self.account}:log-group:{p['logGroupName']}"
                f":log-stream:{p['logStreamName']}"
            )
            return [
                Permission(
                    f"logs:{call.operation}", arn, f"{call.operation} (Lambda writing the function's logs)"
                )
            ]
        raise UnmappedCall(f"no IAM mapping for {call.service}:{call.operation}; add it to access.py")

    def _sqs(self, call: RecordedCall) -> list[Permission]:
        url = call.params["QueueUrl"]
        name = url.rstrip("/").rsplit("/", 1)[-1]
        arn = f"arn:aws:sqs:{call.region}:{self.account}:{name}"
        action = {
            "ReceiveMessage": "sqs:ReceiveMessage",
            "DeleteMessage": "sqs:DeleteMessage",
            "DeleteMessageBatch": "sqs:DeleteMessage",
            "GetQueueAttributes": "sqs:GetQueueAttributes",
            "SendMessage": "sqs:SendMessage",
            "SendMessageBatch": "sqs:SendMessage",
            "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
        }.get(call.operation)
        if action is None:
            raise UnmappedCall(f"no IAM mapping for sqs:{call.operation}; add it to access.py")
        needed = [Permission(action, arn, call.operation)]
        key_arn = self._queue_key_arn(name)
        if key_arn and call.operation in ("SendMessage", "SendMessageBatch"):
            needed += [
                Permission("kms:GenerateDataKey", key_arn, "sending to a KMS-encrypted queue"),
                Permission("kms:Decrypt", key_arn, "sending to a KMS-encrypted queue"),
            ]
        if key_arn and call.operation == "ReceiveMessage":
            needed.append(Permission("kms:Decrypt", key_arn, "receiving from a KMS-encrypted queue"))
        return needed

    def _kinesis(self, call: RecordedCall) -> list[Permission]:
        """Kinesis actions are authorised on the stream (GetRecords too: its StreamARN, or the iterator's
        stream); reading an encrypted stream's records needs kms:Decrypt, putting them kms:GenerateDataKey
        (Kinesis Data Streams Developer Guide, "Permissions to use user-generated KMS keys")."""
        p = call.params
        arn = (
            p.get("StreamARN") or f"arn:aws:kinesis:{call.region}:{self.account}:stream/{p.get('StreamName')}"
        )
        if call.operation not in (
            "DescribeStream", "DescribeStreamSummary", "ListShards", "GetShardIterator", "GetRecords",
            "PutRecord", "PutRecords",
        ):  # fmt: skip
            raise UnmappedCall(f"no IAM mapping for kinesis:{call.operation}; add it to access.py")
        needed = [Permission(f"kinesis:{call.operation}", arn, call.operation)]
        key_arn = self._stream_key_arn(arn)
        if key_arn and call.operation == "GetRecords":
            needed.append(Permission("kms:Decrypt", key_arn, "reading records of a KMS-encrypted stream"))
        if key_arn and call.operation in ("PutRecord", "PutRecords"):
            needed.append(
                Permission("kms:GenerateDataKey", key_arn, "putting records on a KMS-encrypted stream")
            )
        return needed

    def _stream_key_arn(self, stream_arn: str) -> str | None:
        from moto.kinesis.models import kinesis_backends  # noqa: PLC0415

        stream = kinesis_backends[self.account][self.region].streams.get(stream_arn.rsplit("/", 1)[-1])
        if stream is None or stream.encryption_type != "KMS":
            return None
        return self._key_arn(stream.key_id)

    # -- encryption settings, read from moto ------------------------------------------------------
    def _key_arn(self, key_id: str | None) -> str | None:
        if not key_id:
            return None
        try:
            return kms_backends[self.account][self.region].describe_key(key_id).arn
        except KeyError:
            return None

    def _bucket_default_key_arn(self, bucket: str, algorithm: str | None, key_id: str | None) -> str | None:
        """The KMS key a new object is encrypted with: the request's, else the bucket default's (SSE-KMS)."""
        if algorithm is None:
            stored = s3_backends[self.account]["aws"].buckets.get(bucket)
            rule = ((stored.encryption or {}).get("Rule") or {}) if stored is not None else {}
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            algorithm, key_id = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
        return self._key_arn(key_id) if algorithm == "aws:kms" else None

    def _object_key_arn(self, bucket: str, key: str, version_id: str | None) -> str | None:
        try:
            stored = s3_backends[self.account]["aws"].get_object(bucket, key, version_id=version_id)
        except Exception:
            return None
        if stored is None or stored.encryption != "aws:kms":
            return None
        return self._key_arn(stored.kms_key_id)

    def _topic_key_arn(self, topic_arn: str) -> str | None:
        topic = sns_backends[self.account][self.region].topics.get(topic_arn)
        return self._key_arn(topic.kms_master_key_id) if topic else None

    def _queue_key_arn(self, name: str) -> str | None:
        queue = sqs_backends[self.account][self.region].queues.get(name)
        return self._key_arn(queue.kms_master_key_id) if queue else None


def declared_role_policies(program: ProgramRun, role_arn: str) -> list[str]:
    """The policy documents the program attached to a role (inline RolePolicy and Role.inlinePolicies)."""
    role = next((r for r in program.of_type("aws:iam/role:Role") if r.outputs.get("arn") == role_arn), None)
    if role is None:
        raise KeyError(f"the program declared no role {role_arn}")
    names = {role.outputs.get("name"), role.id}
    documents = [
        r.outputs["policy"]
        for r in program.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.outputs.get("role") in names
    ]
    documents += [p["policy"] for p in role.outputs.get("inlinePolicies") or [] if p.get("policy")]
    if program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached = [
            r
            for r in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r.outputs.get("role") in names
        ]
        if attached:
            raise NotImplementedError("managed policy attachments are not read by the least-privilege check")
    return [d if isinstance(d, str) else json.dumps(d) for d in documents]


def evaluate_identity_policies(documents: Iterable[str], action: str, resource: str) -> PermissionResult:
    """moto's IAM evaluator over every document: DENIED if one denies, else PERMITTED if one permits."""
    results = []
    for document in documents:
        _statements(document)  # refuses statements moto's evaluator would misjudge
        results.append(IAMPolicy(document).is_action_permitted(action, resource))
    if PermissionResult.DENIED in results:
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if PermissionResult.PERMITTED in results else PermissionResult.NEUTRAL


def is_allowed(documents: Iterable[str], action: str, resource: str) -> bool:
    """Allowed if one document permits and none denies."""
    return evaluate_identity_policies(documents, action, resource) is PermissionResult.PERMITTED


def check_calls(
    calls: Iterable[RecordedCall],
    documents: list[str],
    mapper: PermissionMapper,
) -> tuple[list[Denial], list[Permission]]:
    """Denied requirements, and every requirement that was checked (allowed or not)."""
    denials: list[Denial] = []
    checked: list[Permission] = []
    for call in calls:
        for permission in mapper.required_permissions(call):
            checked.append(permission)
            if not is_allowed(documents, permission.action, permission.resource):
                denials.append(Denial(call, permission))
    return denials, checked


@dataclass(frozen=True)
class Grant:
    """One (action pattern, resource pattern) an Allow statement grants."""

    sid: str
    action: str
    resource: str


def grants(documents: Iterable[str]) -> list[Grant]:
    found = []
    for document in documents:
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement.get("Action")):
                for resource in _as_list(statement.get("Resource")):
                    found.append(Grant(statement.get("Sid", ""), action, resource))
    return found


def unexercised_grants(
    documents: list[str],
    needed: Iterable[Permission],
    used_by_aws: Mapping[str, str] = USED_BY_AWS_ON_FUNCTIONS_BEHALF,
) -> list[Grant]:
    """Grants no recorded call needed and AWS does not use on the role's behalf (`used_by_aws`).

    An action pattern with a wildcard (`s3:*`, `*`) counts as unexercised: it grants actions no call needed.
    """
    needed = list(needed)
    unused = []
    for grant in grants(documents):
        if grant.action in used_by_aws:
            continue
        if _has_wildcard(grant.action) or not any(
            wildcard_match(grant.action, p.action, case_sensitive=False)
            and wildcard_match(grant.resource, p.resource)
            for p in needed
        ):
            unused.append(grant)
    return unused


def _statements(document: str) -> list[dict[str, Any]]:
    """The document's statements; raises NotImplementedError for one this module cannot judge soundly."""
    statements = _as_list(json.loads(document).get("Statement", []))
    for statement in statements:
        if "Condition" in statement:
            # moto's evaluator answers DENIED for any statement whose condition is not met.
            raise NotImplementedError(f"conditional identity statements are not supported: {statement}")
        if "Action" not in statement or "Resource" not in statement:
            # moto permits a statement without Resource on every resource (NotResource is ignored), and
            # `grants` reads Action and Resource only: a NotAction/NotResource grant would go unseen.
            raise NotImplementedError(
                f"identity statements need Action and Resource (NotAction/NotResource are not supported): "
                f"{statement}"
            )
    return statements


def _has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- enforced while the run happens ------------------------------------------------------------------------
@dataclass(frozen=True)
class RuntimeDenial:
    """A call refused while the run happened: who (function, role, session), what, on which resource."""

    function_name: str
    role_arn: str
    principal: str  # the assumed-role session ARN AWS names in the message
    service: str
    operation: str
    action: str
    resource: str
    why: str
    error_code: str
    http_status: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.function_name}: {self.service}:{self.operation} denied at run time "
            f"({self.error_code} {self.http_status}) — role {self.role_arn} is not allowed {self.action} "
            f"on {self.resource} ({self.why})"
        )


def denial_message(principal: str, action: str, resource: str, explicit: bool) -> str:
    """IAM's AccessDenied message shape ("Access denied error message examples", IAM User Guide)."""
    reason = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {reason}"


def _request_id() -> str:
    return uuid.uuid4().hex.upper()


def _s3_error(operation: str, message: str, kms: bool) -> tuple[int, dict[str, str], bytes]:
    # S3 error codes (Amazon S3 API Reference, "Error responses", list of error codes): AccessDenied,
    # "Access Denied", HTTP 403 Forbidden; REST errors are an XML <Error> document. A KMS denial while S3
    # decrypts an SSE-KMS object for the caller surfaces as the same 403 AccessDenied. HEAD has no body
    # (botocore then reports the status, "403").
    request_id = _request_id()
    headers = {"x-amz-request-id": request_id, "Content-Type": "application/xml"}
    if operation == "HeadObject":
        return 403, headers, b""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
        f"<HostId>{request_id}</HostId></Error>"
    )
    return 403, headers, body.encode()


def _dynamodb_error(operation: str, message: str, kms: bool) -> tuple[int, dict[str, str], bytes]:
    # DynamoDB (awsJson1_0): AccessDeniedException, HTTP 400 — DynamoDB API Reference, Common Errors
    # ("AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code:
    # 400"); the SDKs report "Status Code: 400; Error Code: AccessDeniedException" for a missing grant.
    body = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
    headers = {"x-amzn-RequestId": _request_id(), "Content-Type": "application/x-amz-json-1.0"}
    return 400, headers, json.dumps(body).encode()


def _sns_error(operation: str, message: str, kms: bool) -> tuple[int, dict[str, str], bytes]:
    # botocore's sns/2010-03-31 model, Publish and PublishBatch errors: AuthorizationErrorException
    # {"code": "AuthorizationError", "httpStatusCode": 403} and, for the topic's KMS key,
    # KMSAccessDeniedException {"code": "KMSAccessDenied", "httpStatusCode": 400}. Query protocol XML.
    code, status = ("KMSAccessDenied", 400) if kms else ("AuthorizationError", 403)
    request_id = _request_id()
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}, body.encode()


def _sqs_error(operation: str, message: str, kms: bool) -> tuple[int, dict[str, str], bytes]:
    # SQS speaks awsJson1_0 with awsQueryCompatible: the legacy query code travels in x-amzn-query-error,
    # which botocore reports as the error code. Missing grant: AccessDenied, 403 (SQS Developer Guide,
    # "Troubleshooting access denied errors"); the queue's KMS key: KmsAccessDenied, HTTP 400 (SQS API
    # Reference, SendMessage/ReceiveMessage errors; botocore's sqs/2012-11-05 model names the shape).
    if kms:
        type_, query_error, status = "com.amazonaws.sqs#KmsAccessDenied", "KmsAccessDenied;Sender", 400
    else:
        type_, query_error, status = (
            "com.amazon.coral.service#AccessDeniedException",
            "AccessDenied;Sender",
            403,
        )
    headers = {
        "x-amzn-RequestId": _request_id(),
        "x-amzn-query-error": query_error,
        "Content-Type": "application/x-amz-json-1.0",
    }
    return status, headers, json.dumps({"__type": type_, "message": message}).encode()


def _sagemaker_runtime_error(operation: str, message: str, kms: bool) -> tuple[int, dict[str, str], bytes]:
    # SageMaker Runtime (restJson1): AccessDeniedException, HTTP 400 — Amazon SageMaker API Reference,
    # Common Errors ("You do not have sufficient access to perform this action. HTTP Status Code: 400");
    # not an InvokeEndpoint-modelled error, so botocore raises a plain ClientError with that code.
    headers = {
        "x-amzn-RequestId": _request_id(),
        "x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/",
        "Content-Type": "application/json",
    }
    return 400, headers, json.dumps({"message": message}).encode()


_ERROR_RESPONSES: dict[str, Callable[[str, str, bool], tuple[int, dict[str, str], bytes]]] = {
    "s3": _s3_error,
    "dynamodb": _dynamodb_error,
    "sns": _sns_error,
    "sqs": _sqs_error,
    "sagemaker-runtime": _sagemaker_runtime_error,
}


class _Body:
    """The raw body botocore reads an `AWSResponse` from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._data


class AccessEnforcer:
    """Refuses, as the service does, each handler call its function's role does not allow.

    Scope: calls the handler makes with its role's credentials (`calls.ACTOR_HANDLER`). Calls the Lambda
    service makes with the role (SQS polling, destinations, logs) and calls by the deployer, the demo or a
    test stay unchecked here; the after-the-fact check covers the former. A call `required_permissions`
    cannot map, or of a service without an error shape here, is let through and listed in `unenforced`.
    """

    def __init__(self, account: str) -> None:
        self.account = account
        self.denials: list[RuntimeDenial] = []
        self.unenforced: list[RecordedCall] = []
        self._mappers: dict[str, PermissionMapper] = {}
        self._verdicts: dict[tuple[tuple[str, ...], str, str], PermissionResult] = {}
        self._identities: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def hooks(self) -> list[tuple[str, Callable[..., Any]]]:
        """botocore event handlers, registered in front of moto's (the call recorder installs them)."""
        return [("before-call", self._before_call)]

    def denials_for(self, function_name: str) -> list[RuntimeDenial]:
        return [d for d in self.denials if d.function_name == function_name]

    # -- the check ------------------------------------------------------------------------------------------
    def check(self, call: RecordedCall) -> RuntimeDenial | None:
        """The denial AWS would answer `call` with, or None if the role allows it (or it is out of scope)."""
        if call.function_name is None or call.actor != ACTOR_HANDLER:
            return None
        identity = self._identity(call.access_key)
        respond = _ERROR_RESPONSES.get(call.service)
        if identity is None or respond is None:
            self.unenforced.append(call)
            return None
        role_arn, principal = identity
        try:
            needed = self._mapper(call.region).required_permissions(self._as_aws_sees_it(call))
        except UnmappedCall:
            self.unenforced.append(call)
            return None
        documents = self._documents(role_arn)
        for permission in needed:
            verdict = self._verdict(documents, permission)
            if verdict is PermissionResult.PERMITTED:
                continue
            kms = permission.action.startswith("kms:")
            shown = "SNS:Publish" if permission.action == "sns:Publish" else permission.action
            message = denial_message(
                principal, shown, permission.resource, verdict is PermissionResult.DENIED
            )
            if call.service == "sns" and kms:
                # SNS passes on KMS's own refusal (Service: AWSKMS; Error Code: AccessDeniedException).
                message += (
                    " (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; "
                    f"Request ID: {_request_id()})"
                )
            status, _, _ = respond(call.operation, message, kms)
            code = self._code(call.service, call.operation, kms, status)
            denial = RuntimeDenial(
                function_name=call.function_name,
                role_arn=role_arn,
                principal=principal,
                service=call.service,
                operation=call.operation,
                action=permission.action,
                resource=permission.resource,
                why=permission.why,
                error_code=code,
                http_status=status,
                message=message,
            )
            with self._lock:
                self.denials.append(denial)
            return denial
        return None

    @staticmethod
    def _code(service: str, operation: str, kms: bool, status: int) -> str:
        if service == "s3":
            return "403" if operation == "HeadObject" else "AccessDenied"
        if service == "sns":
            return "KMSAccessDenied" if kms else "AuthorizationError"
        if service == "sqs":
            return "KmsAccessDenied" if kms else "AccessDenied"
        return "AccessDeniedException"

    def _before_call(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        # before-call, not before-send: botocore stops at the first before-call handler that answers, but
        # runs every before-send handler (moto's stubber would still execute the call).
        call = call_in_context(context)
        if call is None:
            return None
        denial = self.check(call)
        if denial is None:
            return None
        kms = denial.action.startswith("kms:")
        status, headers, body = _ERROR_RESPONSES[call.service](call.operation, denial.message, kms)
        response = AWSResponse(f"https://{call.service}.amazonaws.com/", status, headers, _Body(body))
        # The service's wire error, parsed by botocore's own parser for the protocol, as a real answer is.
        parser = ResponseParserFactory().create_parser(model.service_model.protocol)
        parsed = parser.parse(convert_to_response_dict(response, model), model.output_shape)
        return response, parsed

    # -- inputs, read from moto -----------------------------------------------------------------------------
    def _mapper(self, region: str) -> PermissionMapper:
        if region not in self._mappers:
            self._mappers[region] = PermissionMapper(self.account, region)
        return self._mappers[region]

    def _identity(self, access_key: str | None) -> tuple[str, str] | None:
        """(role ARN, assumed-role session ARN) of an STS AssumeRole credential made in moto."""
        if not access_key:
            return None
        if access_key not in self._identities:
            session = next(
                (
                    r
                    for r in sts_backends[self.account]["global"].assumed_roles
                    if r.access_key_id == access_key
                ),
                None,
            )
            if session is None:
                return None
            self._identities[access_key] = (session.role_arn, session.arn)
        return self._identities[access_key]

    def _documents(self, role_arn: str) -> tuple[str, ...]:
        """The role's policy documents as moto holds them now (inline; the stack attaches no others)."""
        role = iam_backends[self.account]["global"].get_role_by_arn(role_arn)
        if role.managed_policies:
            raise NotImplementedError(
                f"{role_arn}: managed policy attachments are not enforced by the local run"
            )
        return tuple(role.policies.values())

    def _verdict(self, documents: tuple[str, ...], permission: Permission) -> PermissionResult:
        key = (documents, permission.action, permission.resource)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = evaluate_identity_policies(documents, permission.action, permission.resource)
            with self._lock:
                self._verdicts[key] = verdict
        return verdict

    def _as_aws_sees_it(self, call: RecordedCall) -> RecordedCall:
        """For a read of an object that does not exist, the outcome S3 authorises it by (s3:ListBucket)."""
        if (call.service, call.operation) not in (("s3", "GetObject"), ("s3", "HeadObject")):
            return call
        p = call.params
        try:
            stored = s3_backends[self.account]["aws"].get_object(
                p["Bucket"], p["Key"], version_id=p.get("VersionId")
            )
        except Exception:
            stored = None
        if stored is not None:
            return call
        return dataclasses.replace(call, error_code="NoSuchVersion" if p.get("VersionId") else "NoSuchKey")
