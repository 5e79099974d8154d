"""Least privilege, checked both ways: recorded calls → IAM actions on ARNs → the role's declared policies.

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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from .calls import RecordedCall
from .program import ProgramRun
from .resource_policies import wildcard_match

# Granted actions that no recorded call needs because AWS uses them for the function, out of the
# local run's sight. Keep this list short; each entry says who uses it.
USED_BY_AWS_ON_FUNCTIONS_BEHALF = {
    # With tracing Active, Lambda's X-Ray integration sends segments with the execution role; the local
    # run records no traces.
    "xray:PutTraceSegments": "Lambda X-Ray integration (tracing Active)",
    "xray:PutTelemetryRecords": "Lambda X-Ray integration (tracing Active)",
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

    def required_permissions(self, call: RecordedCall) -> list[Permission]:
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
        if op == ("sagemaker-runtime", "InvokeEndpoint"):
            # SageMaker ARNs carry the endpoint name in lower case.
            arn = f"arn:aws:sagemaker:{call.region}:{self.account}:endpoint/{p['EndpointName'].lower()}"
            return [Permission("sagemaker:InvokeEndpoint", arn, "InvokeEndpoint")]
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
        raise UnmappedCall(f"no IAM mapping for {call.service}:{call.operation}; add it to iam_check.py")

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
            raise UnmappedCall(f"no IAM mapping for sqs:{call.operation}; add it to iam_check.py")
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

    # -- encryption settings, read from moto ------------------------------------------------------
    def _key_arn(self, key_id: str | None) -> str | None:
        if not key_id:
            return None
        try:
            return kms_backends[self.account][self.region].describe_key(key_id).arn
        except KeyError:
            return None

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


def is_allowed(documents: Iterable[str], action: str, resource: str) -> bool:
    """moto's IAM evaluator over every document: allowed if one permits and none denies."""
    results = []
    for document in documents:
        _statements(document)  # refuses statements moto's evaluator would misjudge
        results.append(IAMPolicy(document).is_action_permitted(action, resource))
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


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


def unexercised_grants(documents: list[str], needed: Iterable[Permission]) -> list[Grant]:
    """Grants no recorded call needed and AWS does not use on the function's behalf.

    An action pattern with a wildcard (`s3:*`, `*`) counts as unexercised: it grants actions no call needed.
    """
    needed = list(needed)
    unused = []
    for grant in grants(documents):
        if grant.action in USED_BY_AWS_ON_FUNCTIONS_BEHALF:
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
