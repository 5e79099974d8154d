"""Stores: the stack's KMS key, the ingest bucket, and the results table.

Creates `Storage` (`ai-event-pipeline:storage:Storage`), exposing `key`, `bucket`, `table`.
The key's policy is applied later by `iam.KeyAccess`, once every principal it names exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import deny_insecure_transport, policy_document, render
from lambdas.inference import contract


def key_alias_name(project: str, stack: str) -> str:
    """`alias/<project>-<stack>`, valid for any stack name (Pulumi allows `.`, KMS aliases do not)."""
    return "alias/" + re.sub(r"[^a-zA-Z0-9/_-]+", "-", f"{project}-{stack}").strip("-")

@dataclass
class StorageArgs:
    project: str
    stack: str
    deletion_protection: bool


class Storage(pulumi.ComponentResource):
    """Customer-managed key (rotation on), SSE-KMS versioned private TLS-only bucket, encrypted table."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-event-pipeline:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Stores holding data refuse `pulumi destroy` (and replacement) unless deletion protection is off.
        protect = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)

        # One customer-managed key for every store: AWS-managed keys (alias/aws/sns, alias/aws/sqs) cannot
        # be granted to S3, EventBridge or CloudWatch, which must write to our encrypted topics and queues.
        self.key = aws.kms.Key(
            "pipeline-key",
            description=f"{args.project} ({args.stack}): bucket, topics, queues and results table",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=protect,
        )
        self.key_alias = aws.kms.Alias(
            "pipeline-key-alias",
            name=key_alias_name(args.project, args.stack),
            target_key_id=self.key.key_id,
            opts=child,
        )

        self.bucket = aws.s3.Bucket(
            "ingest",
            # A dev stack can be torn down with its objects; other stacks keep their data.
            force_destroy=not args.deletion_protection,
            opts=protect,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            "ingest-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            "ingest-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            "ingest-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                        )
                    ),
                    # Bucket keys cut KMS requests (and cost) per object by orders of magnitude.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        self.bucket_policy = aws.s3.BucketPolicy(
            "ingest-policy",
            bucket=self.bucket.id,
            policy=render(
                policy_document(
                    deny_insecure_transport(
                        ["s3:*"], [self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*")]
                    )
                )
            ),
            # S3 answers concurrent configuration calls on one bucket with OperationAborted.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
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
            opts=protect,
        )

        self.register_outputs(
            {
                "key_arn": self.key.arn,
                "bucket_name": self.bucket.bucket,
                "bucket_arn": self.bucket.arn,
                "table_name": self.table.name,
                "table_arn": self.table.arn,
            }
        )
