"""How events travel between services in the local run: moto's delivery, with its gaps bridged.

moto already delivers S3 notifications to SNS/SQS/Lambda/EventBridge, SNS messages to
subscriptions (with filter policies) and EventBridge events to rule targets. This
module changes exactly these points of moto, each for a stated reason:

1. S3 notification records (`_get_s3_event`): moto omits `versionId`, `sequencer`,
   `userIdentity`, `requestParameters`, `responseElements` and the bucket owner;
   the handler needs the first two (ordering, versioned reads). Added, AWS-shaped;
   one sequencer per object version, increasing, shared by every destination.
2. S3 → EventBridge (`_send_event_bridge_message`): moto sends a fixed id and
   sequencer, `eTag` instead of `etag`, a numeric `time`, `reason` "ObjectCreated",
   to rules on every bus, and its rules cannot target Lambda. Replaced with the
   documented event (detail `reason` "PutObject") put on the default bus only.
   The key is sent as stored (not URL-encoded), as in AWS's documented example.
3. EventBridge rule targets (`Rule.send_to_targets`): Lambda and SNS targets added
   (moto raises NotImplementedError for them, and ignores DISABLED state). A target
   the caller may not invoke (missing resource policy, missing function) is not
   retried, as in EventBridge: the event goes to the target's dead-letter queue
   with EventBridge's error attributes. Accepted Lambda invocations are
   asynchronous, so their failures follow Lambda's async retry rules, not the
   target's retry policy — as in AWS. Other targets are left to moto.
4. SNS → Lambda (`Subscription.publish`): moto builds a placeholder event
   (`TopicArn` "arn:aws:sns:EXAMPLE", fixed attributes) and invokes synchronously.
   Replaced with the real record shape and an asynchronous invocation.
5. S3 → Lambda (`_invoke_awslambda`): moto invokes synchronously inside PutObject;
   here it is an asynchronous invocation, as S3 makes it. And moto announces an
   `ObjectTagging:Put` event for every PutObject (it tags each new object with an
   empty tag set); S3 does not, so that event is dropped for untagged objects.
6. SageMaker's "Endpoint State Change" event: moto emits none; the local run puts the
   IN_SERVICE event on the default bus once deployment has finished (see
   `emit_endpoint_in_service`), so the rule forwarding it to the notifications topic runs.
7. Access checks moto does not make, made where AWS makes them: the function's
   resource policy for S3/SNS/EventBridge invokes, the topic/queue policy for
   EventBridge → SNS and SNS → SQS, and the KMS key policy when a service writes
   to an encrypted topic or queue. A denied delivery is recorded as a problem and
   a hop, never silently dropped.

Not emulated: SNS's own delivery retries and a subscription's redrive DLQ (a denied
SNS → Lambda delivery is recorded as a problem instead), and EventBridge's retry policy
(Lambda accepts asynchronous invocations, so in the local run only non-retryable
failures — permission, missing function — occur, and those go straight to the DLQ).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from jsonpath_ng.ext import parse as jsonpath_parse
from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.s3 import notifications as s3_notifications
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from .access import EVENTS, S3, SNS, AccessGuard
from .lambda_.runtime import LambdaRuntime
from .patches import Patch
from .trace import Trace, object_uri, objects_in_event


class Deliveries:
    """Installs the delivery changes listed in the module docstring; `problems` lists every denial."""

    def __init__(self, runtime: LambdaRuntime, trace: Trace) -> None:
        self.runtime = runtime
        self.trace = trace
        self.guard = AccessGuard(runtime)
        self.account = runtime.account
        self.region = runtime.region
        self.problems: list[str] = []
        self.s3_notifications: list[dict[str, Any]] = []  # every S3 notification event S3 sent, in order
        self.service_events: list[dict[str, Any]] = []  # events the local run emitted for AWS services
        self._sequencer = itertools.count(1)
        self._sequencer_base = int(datetime.now(UTC).timestamp() * 1000) << 20
        self._sequencer_lock = threading.Lock()

    # -- patches -----------------------------------------------------------------------
    def patches(self) -> list[Patch]:
        s3 = "moto.s3.notifications"
        return [
            Patch(s3, "_get_s3_event", self._s3_notification_event, reason="S3 event records as S3 writes"),
            Patch(s3, "send_event", wrap=self._wrap_s3_send_event, reason="S3 notification sends recorded"),
            Patch(s3, "_send_sns_message", self._never_failing(self._s3_to_sns), reason="S3 -> SNS"),
            Patch(s3, "_send_sqs_message", self._never_failing(self._s3_to_sqs), reason="S3 -> SQS"),
            Patch(s3, "_invoke_awslambda", self._never_failing(self._s3_to_lambda), reason="S3 -> Lambda"),
            Patch(
                s3,
                "_send_event_bridge_message",
                self._never_failing(self._s3_to_eventbridge),
                reason="S3 -> EventBridge",
            ),
            Patch(
                "moto.events.models.Rule",
                "send_to_targets",
                wrap=lambda original: self._never_failing(self._rule_send_to_targets(original)),
                reason="EventBridge -> Lambda / SNS targets",
            ),
            Patch(
                "moto.sns.models.Subscription",
                "publish",
                wrap=self._subscription_publish,
                reason="SNS -> Lambda / SQS subscriptions",
            ),
        ]

    def _never_failing(self, deliver: Callable[..., None]) -> Callable[..., None]:
        """A delivery is asynchronous in AWS: its failure never fails the request that caused it."""

        def deliver_or_record(*args: Any, **kwargs: Any) -> None:
            try:
                deliver(*args, **kwargs)
            except Exception as err:  # recorded as a problem, never swallowed silently
                uris = [u for a in args if isinstance(a, (dict, str)) for u in objects_in_event(a)]
                self._problem(uris, getattr(deliver, "__name__", "delivery"), f"delivery failed: {err!r}")

        return deliver_or_record

    def _problem(self, uris: list[str], step: str, message: str) -> None:
        self.problems.append(f"{step}: {message}")
        self.trace.record(uris, step, f"DENIED: {message}")

    # -- S3 -----------------------------------------------------------------------------
    def sequencer_of(self, key: Any) -> str:
        """One sequencer per object version, increasing (S3 uses it to order events per key)."""
        with self._sequencer_lock:
            if getattr(key, "_localrun_sequencer", None) is None:
                key._localrun_sequencer = f"{self._sequencer_base + next(self._sequencer):018X}"
            return key._localrun_sequencer

    def _s3_notification_event(
        self, event_name: str, bucket: Any, key: Any, notification_id: str
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "key": quote_plus(key.name, safe="/"),  # URL-encoded, "+" for space, as S3 sends it
            "size": key.size,
            "eTag": key.etag.replace('"', ""),
            "sequencer": self.sequencer_of(key),
        }
        if key.version_id and key.version_id != "null":
            obj["versionId"] = key.version_id
        event = {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": bucket.region_name,
                    "eventTime": _iso_now(),
                    "eventName": event_name.removeprefix("s3:"),
                    "userIdentity": {"principalId": f"AWS:{self.account}"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {
                        "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                        "x-amz-id-2": uuid.uuid4().hex,
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": notification_id,
                        "bucket": {
                            "name": bucket.name,
                            "ownerIdentity": {"principalId": self.account},
                            "arn": bucket.arn,
                        },
                        "object": obj,
                    },
                }
            ]
        }
        self.s3_notifications.append(event)
        return event

    def _wrap_s3_send_event(self, original: Callable[..., None]) -> Callable[..., None]:
        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            name = str(getattr(event_name, "value", event_name))
            if name == "s3:ObjectTagging:Put" and not _has_tags(account_id, key):
                # moto tags every new object (with no tags) inside PutObject and announces it; S3 does not.
                return
            self.trace.record(
                [object_uri(bucket.name, key.name)], f"s3:{bucket.name}", name.removeprefix("s3:")
            )
            original(account_id, event_name, bucket, key)

        return send_event

    def _s3_to_sns(self, account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        step = f"sns:{topic_arn.rsplit(':', 1)[-1]}"
        bucket_arn = _bucket_arn_of(event_body)
        denied = self.guard.topic_publish(S3, topic_arn, bucket_arn) if bucket_arn else None
        if denied:
            self._problem(uris, step, denied)
            return
        sns_backends[account_id][region_name].publish(arn=topic_arn, message=json.dumps(event_body))
        self.trace.record(uris, step, "published by S3")

    def _s3_to_sqs(self, account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        queue_arn = f"arn:aws:sqs:{region_name}:{account_id}:{queue_name}"
        bucket_arn = _bucket_arn_of(event_body)
        denied = self.guard.queue_send(S3, queue_arn, bucket_arn) if bucket_arn else None
        if denied:
            self._problem(uris, f"sqs:{queue_name}", denied)
            return
        sqs_backends[account_id][region_name].send_message(
            queue_name=queue_name, message_body=json.dumps(event_body)
        )
        self.trace.record(uris, f"sqs:{queue_name}", "sent by S3")

    def _s3_to_lambda(self, account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        bucket_arn = _bucket_arn_of(event_body) or ""
        denied = self.guard.lambda_invoke(S3, fn_arn, bucket_arn)
        if denied:
            self._problem(uris, f"lambda:{fn_arn.rsplit(':', 1)[-1]}", denied)
            return
        self.runtime.invoke_async(fn_arn, event_body, source=f"s3:{bucket_arn.rsplit(':', 1)[-1]}")

    def _s3_to_eventbridge(self, account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        detail_type = s3_notifications._detail_type(event_name)
        obj: dict[str, Any] = {
            "key": key.name,
            "size": key.size,
            "etag": key.etag.replace('"', ""),
            "sequencer": self.sequencer_of(key),
        }
        if key.version_id and key.version_id != "null":
            obj["version-id"] = key.version_id
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": account_id,
            "time": _iso_now(seconds_only=True),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": obj,
                "request-id": uuid.uuid4().hex[:16].upper(),
                "requester": account_id,
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject" if "Put" in str(event_name) else str(event_name).rsplit(":", 1)[-1],
            },
        }
        default_bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        if default_bus is None:
            return
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(event, transform_input=False)

    # -- events AWS services emit -----------------------------------------------------------
    def emit_endpoint_in_service(self) -> None:
        """Put "SageMaker Endpoint State Change" (IN_SERVICE) on the default bus for every endpoint in moto.

        SageMaker emits it when an endpoint becomes InService, minutes after creation; moto creates
        endpoints InService at once and emits nothing, so the local run emits it when deployment ends.
        """
        backend = sagemaker_backends[self.account][self.region]
        default_bus = events_backends[self.account][self.region].event_buses.get("default")
        if default_bus is None:
            return
        for endpoint in backend.endpoints.values():
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "SageMaker Endpoint State Change",
                "source": "aws.sagemaker",
                "account": self.account,
                "time": _iso_now(seconds_only=True),
                "region": self.region,
                "resources": [endpoint.arn],
                "detail": {
                    "EndpointName": endpoint.endpoint_name,
                    "EndpointArn": endpoint.arn,
                    "EndpointConfigName": endpoint.endpoint_config_name,
                    "EndpointStatus": "IN_SERVICE",
                    "CreationTime": int(endpoint.creation_time.timestamp() * 1000)
                    if hasattr(endpoint.creation_time, "timestamp")
                    else None,
                    "Tags": {},
                },
            }
            self.service_events.append(event)
            for rule in list(default_bus.rules.values()):
                rule.send_to_targets(event, transform_input=False)

    # -- EventBridge ----------------------------------------------------------------------
    def _rule_send_to_targets(self, original: Callable[..., None]) -> Callable[..., None]:
        deliveries = self

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
                return
            uris = objects_in_event(event)
            deliveries.trace.record(uris, f"eventbridge:{rule.name}", "rule matched")
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
        denied = self.guard.lambda_invoke(EVENTS, target["Arn"], rule.arn)
        if denied:
            self._target_failed(rule, target, event, uris, denied)
            return
        self.runtime.invoke_async(
            target["Arn"], _target_input(target, event), source=f"eventbridge:{rule.name}"
        )

    def _event_to_sns(
        self, rule: Any, target: dict[str, Any], event: dict[str, Any], uris: list[str]
    ) -> None:
        topic_arn = target["Arn"]
        denied = self.guard.topic_publish(EVENTS, topic_arn, rule.arn)
        if denied:
            self._target_failed(rule, target, event, uris, denied)
            return
        payload = _target_input(target, event)
        message = payload if isinstance(payload, str) else json.dumps(payload)
        sns_backends[self.account][self.region].publish(arn=topic_arn, message=message)
        self.trace.record(uris, f"sns:{topic_arn.rsplit(':', 1)[-1]}", f"published by rule {rule.name}")

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
        self._problem(uris, step, f"target {target['Arn']}: {message}")
        dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq_arn:
            self.trace.record(uris, step, "event dropped: target failed and no dead-letter queue")
            return
        denied = self.guard.queue_send(EVENTS, dlq_arn, rule.arn)
        if denied:
            self._problem(uris, step, f"dead-letter queue: {denied}")
            return
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": "AccessDeniedException",
            "ERROR_MESSAGE": message[:256],
            "RETRY_ATTEMPTS": "0",
        }
        sqs_backends[self.account][self.region].send_message(
            queue_name=dlq_arn.rsplit(":", 1)[-1],
            message_body=json.dumps(event),
            message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        self.trace.record(uris, f"sqs:{dlq_arn.rsplit(':', 1)[-1]}", "EventBridge target dead-letter queue")

    # -- SNS ------------------------------------------------------------------------------
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
                denied = deliveries.guard.queue_send(SNS, subscription.endpoint, subscription.topic.arn)
                if denied:
                    deliveries._problem(objects_in_event(message), f"sns:{subscription.topic.name}", denied)
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
        denied = self.guard.lambda_invoke(SNS, subscription.endpoint, topic.arn)
        if denied:
            self._problem(uris, f"sns:{topic.name}", denied)
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
                        "Timestamp": _iso_now(),
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
        self.runtime.invoke_async(subscription.endpoint, event, source=f"sns:{topic.name}")


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


def _has_tags(account_id: str, key: Any) -> bool:
    return bool(s3_backends[account_id]["aws"].tagger.list_tags_for_resource(key.arn)["Tags"])


def _bucket_arn_of(event_body: Any) -> str | None:
    for record in (event_body or {}).get("Records", []) if isinstance(event_body, dict) else []:
        arn = record.get("s3", {}).get("bucket", {}).get("arn")
        if arn:
            return arn
    if isinstance(event_body, dict) and event_body.get("Bucket"):  # s3:TestEvent
        return f"arn:aws:s3:::{event_body['Bucket']}"
    return None


def _iso_now(*, seconds_only: bool = False) -> str:
    now = datetime.now(UTC)
    if seconds_only:
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
