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
- A redeploy (`MotoMocks(..., previous=<the last ProgramRun>)`, `LocalCloud.redeploy`) runs the
  program again into the same moto, as `pulumi up` updates a stack: a resource whose inputs did
  not change keeps its identity and outputs; a changed one is updated in place when `UPDATES`
  lists every changed input for its type, or replaced when its type is in `REPLACED_ON_CHANGE`
  (created anew under another name, the old one deleted once the run has finished). Any other
  change, and any resource added, is a `RedeployRefused` error naming the resource and the inputs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from .access import AccessGuard
from .lambda_.runtime import LambdaRuntime
from .program import PROJECT_DIR, ProgramRun
from .services import (
    appautoscaling,
    cloudwatch,
    dynamodb,
    events,
    iam,
    kinesis,
    kms,
    lambda_,
    logs,
    s3,
    sagemaker,
    sns,
    sqs,
)
from .services.base import Inputs, UnsupportedResourceType, physical_name
from .services.s3 import DestinationValidationError

__all__ = [
    "CREATORS",
    "REPLACED_ON_CHANGE",
    "UPDATES",
    "DestinationValidationError",
    "MotoMocks",
    "RedeployRefused",
    "UnsupportedResourceType",
    "physical_name",
]

ACCOUNT_ID = "123456789012"  # moto's default account

# Inputs the program sets that have no behaviour in the local run; nothing else is ignored quietly.
_NO_LOCAL_EFFECT = {"description", "alarmDescription", "forceDestroy", "deletionWindowInDays"}


class RedeployRefused(UnsupportedResourceType):
    """A redeploy would change a resource in a way the local run does not apply."""


class MotoMocks(pulumi_mocks.Mocks):
    """Creates each declared resource in moto (a `mock_aws()` must be active); with `previous`, applies
    the changes from that deployment instead (a redeploy)."""

    def __init__(self, runtime: LambdaRuntime, region: str, previous: ProgramRun | None = None) -> None:
        self.previous = {r.key: r for r in previous.resources} if previous is not None else None
        self.changes: list[str] = []  # what a redeploy did, one line per changed resource
        self.updated_endpoints: list[
            str
        ] = []  # SageMaker endpoints a redeploy switched to a new configuration
        self._deletions: list[
            Callable[[], None]
        ] = []  # replaced resources, deleted once the run has finished
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
        if self.previous is not None:
            with self._lock:
                return self._redeploy(args, creator)
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

    # -- redeploy ---------------------------------------------------------------------------
    def _redeploy(self, args: pulumi_mocks.MockResourceArgs, creator: Creator) -> tuple[str, dict[str, Any]]:
        assert self.previous is not None
        label = f"{args.typ} {args.name!r}"
        old = self.previous.get((args.typ, args.name))
        if old is None:
            raise RedeployRefused(
                f"{label}: the redeploy adds this resource; the local run applies changes to the resources "
                "of the first deployment only (deploy the new config into a new LocalCloud)"
            )
        new_inputs = dict(args.inputs)
        changed = frozenset(
            k
            for k in set(new_inputs) | set(old.inputs)
            if comparable(new_inputs.get(k)) != comparable(old.inputs.get(k))
        )
        if not changed:
            return str(old.id), dict(old.outputs)
        plain = {k: v for k, v in new_inputs.items() if not isinstance(v, (pulumi.Archive, pulumi.Asset))}
        update = UPDATES.get(args.typ)
        if update is not None and changed <= update[0]:
            computed = update[1](self, Inputs(args.typ, args.name, new_inputs), str(old.id), changed)
            self.changes.append(f"updated {label} in place: {', '.join(sorted(changed))}")
            return str(old.id), {**old.outputs, **plain, **computed}
        delete = REPLACED_ON_CHANGE.get(args.typ)
        if delete is not None:
            digest = hashlib.sha256(repr(sorted((k, comparable(v)) for k, v in new_inputs.items())).encode())
            inputs = Inputs(args.typ, args.name, new_inputs, replacement=digest.hexdigest()[:8])
            resource_id, computed = creator(self, inputs)
            old_id = str(old.id)
            self._deletions.append(lambda: delete(self, old_id))
            self.changes.append(f"replaced {label} ({old_id} -> {resource_id}): {', '.join(sorted(changed))}")
            return resource_id, {**plain, **computed}
        in_place = sorted(update[0]) if update is not None else []
        raise RedeployRefused(
            f"{label}: the redeploy changes {', '.join(sorted(changed))}, which the local run does not apply "
            + (
                f"(it updates only {', '.join(in_place)} of this type in place)"
                if in_place
                else "to this type"
            )
            + "; deploy the changed config into a new LocalCloud"
        )

    def finish_redeploy(self, program: ProgramRun) -> None:
        """After the program ran: refuse removed resources, then delete the replaced ones (Pulumi's order)."""
        if self.previous is None:
            return
        removed = sorted(set(self.previous) - {r.key for r in program.resources})
        if removed:
            raise RedeployRefused(
                "the redeploy removes "
                + ", ".join(f"{typ} {name!r}" for typ, name in removed)
                + "; the local run does not delete resources (deploy the new config into a new LocalCloud)"
            )
        for delete in reversed(self._deletions):  # dependents first, as Pulumi deletes
            delete()
        self._deletions.clear()

    # -- helpers --------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    def note_not_emulated(self, inputs: Inputs, what: str) -> None:
        self.not_emulated.setdefault(what, []).append(inputs.name)


Creator = Callable[[MotoMocks, Inputs], tuple[str, dict[str, Any]]]
# (the changed inputs, the resource's id) -> outputs it computes anew; the inputs of the new run.
Updater = Callable[[MotoMocks, Inputs, str, frozenset[str]], dict[str, Any]]


def comparable(value: Any) -> Any:
    """An input as a redeploy compares it: assets and archives by what they hold, not by identity."""
    if isinstance(value, pulumi.AssetArchive):
        return ("archive", tuple(sorted((k, comparable(v)) for k, v in value.assets.items())))
    if isinstance(value, pulumi.FileAsset):
        path = Path(value.path)
        path = path if path.is_absolute() else PROJECT_DIR / path
        return ("file", str(value.path), hashlib.sha256(path.read_bytes()).hexdigest())
    if isinstance(value, pulumi.StringAsset):
        return ("text", value.text)
    if isinstance(value, (pulumi.Archive, pulumi.Asset)):
        raise RedeployRefused(f"a redeploy cannot compare a {type(value).__name__} input")
    if isinstance(value, dict):
        return tuple(sorted((k, comparable(v)) for k, v in value.items() if v is not None))
    if isinstance(value, (list, tuple)):
        return tuple(comparable(v) for v in value)
    return value


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
    "aws:kinesis/stream:Stream": kinesis.stream,
    "aws:sagemaker/model:Model": sagemaker.sagemaker_model,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": sagemaker.sagemaker_endpoint_config,
    "aws:sagemaker/endpoint:Endpoint": sagemaker.sagemaker_endpoint,
    "aws:lambda/function:Function": lambda_.function,
    "aws:lambda/permission:Permission": lambda_.permission,
    "aws:lambda/eventSourceMapping:EventSourceMapping": lambda_.event_source_mapping,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda_.event_invoke_config,
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": lambda_.recursion_config,
    "aws:appautoscaling/target:Target": appautoscaling.scalable_target,
    "aws:appautoscaling/policy:Policy": appautoscaling.scaling_policy,
}

# What a redeploy changes in place, per type: the inputs it may change, and how (the provider's Update).
UPDATES: dict[str, tuple[frozenset[str], Updater]] = {
    "aws:lambda/function:Function": (lambda_.FUNCTION_UPDATABLE, lambda_.update_function),
    "aws:sagemaker/endpoint:Endpoint": (sagemaker.ENDPOINT_UPDATABLE, sagemaker.update_endpoint),
}
# Types whose provider replaces them when any input changes: how to delete the one replaced.
REPLACED_ON_CHANGE: dict[str, Callable[[MotoMocks, str], None]] = {
    "aws:sagemaker/model:Model": sagemaker.delete_model,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": sagemaker.delete_endpoint_config,
}
