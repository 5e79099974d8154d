"""SQS: queues (with redrive) and queue policies, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, Limit, as_json

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


# -- AWS size limits moto does not enforce ------------------------------------------------------------
# AWS size limits (the whole table: `limits.LIMITS`).
LIMITS: dict[str, Limit] = {
    # moto enforces this one (see the module docstring); listed so the table is complete.
    "sqs_message": Limit(
        "SQS SendMessage body (queue MaximumMessageSize, default)",
        1024 * 1024,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html",
        "InvalidParameterValue",
        400,
        "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
    ),
}
