"""Evaluate resource-based policies (topic, queue, key, function policies) for AWS service callers.

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
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, request: ServiceRequest) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = _as_list(principal.get("AWS", []))
    if "*" in aws or (request.principal_arn is not None and request.principal_arn in aws):
        return True
    return request.service is not None and request.service in _as_list(principal.get("Service", []))


def _element_matches(statement: Mapping[str, Any], name: str, value: str, *, case_sensitive: bool) -> bool:
    """Action/NotAction or Resource/NotResource; a missing element matches everything."""
    if name in statement:
        return any(wildcard_match(p, value, case_sensitive=case_sensitive) for p in _as_list(statement[name]))
    negated = f"Not{name}"
    if negated in statement:
        return not any(
            wildcard_match(p, value, case_sensitive=case_sensitive) for p in _as_list(statement[negated])
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
            matched = any(compare(str(expected), actual) for expected in _as_list(expected_values))
            if matched == negated:
                return False
    return True


def evaluate(policy: str | Mapping[str, Any] | None, request: ServiceRequest) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for `request` under the resource policy `policy`."""
    if not policy:
        return IMPLICIT_DENY
    document = json.loads(policy) if isinstance(policy, str) else policy
    decision = IMPLICIT_DENY
    for statement in _as_list(document.get("Statement", [])):
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
