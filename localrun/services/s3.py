"""S3: the bucket and its configuration, created in moto.

S3 validates bucket notification destinations when the configuration is put (the destination's
policy must let S3 deliver); moto does not, so `bucket_notification` does.

Where moto's S3 differs from S3's, corrected here (`BucketPolicyFixes`, patches):
- Bucket policies: moto's S3 evaluates a bucket policy without any request context,
  and its evaluator answers DENIED for *any* statement whose condition does not
  hold — so the standard TLS-only statement (`Deny s3:* when aws:SecureTransport is
  false`) denies every request. Here the bucket policy is evaluated with
  `access.evaluate_resource_policy` and the context of an HTTPS request (every boto3
  call in the local run uses an https endpoint): a Deny applies only when its
  condition holds, as in AWS.
- Access-log destinations: moto's check that a target bucket's policy admits the logging
  service crashes on a statement whose Principal is `"*"` (the TLS-only Deny) and only
  accepts a Resource written as one string. Here the target's policy is evaluated with
  `access.evaluate_resource_policy` for logging.s3.amazonaws.com putting a log object under
  the target prefix, with the source bucket as aws:SourceArn, as S3 checks it
  (S3 User Guide, "Enabling Amazon S3 server access logging", permissions for log delivery).

`S3Deliveries`: the notifications S3 sends, as listed in `deliveries.py`.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from moto.events.models import events_backends
from moto.iam.access_control import PermissionResult
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import CrossLocationLoggingProhibited, InvalidTargetBucketForLogging, S3ClientError
from moto.s3.models import FakeBucket, s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from .. import access
from ..access import S3
from ..patches import Patch
from ..trace import object_uri, objects_in_event
from .base import Inputs, Limit, as_json, iso_now, utf8_size

if TYPE_CHECKING:
    from ..deliveries import Deliveries
    from ..limits import LimitEnforcer
    from ..moto_mocks import MotoMocks


class DestinationValidationError(RuntimeError):
    """S3's "Unable to validate the following destination configurations"."""


def bucket(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto("bucket", lower=True)
    params: dict[str, Any] = {"Bucket": name}
    if m.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": m.region}
    m.client("s3").create_bucket(**params)
    return name, {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "region": m.region,
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{m.region}.amazonaws.com",
    }


def bucket_versioning(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    bucket = i.req("bucket")
    status = i.block("versioningConfiguration", "status")["status"]
    m.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    return bucket, {}


def bucket_encryption(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    bucket = i.req("bucket")
    rules = []
    for index, rule in enumerate(i.req("rules")):
        path = f"rules[{index}]"
        i.fields(path, rule, "applyServerSideEncryptionByDefault", "bucketKeyEnabled")
        default = i.fields(
            f"{path}.applyServerSideEncryptionByDefault",
            rule["applyServerSideEncryptionByDefault"],
            "sseAlgorithm",
            "kmsMasterKeyId",
        )
        by_default = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append(
            {
                "ApplyServerSideEncryptionByDefault": by_default,
                "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled", False)),
            }
        )
    m.client("s3").put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    return bucket, {}


def bucket_public_access_block(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    bucket = i.req("bucket")
    m.client("s3").put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(i.get("blockPublicAcls", False)),
            "IgnorePublicAcls": bool(i.get("ignorePublicAcls", False)),
            "BlockPublicPolicy": bool(i.get("blockPublicPolicy", False)),
            "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets", False)),
        },
    )
    return bucket, {}


def bucket_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    bucket = i.req("bucket")
    m.client("s3").put_bucket_policy(Bucket=bucket, Policy=as_json(i.req("policy")))
    return bucket, {}


def bucket_logging(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    """moto checks, as S3 does, that the target exists in the region and its policy admits the logging
    service; it delivers no access logs (noted as not emulated)."""
    bucket = i.req("bucket")
    enabled = {"TargetBucket": i.req("targetBucket"), "TargetPrefix": i.get("targetPrefix", "")}
    m.client("s3").put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": enabled})
    m.note_not_emulated(i, "S3 server access log delivery")
    return bucket, {}


def bucket_lifecycle(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    """Stored in moto (its rules are validated there); moto never runs lifecycle actions."""
    bucket = i.req("bucket")
    rules = [lifecycle_rule(i, f"rules[{n}]", rule) for n, rule in enumerate(i.req("rules"))]
    m.client("s3").put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    m.note_not_emulated(i, "S3 lifecycle actions (expiring versions, aborting uploads)")
    return bucket, {}


def bucket_notification(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    bucket = i.req("bucket")
    bucket_arn = f"arn:aws:s3:::{bucket}"

    def destinations(key: str, arn_key: str, wire_key: str) -> list[dict[str, Any]]:
        configurations = []
        for index, entry in enumerate(i.get(key, [])):
            i.fields(f"{key}[{index}]", entry, arn_key, "id", "events", "filterPrefix", "filterSuffix")
            target: dict[str, Any] = {
                wire_key: entry[arn_key],
                "Id": entry["id"],
                "Events": entry["events"],
            }
            rules = [
                {"Name": name, "Value": entry[field]}
                for name, field in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
                if entry.get(field)
            ]
            if rules:
                target["Filter"] = {"Key": {"FilterRules": rules}}
            configurations.append(target)
        return configurations

    topics = destinations("topics", "topicArn", "TopicArn")
    queues = destinations("queues", "queueArn", "QueueArn")
    functions = destinations("lambdaFunctions", "lambdaFunctionArn", "LambdaFunctionArn")
    # S3 checks each destination when the configuration is put; the error lists the failures.
    failures = (
        [
            f"{t['TopicArn']}: {reason}"
            for t in topics
            if (reason := m.guard.topic_publish(S3, t["TopicArn"], bucket_arn))
        ]
        + [
            f"{q['QueueArn']}: {reason}"
            for q in queues
            if (reason := m.guard.queue_send(S3, q["QueueArn"], bucket_arn))
        ]
        + [
            f"{f['LambdaFunctionArn']}: {reason}"
            for f in functions
            if (reason := m.guard.lambda_invoke(S3, f["LambdaFunctionArn"], bucket_arn))
        ]
    )
    if failures:
        raise DestinationValidationError(
            f"PutBucketNotificationConfiguration on {bucket}: Unable to validate the following "
            f"destination configurations: {'; '.join(failures)}"
        )
    configuration: dict[str, Any] = {
        "TopicConfigurations": topics,
        "QueueConfigurations": queues,
        "LambdaFunctionConfigurations": functions,
    }
    if i.get("eventbridge"):
        configuration["EventBridgeConfiguration"] = {}
    m.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration=configuration,
    )
    return bucket, {}


def lifecycle_rule(i: Inputs, path: str, rule: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle rule's Pulumi inputs under their S3 API names (the parts the program declares)."""
    rule = i.fields(
        path,
        rule,
        "id",
        "status",
        "filter",
        "noncurrentVersionExpiration",
        "abortIncompleteMultipartUpload",
        "expiration",
    )
    noncurrent = i.fields(
        f"{path}.noncurrentVersionExpiration", rule["noncurrentVersionExpiration"], "noncurrentDays"
    )
    abort = i.fields(
        f"{path}.abortIncompleteMultipartUpload",
        rule["abortIncompleteMultipartUpload"],
        "daysAfterInitiation",
    )
    expiration = i.fields(f"{path}.expiration", rule["expiration"], "days", "expiredObjectDeleteMarker")
    wire: dict[str, Any] = {
        "ID": rule["id"],
        "Status": rule["status"],
        "Filter": {"Prefix": i.fields(f"{path}.filter", rule["filter"], "prefix").get("prefix", "")},
        "NoncurrentVersionExpiration": {"NoncurrentDays": int(noncurrent["noncurrentDays"])},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": int(abort["daysAfterInitiation"])},
    }
    if expiration.get("days"):
        wire["Expiration"] = {"Days": int(expiration["days"])}
    else:
        wire["Expiration"] = {"ExpiredObjectDeleteMarker": bool(expiration["expiredObjectDeleteMarker"])}
    return wire


class S3Deliveries:
    """S3's notifications as S3 sends them (see `deliveries.py`, points 1, 2 and 5): the records, the
    EventBridge event, and asynchronous Lambda invocations; destinations checked with `AccessGuard`."""

    def __init__(self, hub: Deliveries) -> None:
        self.hub = hub
        self._sequencer = itertools.count(1)
        self._sequencer_base = int(datetime.now(UTC).timestamp() * 1000) << 20
        self._sequencer_lock = threading.Lock()

    def patches(self) -> list[Patch]:
        s3 = "moto.s3.notifications"
        return [
            Patch(s3, "_get_s3_event", self._s3_notification_event, reason="S3 event records as S3 writes"),
            Patch(s3, "send_event", wrap=self._wrap_s3_send_event, reason="S3 notification sends recorded"),
            Patch(s3, "_send_sns_message", self.hub.never_failing(self._s3_to_sns), reason="S3 -> SNS"),
            Patch(s3, "_send_sqs_message", self.hub.never_failing(self._s3_to_sqs), reason="S3 -> SQS"),
            Patch(s3, "_invoke_awslambda", self.hub.never_failing(self._s3_to_lambda), reason="S3 -> Lambda"),
            Patch(
                s3,
                "_send_event_bridge_message",
                self.hub.never_failing(self._s3_to_eventbridge),
                reason="S3 -> EventBridge",
            ),
        ]

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
                    "eventTime": iso_now(),
                    "eventName": event_name.removeprefix("s3:"),
                    "userIdentity": {"principalId": f"AWS:{self.hub.account}"},
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
                            "ownerIdentity": {"principalId": self.hub.account},
                            "arn": bucket.arn,
                        },
                        "object": obj,
                    },
                }
            ]
        }
        self.hub.s3_notifications.append(event)
        return event

    def _wrap_s3_send_event(self, original: Callable[..., None]) -> Callable[..., None]:
        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            name = str(getattr(event_name, "value", event_name))
            if name == "s3:ObjectTagging:Put" and not _has_tags(account_id, key):
                # moto tags every new object (with no tags) inside PutObject and announces it; S3 does not.
                return
            self.hub.trace.record(
                [object_uri(bucket.name, key.name)], f"s3:{bucket.name}", name.removeprefix("s3:")
            )
            original(account_id, event_name, bucket, key)

        return send_event

    def _s3_to_sns(self, account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        step = f"sns:{topic_arn.rsplit(':', 1)[-1]}"
        bucket_arn = _bucket_arn_of(event_body)
        denied = self.hub.guard.topic_publish(S3, topic_arn, bucket_arn) if bucket_arn else None
        if denied:
            self.hub.problem(uris, step, denied)
            return
        sns_backends[account_id][region_name].publish(arn=topic_arn, message=json.dumps(event_body))
        self.hub.trace.record(uris, step, "published by S3")

    def _s3_to_sqs(self, account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        queue_arn = f"arn:aws:sqs:{region_name}:{account_id}:{queue_name}"
        bucket_arn = _bucket_arn_of(event_body)
        denied = self.hub.guard.queue_send(S3, queue_arn, bucket_arn) if bucket_arn else None
        if denied:
            self.hub.problem(uris, f"sqs:{queue_name}", denied)
            return
        sqs_backends[account_id][region_name].send_message(
            queue_name=queue_name, message_body=json.dumps(event_body)
        )
        self.hub.trace.record(uris, f"sqs:{queue_name}", "sent by S3")

    def _s3_to_lambda(self, account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        uris = objects_in_event(event_body)
        bucket_arn = _bucket_arn_of(event_body) or ""
        denied = self.hub.guard.lambda_invoke(S3, fn_arn, bucket_arn)
        if denied:
            self.hub.problem(uris, f"lambda:{fn_arn.rsplit(':', 1)[-1]}", denied)
            return
        self.hub.runtime.invoke_async(fn_arn, event_body, source=f"s3:{bucket_arn.rsplit(':', 1)[-1]}")

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
            "time": iso_now(seconds_only=True),
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


# -- moto's S3 corrected --------------------------------------------------------------------------------
_DECISIONS = {
    access.ALLOW: PermissionResult.PERMITTED,
    access.EXPLICIT_DENY: PermissionResult.DENIED,
    access.IMPLICIT_DENY: PermissionResult.NEUTRAL,
}


class BucketPolicyFixes:
    """The corrections listed in the module docstring, as patches (see `patches.py`)."""

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.s3.models.FakeBucket",
                "get_permission",
                _get_permission,
                reason="bucket policy evaluated with an HTTPS request's context",
            ),
            Patch(
                "moto.s3.models.FakeBucket",
                "set_logging",
                _set_logging,
                reason="access-log target policy judged as S3 judges it",
            ),
        ]


def _get_permission(bucket: FakeBucket, action: str, resource: str) -> Any:
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    request = access.ServiceRequest(
        service=None,
        action=action,
        resource=resource,
        context={"aws:SecureTransport": "true"},
    )
    return _DECISIONS[access.evaluate_resource_policy(bucket.policy.decode(), request)]


def _set_logging(bucket: FakeBucket, logging_config: dict[str, Any] | None, backend: Any) -> None:
    """PutBucketLogging as S3 judges it: the target exists in the same region and its policy lets the
    logging service write under the prefix for this source bucket."""
    if not logging_config:
        bucket.logging = {}
        return
    target = backend.buckets.get(logging_config["TargetBucket"])
    if target is None:
        raise InvalidTargetBucketForLogging("The target bucket for logging does not exist.")
    if target.region_name != bucket.region_name:
        raise CrossLocationLoggingProhibited()
    request = access.ServiceRequest(
        service="logging.s3.amazonaws.com",
        action="s3:PutObject",
        resource=f"{target.arn}/{logging_config.get('TargetPrefix') or ''}log-object",
        context={
            "aws:SourceArn": bucket.arn,
            "aws:SourceAccount": bucket.account_id,
            "aws:SecureTransport": "true",
        },
    )
    policy = target.policy.decode() if target.policy else None
    if policy is None or access.evaluate_resource_policy(policy, request) != access.ALLOW:
        raise InvalidTargetBucketForLogging(
            "You must either provide the necessary permissions to the logging service using a bucket "
            "policy or give the log-delivery group WRITE and READ_ACP permissions to the target bucket"
        )
    bucket.logging = logging_config


# -- AWS size limits moto does not enforce ------------------------------------------------------------
# AWS size limits (the whole table: `limits.LIMITS`).
LIMITS: dict[str, Limit] = {
    "s3_key": Limit(
        "S3 object key, UTF-8 bytes",
        1024,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
        "KeyTooLongError",
        400,
        "Your key is too long",
    ),
}


def _s3_key(enforcer: LimitEnforcer, key_position: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def checked(backend: Any, *args: Any, **kwargs: Any) -> Any:
            key = kwargs.get("dest_key_name", kwargs.get("key_name"))
            if key is None and len(args) > key_position:
                key = args[key_position]
            if isinstance(key, str) and utf8_size(key) > LIMITS["s3_key"].max_bytes:
                limit = enforcer.refuse("s3_key")
                raise S3ClientError(limit.error_code, limit.message)
            return original(backend, *args, **kwargs)

        return checked

    return wrap


def limit_patches(enforcer: LimitEnforcer) -> list[Patch]:
    """This service's checks in `limits.LimitEnforcer` (see `limits.py`)."""
    return [
        Patch("moto.s3.models.S3Backend", "put_object", wrap=_s3_key(enforcer, 1), reason="S3 key length"),
        Patch(
            "moto.s3.models.S3Backend",
            "create_multipart_upload",
            wrap=_s3_key(enforcer, 1),
            reason="S3 key length",
        ),
        Patch("moto.s3.models.S3Backend", "copy_object", wrap=_s3_key(enforcer, 2), reason="S3 key length"),
    ]
