"""EventBridge: rules and targets, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, as_json, physical_name

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def event_rule(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=64)
    params: dict[str, Any] = {
        "Name": name,
        "EventPattern": as_json(i.req("eventPattern")),
        "State": i.get("state", "ENABLED"),
        **i.present({"description": "Description"}),
    }
    arn = m.client("events").put_rule(**params)["RuleArn"]
    return name, {"arn": arn, "name": name}


def event_target(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
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
    m.client("events").put_targets(Rule=rule, Targets=[target])
    return f"{rule}-{target_id}", {"targetId": target_id}
