"""Corrections to moto behaviour that would make the real stack fail where AWS would not.

- Bucket policies: moto's S3 evaluates a bucket policy without any request context,
  and its evaluator answers DENIED for *any* statement whose condition does not
  hold — so the standard TLS-only statement (`Deny s3:* when aws:SecureTransport is
  false`) denies every request. Here the bucket policy is evaluated with
  `resource_policies.evaluate` and the context of an HTTPS request (every boto3
  call in the local run uses an https endpoint): a Deny applies only when its
  condition holds, as in AWS.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from . import resource_policies

_DECISIONS = {
    resource_policies.ALLOW: PermissionResult.PERMITTED,
    resource_policies.EXPLICIT_DENY: PermissionResult.DENIED,
    resource_policies.IMPLICIT_DENY: PermissionResult.NEUTRAL,
}


class MotoFixes:
    """Installs the corrections listed in the module docstring."""

    def __init__(self) -> None:
        self._original_get_permission = FakeBucket.get_permission

    def install(self) -> None:
        def get_permission(bucket: FakeBucket, action: str, resource: str) -> Any:
            if bucket.policy is None:
                return PermissionResult.NEUTRAL
            request = resource_policies.ServiceRequest(
                service=None,
                action=action,
                resource=resource,
                context={"aws:SecureTransport": "true"},
            )
            return _DECISIONS[resource_policies.evaluate(bucket.policy.decode(), request)]

        FakeBucket.get_permission = get_permission  # type: ignore[method-assign]

    def uninstall(self) -> None:
        FakeBucket.get_permission = self._original_get_permission  # type: ignore[method-assign]
