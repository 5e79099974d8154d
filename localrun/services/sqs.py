"""SQS: queues (with redrive) and queue policies, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, as_json

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def queue(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=80)
    attributes = i.present(
        {
            "visibilityTimeoutSeconds": "VisibilityTimeout",
            "messageRetentionSeconds": "MessageRetentionPeriod",
        },
        lambda seconds: str(int(seconds)),
    )
    attributes |= i.present({"kmsMasterKeyId": "KmsMasterKeyId"})
    attributes |= i.present({"redrivePolicy": "RedrivePolicy"}, as_json)
    sqs = m.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"arn": arn, "url": url, "name": name}


def queue_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    url = i.req("queueUrl")
    m.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": as_json(i.req("policy"))})
    return url, {}
