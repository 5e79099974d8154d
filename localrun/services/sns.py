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

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.sns.exceptions import InternalError, InvalidParameterValue, SNSException
from moto.sns.responses import SNSResponse

from ..access import SNS
from ..calls import CallRecorder
from ..patches import Patch
from ..trace import objects_in_event
from .base import Inputs, Limit, as_json, iso_now, utf8_size

if TYPE_CHECKING:
    from ..deliveries import Deliveries
    from ..limits import LimitEnforcer
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
    # moto delivers raw whenever the attribute is set at all, so it is set only when true, as AWS reads it.
    if i.get("rawMessageDelivery"):
        attributes["RawMessageDelivery"] = "true"
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


# -- AWS size limits moto does not enforce ------------------------------------------------------------
# AWS size limits (the whole table: `limits.LIMITS`).
LIMITS: dict[str, Limit] = {
    # Body plus attribute names, types and values; a topic's default MaximumMessageSize (the stack sets none).
    "sns_message": Limit(
        "SNS Publish message with its attributes",
        256 * 1024,
        "https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html",
        "InvalidParameter",
        400,
        "Invalid parameter: Message too long",
    ),
    "sns_batch": Limit(
        "SNS PublishBatch, all entries with their attributes",
        256 * 1024,
        "https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html",
        "BatchRequestTooLong",
        400,
        "The length of all the batch messages put together is more than the limit.",
    ),
}


def sns_message_size(message: str, attributes: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes SNS counts: the body plus each attribute's name, data type and value."""
    size = utf8_size(message)
    for name, value in (attributes or {}).items():
        data_type = value.get("Type", value.get("DataType", ""))
        raw = value.get("Value", value.get("StringValue", value.get("BinaryValue", "")))
        size += (
            utf8_size(name)
            + utf8_size(str(data_type))
            + utf8_size(raw if isinstance(raw, bytes) else str(raw))
        )
    return size


class _SnsBatchTooLong(SNSException):
    code = LIMITS["sns_batch"].error_code


def _sns_publish(enforcer: LimitEnforcer, original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(backend: Any, message: str, *args: Any, **kwargs: Any) -> Any:
        attributes = kwargs.get("message_attributes", args[3] if len(args) > 3 else None)
        if (
            isinstance(message, str)
            and sns_message_size(message, attributes) > LIMITS["sns_message"].max_bytes
        ):
            raise InvalidParameterValue(enforcer.refuse("sns_message").message)
        return original(backend, message, *args, **kwargs)

    return publish


def _sns_publish_batch(enforcer: LimitEnforcer, original: Callable[..., Any]) -> Callable[..., Any]:
    def publish_batch(backend: Any, topic_arn: str, publish_batch_request_entries: list[Any]) -> Any:
        entries = publish_batch_request_entries
        total = sum(sns_message_size(e.get("Message", ""), e.get("MessageAttributes")) for e in entries)
        if total > LIMITS["sns_batch"].max_bytes:
            raise _SnsBatchTooLong(enforcer.refuse("sns_batch").message)
        return original(backend, topic_arn, entries)

    return publish_batch


def limit_patches(enforcer: LimitEnforcer) -> list[Patch]:
    """This service's checks in `limits.LimitEnforcer` (see `limits.py`)."""
    return [
        Patch(
            "moto.sns.models.SNSBackend",
            "publish",
            wrap=functools.partial(_sns_publish, enforcer),
            reason="SNS message size",
        ),
        Patch(
            "moto.sns.models.SNSBackend",
            "publish_batch",
            wrap=functools.partial(_sns_publish_batch, enforcer),
            reason="SNS PublishBatch total size",
        ),
    ]
