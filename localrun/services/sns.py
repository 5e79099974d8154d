"""SNS: topics, topic policies and subscriptions, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, as_json

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def topic(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=256)
    attributes = i.present({"kmsMasterKeyId": "KmsMasterKeyId"})
    arn = m.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return arn, {"arn": arn, "name": name, "owner": m.account}


def topic_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    arn = i.req("arn")
    m.client("sns").set_topic_attributes(
        TopicArn=arn, AttributeName="Policy", AttributeValue=as_json(i.req("policy"))
    )
    return arn, {"owner": m.account}


def topic_subscription(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    attributes = i.present(
        {
            "filterPolicy": "FilterPolicy",
            "filterPolicyScope": "FilterPolicyScope",
            "redrivePolicy": "RedrivePolicy",
        },
        as_json,
    )
    arn = m.client("sns").subscribe(
        TopicArn=i.req("topic"),
        Protocol=i.req("protocol"),
        Endpoint=i.req("endpoint"),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return arn, {"arn": arn, "ownerId": m.account, "pendingConfirmation": False}
