"""IAM: roles, inline role policies and customer managed policies, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, as_json

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def role(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=64)
    role = m.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=as_json(i.req("assumeRolePolicy"))
    )["Role"]
    return name, {
        "arn": role["Arn"],
        "name": name,
        "uniqueId": role["RoleId"],
        "createDate": str(role["CreateDate"]),
    }


def role_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    role = i.req("role")
    name = i.name_or_auto(max_length=128)
    m.client("iam").put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=as_json(i.req("policy")))
    return f"{role}:{name}", {"name": name}


def managed_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    """A customer managed policy (attached by whoever uses it; the stack attaches none)."""
    name = i.name_or_auto(max_length=128)
    policy = m.client("iam").create_policy(
        PolicyName=name,
        Path=i.get("path", "/"),
        PolicyDocument=as_json(i.req("policy")),
        Description=i.get("description", ""),
    )["Policy"]
    return policy["Arn"], {
        "arn": policy["Arn"],
        "name": name,
        "policyId": policy["PolicyId"],
        "attachmentCount": 0,
    }
