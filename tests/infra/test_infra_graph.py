"""The dev stack's whole graph: what exists, how it is organised, what it exports, and how it was built."""

from __future__ import annotations

import json
import re
from collections import Counter

import yaml
from stack_graph import DEV_CONFIG, NOTIFICATION, PROVIDER

from tools.capture_mocks import GET_CALLER_IDENTITY

EXPECTED_DEV_COUNTS = {
    # storage
    "aws:kms/key:Key": 1,
    "aws:kms/alias:Alias": 1,
    "aws:kms/keyPolicy:KeyPolicy": 1,
    # the ingest bucket and its access-log bucket, each with the same private-bucket defaults
    "aws:s3/bucket:Bucket": 2,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 2,
    "aws:s3/bucketVersioning:BucketVersioning": 2,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 2,
    "aws:s3/bucketPolicy:BucketPolicy": 2,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 2,
    "aws:s3/bucketLogging:BucketLogging": 1,  # the ingest bucket's only: the log bucket logs nothing
    "aws:s3/bucketNotification:BucketNotification": 1,
    "aws:dynamodb/table:Table": 1,
    # messaging: notifications, ops and the sns route's topic, the summarizer's success and error topics (and
    # the result writer's 2 subscriptions); 7 route DLQs, the 2 sqs routes' queues, the endpoint-state rule's
    # DLQ and the result writer's
    "aws:sns/topic:Topic": 5,
    "aws:sns/topicPolicy:TopicPolicy": 5,
    "aws:sns/topicSubscription:TopicSubscription": 3,
    "aws:sqs/queue:Queue": 11,
    "aws:sqs/queuePolicy:QueuePolicy": 11,
    "aws:cloudwatch/eventRule:EventRule": 2,
    "aws:cloudwatch/eventTarget:EventTarget": 2,
    # compute: one function per route, and the summarizer's result writer (invoked by its 2 topics)
    "aws:lambda/function:Function": 8,
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": 8,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 5,
    "aws:lambda/permission:Permission": 6,
    "aws:lambda/eventSourceMapping:EventSourceMapping": 3,
    "aws:cloudwatch/logGroup:LogGroup": 8,
    # IAM: 7 function roles, the result writer's, one SageMaker execution role per model; the stream route's
    # producer policy
    "aws:iam/role:Role": 11,
    "aws:iam/rolePolicy:RolePolicy": 11,
    "aws:iam/policy:Policy": 1,
    "aws:kinesis/stream:Stream": 1,
    # ml: the text and the image classifier (serverless), the summarizer (async: scaling target, target
    # tracking on its backlog and a step policy to scale out from zero)
    "aws:sagemaker/model:Model": 3,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": 3,
    "aws:sagemaker/endpoint:Endpoint": 3,
    "aws:appautoscaling/target:Target": 1,
    "aws:appautoscaling/policy:Policy": 2,
    # observability: 3 per route, queue age for the 2 sqs routes, 2 per endpoint, 2 endpoint-state alarms,
    # 6 for the async endpoint and its result writer; the async endpoint's scale-from-zero alarm
    "aws:cloudwatch/metricAlarm:MetricAlarm": 38,
    # observability: one dashboard from the alarms' registry
    "aws:cloudwatch/dashboard:Dashboard": 1,
    # components
    "ai-event-pipeline:storage:Storage": 1,
    "ai-event-pipeline:messaging:Topics": 1,
    "ai-event-pipeline:messaging:RouteChannel": 7,
    "ai-event-pipeline:messaging:EndpointStateEvents": 1,
    "ai-event-pipeline:messaging:BucketEvents": 1,
    "ai-event-pipeline:compute:InferenceFunction": 7,
    "ai-event-pipeline:compute:ResultWriter": 1,
    "ai-event-pipeline:iam:ExecutionRole": 11,
    "ai-event-pipeline:iam:KeyAccess": 1,
    "ai-event-pipeline:ml:InferenceEndpoint": 3,
    "ai-event-pipeline:observability:Alarms": 1,
    "ai-event-pipeline:dashboard:Dashboard": 1,
    PROVIDER: 1,
}

COMPONENT_TOKEN = re.compile(
    r"^ai-event-pipeline:(storage|messaging|iam|compute|ml|observability|dashboard):[A-Z]\w+$"
)


def test_dev_stack_declares_exactly_the_expected_resources_per_type(dev):
    assert Counter(r.type for r in dev.run.resources) == EXPECTED_DEV_COUNTS


def test_component_type_tokens_name_their_module_and_class(dev):
    components = [r.type for r in dev.run.resources if not r.type.startswith(("aws:", "pulumi:"))]
    assert components
    assert all(COMPONENT_TOKEN.match(token) for token in components), components


def test_every_aws_resource_is_a_child_of_a_project_component(dev):
    orphans = [
        r.key
        for r in dev.run.resources
        if r.type.startswith("aws:") and not (r.parent and r.parent[0].startswith("ai-event-pipeline:"))
    ]
    assert orphans == []


def test_every_aws_resource_uses_the_explicit_provider(dev):
    (provider,) = dev.of_type(PROVIDER)
    used = {dev.mocks.providers[r.key] for r in dev.run.resources if r.type.startswith("aws:")}
    assert len(used) == 1
    assert used.pop().split("::")[-2:] == [provider.name, provider.id]


def test_provider_sets_the_stack_region_and_default_tags(dev):
    (provider,) = dev.of_type(PROVIDER)
    assert provider.inputs["region"] == "us-east-1"
    # Provider inputs travel JSON-encoded.
    assert json.loads(provider.inputs["defaultTags"]) == {
        "tags": {"project": "ai-event-pipeline", "stack": "dev", "managed-by": "pulumi"},
    }


def test_bucket_has_exactly_one_notification_configuration(dev):
    assert len(dev.of_type(NOTIFICATION)) == 1


def test_program_only_invokes_caller_identity(dev):
    assert set(dev.mocks.calls) == {GET_CALLER_IDENTITY}


UNBOUNDED_ROUTE_WARNING = re.compile(
    r"^engine: route '(?P<route>[a-z0-9-]+)' \((?P<via>\w+)\) has no bound on its concurrent calls to the "
    r"endpoint .*Set function\.reservedConcurrency to bound it"
)


def test_program_warns_only_that_the_three_async_routes_are_unbounded(dev):
    # Pulumi.dev.yaml reserves no concurrency (new accounts' quota), so nothing bounds the async routes'
    # calls to the endpoint: one pulumi.log.warn each, and no other warning. The sqs route is bounded.
    matches = [UNBOUNDED_ROUTE_WARNING.match(w) for w in dev.run.warnings]
    assert all(matches), dev.run.warnings
    assert sorted((m["route"], m["via"]) for m in matches) == [
        ("data", "lambda"),
        ("events", "eventbridge"),
        ("uploads", "sns"),
    ], dev.run.warnings


def test_config_keys_in_dev_stack_file_are_exactly_the_keys_the_program_reads(dev):
    in_file = set(yaml.safe_load(DEV_CONFIG.read_text())["config"])
    assert dev.run.config_keys_read == in_file


def test_stack_exports_the_names_other_tools_rely_on(dev):
    assert set(dev.outputs) == {
        "region",
        "bucket_name",
        "bucket_arn",
        "results_table_name",
        "notifications_topic_arn",
        "ops_topic_arn",
        "models",
        "kms_key_arn",
        "access_log_bucket_name",
        "endpoint_state_dlq_url",
        "routes",
    }
    assert dev.outputs["bucket_arn"] == f"arn:aws:s3:::{dev.outputs['bucket_name']}"
    assert {name: m["endpoint_name"] for name, m in dev.outputs["models"].items()} == {
        "text-classifier": "ai-event-pipeline-dev-text-classifier",
        "image-classifier": "ai-event-pipeline-dev-image-classifier",
        "summarizer": "ai-event-pipeline-dev-summarizer",
    }


def test_new_exports_name_the_access_log_bucket_and_the_endpoint_state_dlq(dev):
    log_bucket = dev.resolve(dev.outputs["access_log_bucket_name"])
    assert log_bucket.key == ("aws:s3/bucket:Bucket", "access-logs"), log_bucket.key
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    assert dlq.key == ("aws:sqs/queue:Queue", "endpoint-state-dlq"), dlq.key


def test_route_exports_carry_each_route_kinds_resources(dev):
    common = {
        "via",
        "prefix",
        "suffix",
        "model",
        "endpoint_name",
        "function_name",
        "function_arn",
        "role_arn",
        "dlq_url",
        "dlq_arn",
    }
    extra = {
        "sns": {"topic_arn"},
        "sqs": {"queue_url", "queue_arn"},
        "lambda": set(),
        "eventbridge": {"rule_name", "rule_arn"},
        "kinesis": {"stream_name", "stream_arn", "producer_policy_arn"},
    }
    routes = dev.outputs["routes"]
    assert {name: r["via"] for name, r in routes.items()} == {
        "uploads": "sns",
        "batch": "sqs",
        "data": "lambda",
        "events": "eventbridge",
        "images": "sqs",
        "stream": "kinesis",
        "documents": "lambda",
    }
    for name, route in routes.items():
        assert set(route) == common | extra[route["via"]], name
    assert routes["data"]["suffix"] == ".json"
    assert routes["uploads"]["suffix"] is None


def test_route_exports_point_at_declared_resources(dev):
    for name, route in dev.outputs["routes"].items():
        for key in ("function_arn", "role_arn", "dlq_arn", "topic_arn", "queue_arn", "rule_arn"):
            if key in route:
                assert dev.resolve(route[key]), (name, key)
        assert dev.resolve(route["dlq_url"]).outputs["arn"] == route["dlq_arn"]
