"""S3: the bucket and its configuration, created in moto.

S3 validates bucket notification destinations when the configuration is put (the destination's
policy must let S3 deliver); moto does not, so `bucket_notification` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..access import S3
from .base import Inputs, as_json

if TYPE_CHECKING:
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
