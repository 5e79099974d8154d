"""EventBridge: rules and targets, created in moto."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jsonpath_ng.ext import parse as jsonpath_parse
from moto.events.utils import EventTemplateParser
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from ..access import EVENTS
from ..patches import Patch
from ..trace import objects_in_event
from .base import Inputs, as_json, physical_name

if TYPE_CHECKING:
    from ..deliveries import Deliveries
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


class EventBridgeDeliveries:
    """EventBridge rule targets moto does not deliver to: Lambda and SNS (see `deliveries.py`, point 3)."""

    def __init__(self, hub: Deliveries) -> None:
        self.hub = hub

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.events.models.Rule",
                "send_to_targets",
                wrap=lambda original: self.hub.never_failing(self._rule_send_to_targets(original)),
                reason="EventBridge -> Lambda / SNS targets",
            ),
        ]

    def _rule_send_to_targets(self, original: Callable[..., None]) -> Callable[..., None]:
        deliveries = self

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
                return
            uris = objects_in_event(event)
            deliveries.hub.trace.record(uris, f"eventbridge:{rule.name}", "rule matched")
            left_to_moto = []
            for target in rule.targets:
                service = target["Arn"].split(":")[2]
                if service == "lambda":
                    deliveries._event_to_lambda(rule, target, event, uris)
                elif service == "sns":
                    deliveries._event_to_sns(rule, target, event, uris)
                else:
                    left_to_moto.append(target)
            if left_to_moto:
                view = copy.copy(rule)
                view.targets = left_to_moto
                original(view, event, transform_input)

        return send_to_targets

    def _event_to_lambda(
        self, rule: Any, target: dict[str, Any], event: dict[str, Any], uris: list[str]
    ) -> None:
        denied = self.hub.guard.lambda_invoke(EVENTS, target["Arn"], rule.arn)
        if denied:
            self._target_failed(rule, target, event, uris, denied)
            return
        self.hub.runtime.invoke_async(
            target["Arn"], _target_input(target, event), source=f"eventbridge:{rule.name}"
        )

    def _event_to_sns(
        self, rule: Any, target: dict[str, Any], event: dict[str, Any], uris: list[str]
    ) -> None:
        topic_arn = target["Arn"]
        denied = self.hub.guard.topic_publish(EVENTS, topic_arn, rule.arn)
        if denied:
            self._target_failed(rule, target, event, uris, denied)
            return
        payload = _target_input(target, event)
        message = payload if isinstance(payload, str) else json.dumps(payload)
        sns_backends[self.hub.account][self.hub.region].publish(arn=topic_arn, message=message)
        self.hub.trace.record(uris, f"sns:{topic_arn.rsplit(':', 1)[-1]}", f"published by rule {rule.name}")

    def _target_failed(
        self,
        rule: Any,
        target: dict[str, Any],
        event: dict[str, Any],
        uris: list[str],
        message: str,
    ) -> None:
        """EventBridge does not retry permission/not-found errors: straight to the target's DLQ."""
        step = f"eventbridge:{rule.name}"
        self.hub.problem(uris, step, f"target {target['Arn']}: {message}")
        dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq_arn:
            self.hub.trace.record(uris, step, "event dropped: target failed and no dead-letter queue")
            return
        denied = self.hub.guard.queue_send(EVENTS, dlq_arn, rule.arn)
        if denied:
            self.hub.problem(uris, step, f"dead-letter queue: {denied}")
            return
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": "AccessDeniedException",
            "ERROR_MESSAGE": message[:256],
            "RETRY_ATTEMPTS": "0",
        }
        sqs_backends[self.hub.account][self.hub.region].send_message(
            queue_name=dlq_arn.rsplit(":", 1)[-1],
            message_body=json.dumps(event),
            message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        self.hub.trace.record(
            uris, f"sqs:{dlq_arn.rsplit(':', 1)[-1]}", "EventBridge target dead-letter queue"
        )


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a rule target receives: the event, or its Input / InputPath / InputTransformer result."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = jsonpath_parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        with_ingestion = {**event, "ingestion-time": event.get("ingestion-time", event.get("time"))}
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=with_ingestion,
        )
    if isinstance(event.get("time"), (int, float)):
        event = {**event, "time": datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {k: v for k, v in event.items() if k != "ingestion-time"}
