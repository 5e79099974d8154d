"""KMS: the key, its alias and its key policy, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, as_json

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def kms_key(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    kms = m.client("kms")
    key = kms.create_key(Description=i.get("description", ""))["KeyMetadata"]
    if i.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}


def kms_alias(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.req("name")
    m.client("kms").create_alias(AliasName=name, TargetKeyId=i.req("targetKeyId"))
    return name, {"name": name, "arn": f"arn:aws:kms:{m.region}:{m.account}:{name}"}


def kms_key_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    key_id = i.req("keyId")
    m.client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=as_json(i.req("policy")))
    return key_id, {}
