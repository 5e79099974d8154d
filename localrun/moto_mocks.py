"""Pulumi mocks that CREATE each declared resource in moto, and answer with moto's real identifiers.

`run_program(MotoMocks(...))` runs the real `__main__.py`; every custom resource it
declares is created through boto3 inside the active `moto.mock_aws()`, and the
mock returns the resource's inputs plus the outputs AWS would compute (ARNs, URLs,
names) taken from moto's answers. Pulumi registers resources in dependency order,
so a resource's inputs already carry the real identifiers of what it depends on.

Rules:
- `CREATORS` holds a creator for exactly the resource types the program declares (a test
  checks it against the dev and production-shaped stacks); any other type is an
  `UnsupportedResourceType` error naming the type — never skipped. Reads of existing
  resources are refused too.
- Each creator handles the inputs the program sets. Any other input that is set, top-level
  or inside a nested block a creator reads field by field, is listed in `not_emulated`, as
  are the declared features the local run does not emulate (e.g. X-Ray tracing, S3
  lifecycle actions); only the few inputs without behaviour here (descriptions,
  force-destroy, the key's deletion window) are ignored quietly.
- Physical names follow Pulumi's auto-naming (`<logical name>-<7 hex>`, here derived
  from the logical name so runs are reproducible) unless the program sets one.
- The creators live with their service, one module each in `services/` (`s3.py`, `sns.py`,
  `lambda_.py`, ...); this module holds the Pulumi side and the one dispatch table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from .access import AccessGuard
from .lambda_.runtime import LambdaRuntime
from .services import cloudwatch, dynamodb, events, iam, kms, lambda_, logs, s3, sagemaker, sns, sqs
from .services.base import Inputs, UnsupportedResourceType, physical_name
from .services.s3 import DestinationValidationError

__all__ = ["CREATORS", "DestinationValidationError", "MotoMocks", "UnsupportedResourceType", "physical_name"]

ACCOUNT_ID = "123456789012"  # moto's default account

# Inputs the program sets that have no behaviour in the local run; nothing else is ignored quietly.
_NO_LOCAL_EFFECT = {"description", "alarmDescription", "forceDestroy", "deletionWindowInDays"}


class MotoMocks(pulumi_mocks.Mocks):
    """Creates each declared resource in moto (a `mock_aws()` must be active)."""

    def __init__(self, runtime: LambdaRuntime, region: str) -> None:
        self.runtime = runtime
        self.region = region
        self.account = ACCOUNT_ID
        self.guard = AccessGuard(runtime)
        # What the program declared that the local run does not emulate -> the resources declaring it.
        self.not_emulated: dict[str, list[str]] = {}
        self._lock = threading.Lock()  # Pulumi registers resources from several threads
        self._clients: dict[str, Any] = {}

    # -- Pulumi mock interface ------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.custom is False:
            return "", {}  # component resources exist only in the Pulumi graph
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}_provider", dict(args.inputs)
        if args.resource_id:
            raise UnsupportedResourceType(
                f"{args.typ} {args.name!r}: reading an existing resource ({args.resource_id}) is not "
                "supported by the local run; declare the resource instead"
            )
        creator = CREATORS.get(args.typ)
        if creator is None:
            raise UnsupportedResourceType(
                f"the local run cannot create resource type {args.typ} ({args.name!r}); "
                "add a creator for it in localrun/services/<service>.py and list it in CREATORS"
            )
        inputs = Inputs(args.typ, args.name, dict(args.inputs))
        with self._lock:
            resource_id, computed = creator(self, inputs)
            unused = (set(args.inputs) - inputs.used - _NO_LOCAL_EFFECT) | inputs.unread
            for key in sorted(unused):
                self.note_not_emulated(inputs, f"{args.typ.rsplit(':', 1)[-1]} input {key!r}")
        outputs = {k: v for k, v in args.inputs.items() if not isinstance(v, (pulumi.Archive, pulumi.Asset))}
        outputs.update(computed)
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        # A plain dict: the mock monitor treats a tuple's second item as a list of check failures.
        invoke = args.token
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.client("sts").get_caller_identity()
            return {
                "id": identity["Account"],
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }
        raise UnsupportedResourceType(
            f"the local run does not answer the invoke {invoke}; add it to MotoMocks.call"
        )

    # -- helpers --------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    def note_not_emulated(self, inputs: Inputs, what: str) -> None:
        self.not_emulated.setdefault(what, []).append(inputs.name)


Creator = Callable[[MotoMocks, Inputs], tuple[str, dict[str, Any]]]

# The one dispatch table: exactly the resource types the program declares (tests/e2e checks it).
CREATORS: dict[str, Creator] = {
    "aws:kms/key:Key": kms.kms_key,
    "aws:kms/alias:Alias": kms.kms_alias,
    "aws:kms/keyPolicy:KeyPolicy": kms.kms_key_policy,
    "aws:s3/bucket:Bucket": s3.bucket,
    "aws:s3/bucketVersioning:BucketVersioning": s3.bucket_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        s3.bucket_encryption
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": s3.bucket_public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": s3.bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": s3.bucket_notification,
    "aws:s3/bucketLogging:BucketLogging": s3.bucket_logging,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": s3.bucket_lifecycle,
    "aws:sns/topic:Topic": sns.topic,
    "aws:sns/topicPolicy:TopicPolicy": sns.topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": sns.topic_subscription,
    "aws:sqs/queue:Queue": sqs.queue,
    "aws:sqs/queuePolicy:QueuePolicy": sqs.queue_policy,
    "aws:cloudwatch/eventRule:EventRule": events.event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": events.event_target,
    "aws:cloudwatch/logGroup:LogGroup": logs.log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": cloudwatch.metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": cloudwatch.dashboard,
    "aws:dynamodb/table:Table": dynamodb.table,
    "aws:iam/role:Role": iam.role,
    "aws:iam/rolePolicy:RolePolicy": iam.role_policy,
    "aws:iam/policy:Policy": iam.managed_policy,
    "aws:sagemaker/model:Model": sagemaker.sagemaker_model,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": sagemaker.sagemaker_endpoint_config,
    "aws:sagemaker/endpoint:Endpoint": sagemaker.sagemaker_endpoint,
    "aws:lambda/function:Function": lambda_.function,
    "aws:lambda/permission:Permission": lambda_.permission,
    "aws:lambda/eventSourceMapping:EventSourceMapping": lambda_.event_source_mapping,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda_.event_invoke_config,
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": lambda_.recursion_config,
}
