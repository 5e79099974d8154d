"""Corrections to moto behaviour that would make the real stack fail where AWS would not.

- Bucket policies: moto's S3 evaluates a bucket policy without any request context,
  and its evaluator answers DENIED for *any* statement whose condition does not
  hold — so the standard TLS-only statement (`Deny s3:* when aws:SecureTransport is
  false`) denies every request. Here the bucket policy is evaluated with
  `access.evaluate_resource_policy` and the context of an HTTPS request (every boto3
  call in the local run uses an https endpoint): a Deny applies only when its
  condition holds, as in AWS.
- Access-log destinations: moto's check that a target bucket's policy admits the logging
  service crashes on a statement whose Principal is `"*"` (the TLS-only Deny) and only
  accepts a Resource written as one string. Here the target's policy is evaluated with
  `access.evaluate_resource_policy` for logging.s3.amazonaws.com putting a log object under
  the target prefix, with the source bucket as aws:SourceArn, as S3 checks it
  (S3 User Guide, "Enabling Amazon S3 server access logging", permissions for log delivery).
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import CrossLocationLoggingProhibited, InvalidTargetBucketForLogging
from moto.s3.models import FakeBucket

from . import access
from .patches import Patch

_DECISIONS = {
    access.ALLOW: PermissionResult.PERMITTED,
    access.EXPLICIT_DENY: PermissionResult.DENIED,
    access.IMPLICIT_DENY: PermissionResult.NEUTRAL,
}


class MotoFixes:
    """The corrections listed in the module docstring, as patches (see `patches.py`)."""

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.s3.models.FakeBucket",
                "get_permission",
                _get_permission,
                reason="bucket policy evaluated with an HTTPS request's context",
            ),
            Patch(
                "moto.s3.models.FakeBucket",
                "set_logging",
                _set_logging,
                reason="access-log target policy judged as S3 judges it",
            ),
        ]


def _get_permission(bucket: FakeBucket, action: str, resource: str) -> Any:
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    request = access.ServiceRequest(
        service=None,
        action=action,
        resource=resource,
        context={"aws:SecureTransport": "true"},
    )
    return _DECISIONS[access.evaluate_resource_policy(bucket.policy.decode(), request)]


def _set_logging(bucket: FakeBucket, logging_config: dict[str, Any] | None, backend: Any) -> None:
    """PutBucketLogging as S3 judges it: the target exists in the same region and its policy lets the
    logging service write under the prefix for this source bucket."""
    if not logging_config:
        bucket.logging = {}
        return
    target = backend.buckets.get(logging_config["TargetBucket"])
    if target is None:
        raise InvalidTargetBucketForLogging("The target bucket for logging does not exist.")
    if target.region_name != bucket.region_name:
        raise CrossLocationLoggingProhibited()
    request = access.ServiceRequest(
        service="logging.s3.amazonaws.com",
        action="s3:PutObject",
        resource=f"{target.arn}/{logging_config.get('TargetPrefix') or ''}log-object",
        context={
            "aws:SourceArn": bucket.arn,
            "aws:SourceAccount": bucket.account_id,
            "aws:SecureTransport": "true",
        },
    )
    policy = target.policy.decode() if target.policy else None
    if policy is None or access.evaluate_resource_policy(policy, request) != access.ALLOW:
        raise InvalidTargetBucketForLogging(
            "You must either provide the necessary permissions to the logging service using a bucket "
            "policy or give the log-delivery group WRITE and READ_ACP permissions to the target bucket"
        )
    bucket.logging = logging_config
