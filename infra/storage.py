"""Stores: the stack's KMS key, the ingest bucket and its access-log bucket, and the results table.

Creates `Storage` (`ai-event-pipeline:storage:Storage`), exposing `key`, `bucket`, `access_logs`, `table`.
The key's policy is applied later by `iam.KeyAccess`, once every principal it names exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import allow_service, deny_insecure_transport, policy_document, render
from lambdas.inference import contract


def key_alias_name(project: str, stack: str) -> str:
    """`alias/<project>-<stack>`, valid for any stack name (Pulumi allows `.`, KMS aliases do not)."""
    return "alias/" + re.sub(r"[^a-zA-Z0-9/_-]+", "-", f"{project}-{stack}").strip("-")


# Lifecycle: multipart uploads a client abandoned keep their parts (and their cost) until aborted.
ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7
# S3 writes access logs under this prefix of the log bucket, one folder per source bucket.
ACCESS_LOG_PREFIX = "ingest/"


@dataclass
class StorageArgs:
    project: str
    stack: str
    deletion_protection: bool
    account_id: pulumi.Input[str]
    noncurrent_version_expiration_days: int
    access_log_expiration_days: int


@dataclass
class PrivateBucket:
    """A bucket and the resources that give it the stack's defaults."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    policy: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration


class Storage(pulumi.ComponentResource):
    """Customer-managed key (rotation on), SSE-KMS versioned private TLS-only ingest bucket with a lifecycle
    and server access logging to its own log bucket, and the encrypted results table.

    Exposes `key`, `bucket` (the ingest bucket), `access_logs` (a PrivateBucket), `ingest` (a PrivateBucket)
    and `table`.
    """

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:storage:Storage", name, None, opts)
        self._storage_args = args
        child = pulumi.ResourceOptions(parent=self)
        # Stores holding data refuse `pulumi destroy` (and replacement) unless deletion protection is off.
        self._store_opts = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)

        # One customer-managed key for every store: AWS-managed keys (alias/aws/sns, alias/aws/sqs) cannot
        # be granted to S3, EventBridge or CloudWatch, which must write to our encrypted topics and queues.
        self.key = aws.kms.Key(
            "pipeline-key",
            description=f"{args.project} ({args.stack}): bucket, topics, queues, logs and results table",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self._store_opts,
        )
        self.key_alias = aws.kms.Alias(
            "pipeline-key-alias",
            name=key_alias_name(args.project, args.stack),
            target_key_id=self.key.key_id,
            opts=child,
        )

        self.ingest = self._private_bucket(
            "ingest",
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
            ),
            expiration_days=None,
        )
        self.bucket = self.ingest.bucket
        # Server access logs, in a bucket of their own whose access is not logged (that would log forever).
        # S3 delivers logs only to a destination whose default encryption is SSE-S3: SSE-KMS is not
        # supported there (S3 User Guide, "Enabling Amazon S3 server access logging"), so this bucket is the
        # stack's one store not under the stack key (README: Security, deliberate exceptions).
        self.access_logs = self._private_bucket(
            "access-logs",
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            ),
            expiration_days=args.access_log_expiration_days,
            grants=lambda bucket: [_allow_access_log_delivery(bucket, self.bucket.arn, args.account_id)],
        )
        self.access_logging = aws.s3.BucketLogging(
            "ingest-access-logging",
            bucket=self.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=ACCESS_LOG_PREFIX,
            # S3 checks the destination's policy when logging is enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.access_logs.policy]),
        )

        self.table = aws.dynamodb.Table(
            "results",
            billing_mode="PAY_PER_REQUEST",
            hash_key=contract.TABLE_PARTITION_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(
                    name=contract.TABLE_PARTITION_KEY, type=contract.TABLE_PARTITION_KEY_TYPE
                )
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=args.deletion_protection,
            opts=self._store_opts,
        )

        self.register_outputs(
            {
                "key_arn": self.key.arn,
                "bucket_name": self.bucket.bucket,
                "bucket_arn": self.bucket.arn,
                "access_log_bucket_name": self.access_logs.bucket.bucket,
                "table_name": self.table.name,
                "table_arn": self.table.arn,
            }
        )

    def _private_bucket(
        self,
        name: str,
        encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs,
        *,
        expiration_days: int | None,
        grants: Callable[[aws.s3.Bucket], list[dict]] | None = None,
    ) -> PrivateBucket:
        """A versioned, encrypted, TLS-only bucket with public access blocked and old versions expiring."""
        args = self._storage_args
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            # A dev stack can be torn down with its objects; other stacks keep their data.
            force_destroy=not args.deletion_protection,
            opts=self._store_opts,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        server_side_encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=encryption,
                    # Bucket keys cut KMS requests (and cost) per object by orders of magnitude.
                    bucket_key_enabled=encryption.sse_algorithm == "aws:kms" or None,
                )
            ],
            opts=child,
        )
        objects = pulumi.Output.concat(bucket.arn, "/*")
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=render(
                policy_document(
                    *(grants(bucket) if grants else []),
                    deny_insecure_transport(["s3:*"], [bucket.arn, objects]),
                )
            ),
            # S3 answers concurrent configuration calls on one bucket with OperationAborted.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[lifecycle_rule(args.noncurrent_version_expiration_days, expiration_days)],
            # Lifecycle rules on noncurrent versions need versioning on first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning, policy]),
        )
        return PrivateBucket(
            bucket, public_access_block, versioning, server_side_encryption, policy, lifecycle
        )


def lifecycle_rule(
    noncurrent_days: int, expiration_days: int | None
) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """Every object: noncurrent versions expire, abandoned multipart uploads are aborted, and (log bucket)
    current objects expire; otherwise only delete markers left without versions are removed."""
    if expiration_days is not None:
        expiration = aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiration_days)
    else:
        expiration = aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True)
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-old-versions-and-abort-incomplete-uploads",
        status="Enabled",
        # An empty prefix filter: the rule applies to every object.
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=noncurrent_days
        ),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS
        ),
        expiration=expiration,
    )


def _allow_access_log_delivery(
    log_bucket: aws.s3.Bucket, source_bucket_arn: pulumi.Input[str], account_id: pulumi.Input[str]
) -> dict:
    """S3's logging service writes the ingest bucket's access logs, and only those (S3 User Guide,
    "Permissions for log delivery": a bucket policy for logging.s3.amazonaws.com with source conditions)."""
    return allow_service(
        "AllowAccessLogDelivery",
        service="logging.s3",
        actions=["s3:PutObject"],
        resource=pulumi.Output.concat(log_bucket.arn, "/", ACCESS_LOG_PREFIX, "*"),
        source_arns=source_bucket_arn,
        source_account=account_id,
    )
