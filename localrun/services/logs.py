"""CloudWatch Logs: log groups, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def log_group(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=512)
    logs = m.client("logs")
    logs.create_log_group(logGroupName=name, **i.present({"kmsKeyId": "kmsKeyId"}))
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(i.get("retentionInDays")))
    arn = f"arn:aws:logs:{m.region}:{m.account}:log-group:{name}"
    return name, {"arn": arn, "name": name}
