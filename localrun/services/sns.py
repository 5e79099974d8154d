"""SNS: topics, topic policies and subscriptions, created in moto.

`SnsDeliveries`: subscriptions delivered as SNS delivers them (see `deliveries.py`).

`SnsFaultInjector`: SNS failures injected for tests (the demo injects none): PublishBatch refused
for chosen callers.

`SnsFaults.publish_batch_down_for` names functions whose `PublishBatch` calls SNS answers
with `InternalError` (HTTP 500), as during an SNS outage, until the test replaces the
faults. The caller is identified as AWS identifies it, by the access key on the request
(each function calls with its role's credentials, see `calls.py`). The patch sits on
moto's response handler, not its backend, because only the handler sees the request's
credentials; raised there, the error goes back over moto's HTTP layer, so botocore
retries it as it would a real 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.sns.exceptions import InternalError
from moto.sns.responses import SNSResponse

from ..access import SNS
from ..calls import CallRecorder
from ..patches import Patch
from ..trace import objects_in_event
from .base import Inputs, as_json, iso_now

if TYPE_CHECKING:
    from ..deliveries import Deliveries
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


class SnsDeliveries:
    """SNS subscriptions as SNS delivers them: Lambda with the real record, asynchronously, and SQS only
    where the queue policy allows (see `deliveries.py`, points 4 and 7)."""

    def __init__(self, hub: Deliveries) -> None:
        self.hub = hub

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.sns.models.Subscription",
                "publish",
                wrap=self._subscription_publish,
                reason="SNS -> Lambda / SQS subscriptions",
            ),
        ]

    def _subscription_publish(self, original: Callable[..., None]) -> Callable[..., None]:
        deliveries = self

        def publish(  # noqa: PLR0917 - moto's Subscription.publish signature
            subscription: Any,
            message: str,
            message_id: str,
            subject: str | None = None,
            message_attributes: dict[str, Any] | None = None,
            group_id: str | None = None,
            deduplication_id: str | None = None,
            message_structure: str | None = None,
        ) -> None:
            if subscription.protocol == "lambda":
                deliveries._sns_to_lambda(
                    subscription=subscription,
                    message=message,
                    message_id=message_id,
                    subject=subject,
                    message_attributes=message_attributes,
                    message_structure=message_structure,
                )
                return
            if subscription.protocol == "sqs":
                denied = deliveries.hub.guard.queue_send(SNS, subscription.endpoint, subscription.topic.arn)
                if denied:
                    deliveries.hub.problem(
                        objects_in_event(message), f"sns:{subscription.topic.name}", denied
                    )
                    return
            original(
                subscription,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )

        return publish

    def _sns_to_lambda(
        self,
        *,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None,
        message_structure: str | None,
    ) -> None:
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = subscription._parse_message_structure(message, "lambda")
        uris = objects_in_event(message)
        topic = subscription.topic
        denied = self.hub.guard.lambda_invoke(SNS, subscription.endpoint, topic.arn)
        if denied:
            self.hub.problem(uris, f"sns:{topic.name}", denied)
            return
        region = topic.arn.split(":")[3]
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": topic.arn,
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": iso_now(),
                        "SignatureVersion": "1",
                        "Signature": "EXAMPLE-local-run-does-not-sign",
                        "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
                        "UnsubscribeUrl": (
                            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
                        ),
                        "MessageAttributes": message_attributes or {},
                    },
                }
            ]
        }
        self.hub.runtime.invoke_async(subscription.endpoint, event, source=f"sns:{topic.name}")


# -- injected faults --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SnsFaults:
    """Which callers SNS refuses: PublishBatch made with these functions' roles fails."""

    publish_batch_down_for: frozenset[str] = frozenset()


class SnsFaultInjector:
    """Answers moto's SNS `PublishBatch` with an outage for the callers named in `faults`."""

    def __init__(self, recorder: CallRecorder) -> None:
        self.recorder = recorder
        self.faults = SnsFaults()
        self.refused = 0  # PublishBatch requests answered with the injected outage
        self._lock = threading.Lock()

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.sns.responses.SNSResponse",
                "publish_batch",
                wrap=self._wrap_publish_batch,
                reason="PublishBatch refused for the callers named in the faults",
            )
        ]

    def _wrap_publish_batch(self, original: Callable[[SNSResponse], Any]) -> Callable[[SNSResponse], Any]:
        injector = self

        def publish_batch(response: SNSResponse) -> Any:
            function_name = injector.recorder.function_for_key(response.get_access_key())
            if function_name in injector.faults.publish_batch_down_for:
                with injector._lock:
                    injector.refused += 1
                raise InternalError(f"injected SNS outage for {function_name}")
            return original(response)

        return publish_batch
