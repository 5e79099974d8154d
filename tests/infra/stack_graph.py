"""Read-only helpers over one captured program run: find resources, resolve ARNs, parse policy documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localrun.program import PROJECT_DIR, DeclaredResource, ProgramRun
from tools.capture_mocks import CaptureMocks

DEV_CONFIG = PROJECT_DIR / "Pulumi.dev.yaml"
PRODLIKE_CONFIG = Path(__file__).parent / "Pulumi.prodlike.yaml"

FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
TABLE = "aws:dynamodb/table:Table"
PERMISSION = "aws:lambda/permission:Permission"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ASYNC_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
RECURSION = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
PROVIDER = "pulumi:providers:aws"

# Resources whose inputs hold an IAM policy document, and the input that holds it.
POLICY_INPUTS = {
    ROLE_POLICY: "policy",
    ROLE: "assumeRolePolicy",
    TOPIC_POLICY: "policy",
    QUEUE_POLICY: "policy",
    BUCKET_POLICY: "policy",
    KEY_POLICY: "policy",
}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class StackGraph:
    """One program run (resources, outputs, options) plus the mocks that answered it."""

    run: ProgramRun
    mocks: CaptureMocks

    @property
    def outputs(self) -> dict[str, Any]:
        return self.run.outputs

    def of_type(self, type_token: str) -> list[DeclaredResource]:
        return self.run.of_type(type_token)

    def one(self, type_token: str, name: str) -> DeclaredResource:
        return self.run.one(type_token, name)

    def resolve(self, value: Any) -> DeclaredResource:
        """The resource whose arn, name, url, bucket or id output equals `value`."""
        for resource in self.run.resources:
            for key in ("arn", "name", "url", "bucket", "keyId"):
                if resource.outputs.get(key) == value and resource.type != PROVIDER:
                    return resource
            if resource.id == value and resource.type != PROVIDER:
                return resource
        raise KeyError(f"no resource has an output equal to {value!r}")

    def of_bucket(self, type_token: str, bucket_name: str) -> DeclaredResource:
        """The one resource of `type_token` configuring the bucket named `bucket_name`."""
        found = [r for r in self.of_type(type_token) if r.inputs.get("bucket") == bucket_name]
        assert len(found) == 1, f"expected one {type_token} for bucket {bucket_name}, found {found}"
        return found[0]

    def children(self, parent: DeclaredResource, type_token: str | None = None) -> list[DeclaredResource]:
        return [
            r
            for r in self.run.resources
            if r.parent == parent.key and (type_token is None or r.type == type_token)
        ]

    def route(self, name: str) -> dict[str, Any]:
        return self.outputs["routes"][name]

    def function(self, route_name: str) -> DeclaredResource:
        return self.resolve(self.route(route_name)["function_arn"])

    def role_policy_of(self, route_name: str) -> dict[str, Any]:
        role_arn = self.route(route_name)["role_arn"]
        role = self.resolve(role_arn)
        (policy,) = [p for p in self.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
        return policy_document(policy)

    def policy_documents(self) -> Iterator[tuple[DeclaredResource, dict[str, Any]]]:
        for type_token, key in POLICY_INPUTS.items():
            for resource in self.of_type(type_token):
                yield resource, json.loads(resource.inputs[key])


def policy_document(resource: DeclaredResource) -> dict[str, Any]:
    return json.loads(resource.inputs[POLICY_INPUTS[resource.type]])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in statements(document) if s.get("Sid") == sid]
    assert len(found) == 1, (
        f"expected one statement {sid!r}, found {[s.get('Sid') for s in statements(document)]}"
    )
    return found[0]


def actions(stmt: dict[str, Any]) -> set[str]:
    return set(as_list(stmt["Action"]))


def resources(stmt: dict[str, Any]) -> list[str]:
    return as_list(stmt.get("Resource", []))


def allowed_actions(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in actions(s)}


def service_principal(stmt: dict[str, Any]) -> str | None:
    principal = stmt.get("Principal")
    return principal.get("Service") if isinstance(principal, dict) else None
