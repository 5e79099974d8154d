"""Security properties of the dev stack: encryption, TLS-only access, least-privilege IAM, scoped grants."""

from __future__ import annotations

import json

import pytest
from stack_graph import (
    ALARM,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_POLICY,
    ENDPOINT_CONFIG,
    FUNCTION,
    KEY,
    KEY_POLICY,
    LOG_GROUP,
    PUBLIC_ACCESS_BLOCK,
    QUEUE,
    QUEUE_POLICY,
    ROLE,
    ROLE_POLICY,
    RULE,
    TABLE,
    TOPIC,
    TOPIC_POLICY,
    VERSIONING,
    actions,
    allowed_actions,
    as_list,
    policy_document,
    resources,
    service_principal,
    statement,
    statements,
)

from infra.iam import STREAM_CONSUMER_ACTIONS
from infra.storage import key_alias_name
from lambdas.inference import contract
from localrun.access import ALLOW, ServiceRequest, service_context
from localrun.access import evaluate_resource_policy as evaluate

ACCOUNT = "123456789012"
DEV_SERVERLESS_MODELS = ("text-classifier", "image-classifier")
DEV_ASYNC_MODELS = ("summarizer",)
DEV_MODELS = DEV_SERVERLESS_MODELS + DEV_ASYNC_MODELS

# (resource type holding the document, statement Sid or None for any, action) allowed a "*" resource.
STAR_RESOURCE_ALLOWLIST = {
    # X-Ray supports no resource-level permissions.
    ("aws:iam/rolePolicy:RolePolicy", "WriteTraces", "xray:PutTraceSegments"),
    ("aws:iam/rolePolicy:RolePolicy", "WriteTraces", "xray:PutTelemetryRecords"),
    # Registry auth tokens are account-wide.
    ("aws:iam/rolePolicy:RolePolicy", "GetRegistryToken", "ecr:GetAuthorizationToken"),
    # SageMaker's execution role publishes endpoint metrics; CloudWatch has no resource-level permission for
    # PutMetricData, so "*" is its only resource.
    ("aws:iam/rolePolicy:RolePolicy", "PublishEndpointMetrics", "cloudwatch:PutMetricData"),
}
# Wildcard actions allowed in Allow statements: the key's administration statement (AWS's default key
# policy), the GenerateDataKey* family the issue prescribes for publishing services, and the actions the
# CloudWatch Logs User Guide prescribes for a log group's key (step 2 of "Encrypt log data ... using KMS").
WILDCARD_ACTION_ALLOWLIST = {
    ("EnableAccountAdministration", "kms:*"),
    (None, "kms:GenerateDataKey*"),
    ("CloudWatchLogsLogGroups", "kms:Encrypt*"),
    ("CloudWatchLogsLogGroups", "kms:Decrypt*"),
    ("CloudWatchLogsLogGroups", "kms:ReEncrypt*"),
    ("CloudWatchLogsLogGroups", "kms:Describe*"),
}
BUCKETS = pytest.mark.parametrize("bucket_output", ["bucket_name", "access_log_bucket_name"])

EXPECTED_FUNCTION_ACTIONS = {
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "sagemaker:InvokeEndpoint",
    "dynamodb:PutItem",
    "s3:PutObject",  # large results, under bucket.largeResultsPrefix only
    "sns:Publish",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def test_key_rotates_and_has_a_deletion_window(dev):
    (key,) = dev.of_type(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30


def test_bucket_is_encrypted_with_the_stack_key_using_bucket_keys(dev):
    encryption = dev.of_bucket(BUCKET_ENCRYPTION, dev.outputs["bucket_name"])
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": dev.outputs["kms_key_arn"],
    }, encryption.key
    assert rule["bucketKeyEnabled"] is True, encryption.key


def test_access_log_bucket_is_encrypted_with_s3_managed_keys(dev):
    # S3 delivers server access logs only to a destination with SSE-S3 default encryption: SSE-KMS is not
    # supported there (S3 User Guide, "Enabling Amazon S3 server access logging").
    encryption = dev.of_bucket(BUCKET_ENCRYPTION, dev.outputs["access_log_bucket_name"])
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}, encryption.key
    assert not rule.get("bucketKeyEnabled"), encryption.key


def test_access_log_bucket_is_the_only_store_not_under_the_stack_key(dev):
    key_arn = dev.outputs["kms_key_arn"]
    unencrypted_by_key = []
    for bucket in dev.of_type(BUCKET):
        (rule,) = dev.of_bucket(BUCKET_ENCRYPTION, bucket.outputs["bucket"]).inputs["rules"]
        if rule["applyServerSideEncryptionByDefault"].get("kmsMasterKeyId") != key_arn:
            unencrypted_by_key.append(bucket.key)
    for store in (*dev.of_type(QUEUE), *dev.of_type(TOPIC)):
        if store.inputs.get("kmsMasterKeyId") != key_arn:
            unencrypted_by_key.append(store.key)
    for table in dev.of_type(TABLE):
        if table.inputs["serverSideEncryption"].get("kmsKeyArn") != key_arn:
            unencrypted_by_key.append(table.key)
    for log_group in dev.of_type(LOG_GROUP):
        if log_group.inputs.get("kmsKeyId") != key_arn:
            unencrypted_by_key.append(log_group.key)
    assert unencrypted_by_key == [(BUCKET, "access-logs")]


@BUCKETS
def test_bucket_blocks_public_access(dev, bucket_output):
    block = dev.of_bucket(PUBLIC_ACCESS_BLOCK, dev.outputs[bucket_output])
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, (block.key, flag)


@BUCKETS
def test_bucket_keeps_versions(dev, bucket_output):
    versioning = dev.of_bucket(VERSIONING, dev.outputs[bucket_output])
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}, versioning.key


@pytest.mark.parametrize("type_token", [QUEUE, TOPIC])
def test_every_queue_and_topic_is_encrypted_with_the_stack_key(dev, type_token):
    stores = dev.of_type(type_token)
    assert stores
    assert {s.name: s.inputs.get("kmsMasterKeyId") for s in stores} == {
        s.name: dev.outputs["kms_key_arn"] for s in stores
    }


def test_results_table_is_on_demand_recoverable_and_encrypted_with_the_stack_key(dev):
    (table,) = dev.of_type(TABLE)
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == contract.TABLE_PARTITION_KEY
    assert table.inputs["attributes"] == [
        {"name": contract.TABLE_PARTITION_KEY, "type": contract.TABLE_PARTITION_KEY_TYPE}
    ]
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": dev.outputs["kms_key_arn"]}
    assert table.inputs["deletionProtectionEnabled"] is False  # dev stack


def test_dev_stack_protects_nothing_from_pulumi_destroy(dev):
    assert [r.key for r in dev.run.resources if r.protect] == []


@pytest.mark.parametrize(
    ("stack", "alias"),
    [("dev", "alias/ai-event-pipeline-dev"), ("prod.eu-west", "alias/ai-event-pipeline-prod-eu-west")],
)
def test_key_alias_is_valid_for_any_stack_name(stack, alias):
    assert key_alias_name("ai-event-pipeline", stack) == alias


def _tls_denial(document: dict) -> dict:
    (deny,) = [s for s in statements(document) if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    return deny


@BUCKETS
def test_bucket_policy_refuses_every_request_without_tls(dev, bucket_output):
    policy = dev.of_bucket(BUCKET_POLICY, dev.outputs[bucket_output])
    bucket_arn = dev.resolve(dev.outputs[bucket_output]).outputs["arn"]
    deny = _tls_denial(policy_document(policy))
    assert deny["Action"] == ["s3:*"], policy.key
    assert set(deny["Resource"]) == {bucket_arn, f"{bucket_arn}/*"}, policy.key


def test_ingest_bucket_policy_grants_nothing(dev):
    policy = dev.of_bucket(BUCKET_POLICY, dev.outputs["bucket_name"])
    assert [s for s in statements(policy_document(policy)) if s["Effect"] == "Allow"] == [], policy.key


def test_access_log_bucket_lets_only_s3_logging_write_the_ingest_buckets_logs(dev):
    policy = dev.of_bucket(BUCKET_POLICY, dev.outputs["access_log_bucket_name"])
    document = policy_document(policy)
    (grant,) = [s for s in statements(document) if s["Effect"] == "Allow"]
    assert grant == statement(document, "AllowAccessLogDelivery"), policy.key
    log_bucket_arn = dev.resolve(dev.outputs["access_log_bucket_name"]).outputs["arn"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}, policy.key
    assert grant["Action"] == ["s3:PutObject"], policy.key
    assert grant["Resource"] == [f"{log_bucket_arn}/ingest/*"], policy.key
    assert grant["Condition"] == {
        "ArnEquals": {"aws:SourceArn": [dev.outputs["bucket_arn"]]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }, policy.key


def test_every_queue_has_a_tls_only_policy(dev):
    policies = {p.inputs["queueUrl"]: policy_document(p) for p in dev.of_type(QUEUE_POLICY)}
    for queue in dev.of_type(QUEUE):
        deny = _tls_denial(policies[queue.outputs["url"]])
        assert deny["Resource"] == [queue.outputs["arn"]], queue.name


def test_every_topic_has_a_tls_only_policy(dev):
    policies = {p.inputs["arn"]: policy_document(p) for p in dev.of_type(TOPIC_POLICY)}
    for topic in dev.of_type(TOPIC):
        deny = _tls_denial(policies[topic.outputs["arn"]])
        assert deny["Resource"] == [topic.outputs["arn"]], topic.name
        assert deny["Action"] == ["sns:Publish"]


def test_no_statement_anywhere_allows_every_action(dev):
    for resource, document in dev.policy_documents():
        for stmt in statements(document):
            assert "*" not in as_list(stmt["Action"]), resource.key


def test_wildcard_actions_appear_only_on_the_allowlist(dev):
    for resource, document in dev.policy_documents():
        for stmt in statements(document):
            if stmt["Effect"] != "Allow":
                continue  # TLS-only denials refuse every action on purpose
            for action in actions(stmt):
                if "*" in action:
                    assert (stmt.get("Sid"), action) in WILDCARD_ACTION_ALLOWLIST or (
                        None,
                        action,
                    ) in WILDCARD_ACTION_ALLOWLIST, (resource.key, action)


def test_star_resources_appear_only_where_aws_offers_nothing_narrower(dev):
    for resource, document in dev.policy_documents():
        if resource.type == KEY_POLICY:
            continue  # in a key policy, "*" is the key itself
        for stmt in statements(document):
            if "*" in resources(stmt):
                for action in actions(stmt):
                    assert (resource.type, stmt.get("Sid"), action) in STAR_RESOURCE_ALLOWLIST, (
                        resource.key,
                        action,
                    )


def source_condition_exceptions(dev) -> dict[tuple[str, str], dict | None]:
    """(policy type, service principal) -> the Condition it carries instead of aws:SourceArn and
    aws:SourceAccount."""
    log_group_arns = sorted(g.outputs["arn"] for g in dev.of_type(LOG_GROUP))
    return {
        # AWS does not support aws:SourceArn / aws:SourceAccount in a key policy for EventBridge delivering
        # to encrypted SNS topics (SNS Developer Guide, "Key management"): with them, deliveries fail
        # silently. A deliberate, documented exception.
        (KEY_POLICY, "events.amazonaws.com"): None,
        # CloudWatch Logs is bound by the encryption context instead: exactly our log groups' ARNs.
        (KEY_POLICY, "logs.us-east-1.amazonaws.com"): {
            "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}
        },
        # SageMaker documents this trust condition for inference execution roles, without aws:SourceAccount.
        (ROLE, "sagemaker.amazonaws.com"): {
            "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"}
        },
        # Lambda documents no source condition for execution-role trust.
        (ROLE, "lambda.amazonaws.com"): None,
    }


def test_every_service_principal_grant_is_conditioned_on_source_arn_and_account(dev):
    exceptions = source_condition_exceptions(dev)
    grants = 0
    for resource, document in dev.policy_documents():
        for stmt in statements(document):
            service = service_principal(stmt)
            if stmt["Effect"] != "Allow" or not service:
                continue
            if (resource.type, service) in exceptions:
                expected = exceptions[(resource.type, service)]
                condition = stmt.get("Condition")
                if condition and "ArnEquals" in condition:
                    condition = {"ArnEquals": {k: sorted(v) for k, v in condition["ArnEquals"].items()}}
                assert condition == expected, (resource.key, service)
                continue
            grants += 1
            # ArnLike only where the sources are a pattern: this stack's alarms, named before they exist.
            operator = "ArnLike" if stmt.get("Sid") == "CloudWatchAlarmActions" else "ArnEquals"
            assert set(stmt["Condition"]) == {operator, "StringEquals"}, (resource.key, service)
            assert stmt["Condition"][operator]["aws:SourceArn"], (resource.key, service)
            assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, (resource.key, service)
    assert grants >= 10


def test_function_roles_allow_exactly_what_the_handler_needs(dev):
    for name, route in dev.outputs["routes"].items():
        expected = EXPECTED_FUNCTION_ACTIONS | (
            {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
            if route["via"] == "sqs"
            else {"sqs:SendMessage"}  # async on-failure destination
        )
        if route["via"] == "kinesis":
            # Records, not objects: no reads of the bucket; the stream instead.
            expected = (expected - {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"}) | set(
                STREAM_CONSUMER_ACTIONS
            )
        if route["model"] in DEV_ASYNC_MODELS:
            # SageMaker reads the object itself and the result writer stores the answer: no S3 at all.
            expected = (
                expected - {a for a in expected if a.startswith("s3:")} - {"sagemaker:InvokeEndpoint"}
            ) | {"sagemaker:InvokeEndpointAsync"}
        assert allowed_actions(dev.role_policy_of(name)) == expected, name


def test_function_role_writes_results_only_with_put_item_on_the_table(dev):
    document = dev.role_policy_of("uploads")
    dynamodb = [s for s in statements(document) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert dynamodb == [statement(document, "PutResults")]
    assert dynamodb[0]["Action"] == ["dynamodb:PutItem"]
    table = dev.resolve(dev.outputs["results_table_name"])
    assert dynamodb[0]["Resource"] == [table.outputs["arn"]]


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_role_reads_only_its_own_route_prefix(dev, name):
    route = dev.route(name)
    read = statement(dev.role_policy_of(name), "ReadRouteObjects")
    assert read["Resource"] == [f"{dev.outputs['bucket_arn']}/{route['prefix']}*"]


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_role_scopes_every_other_grant_to_this_stack(dev, name):
    route = dev.route(name)
    document = dev.role_policy_of(name)
    function = dev.function(name)
    log_group = dev.resolve(function.inputs["loggingConfig"]["logGroup"])
    assert statement(document, "InvokeModelEndpoint")["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{route['endpoint_name']}"
    ]
    assert statement(document, "PublishOutcomes")["Resource"] == [dev.outputs["notifications_topic_arn"]]
    assert statement(document, "UseStackKey")["Resource"] == [dev.outputs["kms_key_arn"]]
    if route["via"] != "sqs":
        assert statement(document, "SendFailuresToDeadLetterQueue")["Resource"] == [route["dlq_arn"]]
    assert statement(document, "WriteOwnLogs")["Resource"] == [f"{log_group.outputs['arn']}:*"]
    assert statement(document, "TellMissingObjectsApart")["Resource"] == [dev.outputs["bucket_arn"]]


def test_only_log_delivery_large_results_and_async_outputs_may_write_to_a_bucket(dev):
    # Results go to DynamoDB, or, too large for an item, under the large-results prefix that no route's
    # filter matches (a function writing under a triggering prefix would loop); SageMaker writes an async
    # model's outputs and failures under the async prefix, which no route matches either. The only other S3
    # write granted anywhere is S3's own log delivery, into the access-log bucket.
    log_objects = f"arn:aws:s3:::{dev.outputs['access_log_bucket_name']}/"
    large_results = f"{dev.outputs['bucket_arn']}/{contract.DEFAULT_LARGE_RESULTS_PREFIX}*"
    async_paths = [
        f"{dev.outputs['bucket_arn']}/{contract.DEFAULT_ASYNC_INFERENCE_PREFIX}summarizer/{kind}/*"
        for kind in ("output", "failure")
    ]
    for resource, document in dev.policy_documents():
        for stmt in statements(document):
            if stmt["Effect"] != "Allow":
                continue
            writes = {a for a in actions(stmt) if a.startswith(("s3:Put", "s3:Delete"))}
            if not writes:
                continue
            if stmt.get("Sid") == "WriteLargeResults":
                assert (writes, resources(stmt)) == ({"s3:PutObject"}, [large_results]), resource.key
                continue
            if stmt.get("Sid") == "WriteAsyncOutputs":
                assert resource.name == "model-summarizer-exec-policy", resource.key
                assert (writes, resources(stmt)) == ({"s3:PutObject"}, async_paths), resource.key
                continue
            assert (stmt.get("Sid"), writes) == ("AllowAccessLogDelivery", {"s3:PutObject"}), resource.key
            assert all(r.startswith(log_objects) for r in resources(stmt)), resource.key
    for name, route in dev.outputs["routes"].items():
        if route["prefix"] is None:
            continue  # a kinesis route reads no keys
        for prefix in (contract.DEFAULT_LARGE_RESULTS_PREFIX, contract.DEFAULT_ASYNC_INFERENCE_PREFIX):
            assert not (prefix.startswith(route["prefix"]) or route["prefix"].startswith(prefix)), name


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events", "images"])
def test_function_role_may_put_large_results_only_under_their_prefix_with_the_stack_key(dev, name):
    document = dev.role_policy_of(name)
    write = statement(document, "WriteLargeResults")
    assert write["Action"] == ["s3:PutObject"]
    assert write["Resource"] == [f"{dev.outputs['bucket_arn']}/{contract.DEFAULT_LARGE_RESULTS_PREFIX}*"]
    use_key = statement(document, "UseStackKey")
    assert "kms:GenerateDataKey" in use_key["Action"]
    assert use_key["Resource"] == [dev.outputs["kms_key_arn"]]


def test_each_function_has_its_own_role(dev):
    role_arns = [r["role_arn"] for r in dev.outputs["routes"].values()]
    assert len(set(role_arns)) == len(role_arns)
    assert {dev.function(n).inputs["role"] for n in dev.outputs["routes"]} == set(role_arns)


@pytest.mark.parametrize("model_name", DEV_MODELS)
def test_sagemaker_role_is_separate_and_trusts_only_sagemaker(dev, model_name):
    model = dev.one("aws:sagemaker/model:Model", f"model-{model_name}-model")
    sagemaker_role = dev.resolve(model.inputs["executionRoleArn"])
    function_role_arns = {r["role_arn"] for r in dev.outputs["routes"].values()}
    assert sagemaker_role.outputs["arn"] not in function_role_arns
    (trust,) = statements(json.loads(sagemaker_role.inputs["assumeRolePolicy"]))
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}, sagemaker_role.key
    # The template SageMaker documents for inference execution roles: its "*" is part of it, and it needs no
    # aws:SourceAccount beside it.
    assert trust["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"}}, (
        sagemaker_role.key
    )


@pytest.mark.parametrize("model_name", DEV_MODELS)
def test_sagemaker_role_pulls_only_the_model_image_repository_and_writes_only_its_endpoint_logs(
    dev, model_name
):
    document = sagemaker_role_policy(dev, model_name)
    assert statement(document, "PullInferenceImage")["Resource"] == [
        "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference"
    ]
    endpoint_name = dev.outputs["models"][model_name]["endpoint_name"]
    log_group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint_name}"
    assert statement(document, "WriteEndpointLogs")["Resource"] == [log_group, f"{log_group}:*"]


def sagemaker_role_policy(dev, model_name: str) -> dict:
    model = dev.one("aws:sagemaker/model:Model", f"model-{model_name}-model")
    role = dev.resolve(model.inputs["executionRoleArn"])
    (policy,) = [p for p in dev.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    return policy_document(policy)


def test_each_model_has_its_own_execution_role(dev):
    roles = {
        dev.one("aws:sagemaker/model:Model", f"model-{name}-model").inputs["executionRoleArn"]
        for name in DEV_MODELS
    }
    assert len(roles) == len(DEV_MODELS)


@pytest.mark.parametrize("model_name", DEV_SERVERLESS_MODELS)
def test_dev_serverless_models_read_no_artifact_and_use_no_key(dev, model_name):
    # The dev models load from the Hugging Face Hub (HF_MODEL_ID): no ModelDataUrl, so no S3 or KMS grant.
    document = sagemaker_role_policy(dev, model_name)
    assert not {a for a in allowed_actions(document) if a.startswith(("s3:", "kms:"))}


@pytest.mark.parametrize("model_name", DEV_MODELS)
def test_sagemaker_role_may_publish_endpoint_metrics_and_nothing_else_on_cloudwatch(dev, model_name):
    document = sagemaker_role_policy(dev, model_name)
    metrics = statement(document, "PublishEndpointMetrics")
    assert metrics["Action"] == ["cloudwatch:PutMetricData"]
    assert resources(metrics) == ["*"]  # CloudWatch offers no resource-level permission for it
    assert {a for a in allowed_actions(document) if a.startswith("cloudwatch:")} == {
        "cloudwatch:PutMetricData"
    }


def test_serverless_endpoint_configuration_names_no_kms_key(dev):
    # A deliberate exception: kmsKeyArn encrypts instances' ML storage volumes, which serverless endpoints
    # do not have (SageMaker Developer Guide, "Serverless Inference", feature exclusions).
    endpoint_configs = [c for c in dev.of_type(ENDPOINT_CONFIG) if "asyncInferenceConfig" not in c.inputs]
    assert len(endpoint_configs) == len(DEV_SERVERLESS_MODELS)
    for endpoint_config in endpoint_configs:
        assert "kmsKeyArn" not in endpoint_config.inputs, endpoint_config.key


def test_function_roles_trust_only_lambda(dev):
    for name, route in dev.outputs["routes"].items():
        role = dev.resolve(route["role_arn"])
        (trust,) = statements(json.loads(role.inputs["assumeRolePolicy"]))
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}, name
        assert trust["Action"] == "sts:AssumeRole"


def test_roles_use_one_inline_policy_and_no_managed_policy_arns(dev):
    for role in dev.of_type(ROLE):
        assert "managedPolicyArns" not in role.inputs, role.name
        assert len([p for p in dev.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]) == 1


def key_policy(dev) -> dict:
    (resource,) = dev.of_type(KEY_POLICY)
    assert resource.inputs["keyId"] == dev.of_type(KEY)[0].outputs["keyId"], resource.key
    return policy_document(resource)


def test_key_policy_names_exactly_the_services_that_use_the_key(dev):
    assert sorted(s.get("Sid") for s in statements(key_policy(dev))) == [
        "CloudWatchAlarmActions",
        "CloudWatchLogsLogGroups",
        "EnableAccountAdministration",
        "EventBridgeRuleTargets",
        "S3EventNotifications",
        "SnsRedriveToDeadLetterQueues",
    ]


def test_key_policy_keeps_the_account_administration_statement(dev):
    root = statement(key_policy(dev), "EnableAccountAdministration")
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert (root["Action"], root["Resource"]) == ("kms:*", "*")


@pytest.mark.parametrize(
    ("sid", "service"),
    [("S3EventNotifications", "s3"), ("SnsRedriveToDeadLetterQueues", "sns")],
)
def test_key_policy_lets_publishers_use_the_key_only_for_our_sources(dev, sid, service):
    # SNS redrives the uploads route's deliveries and the summarizer's notifications to their result writer.
    summarizer = dev.outputs["models"]["summarizer"]
    sources = {
        "s3": [dev.outputs["bucket_arn"]],
        "sns": [
            dev.route("uploads")["topic_arn"],
            summarizer["success_topic_arn"],
            summarizer["error_topic_arn"],
        ],
    }
    grant = statement(key_policy(dev), sid)
    assert grant["Principal"] == {"Service": f"{service}.amazonaws.com"}, sid
    assert grant["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"], sid
    assert grant["Condition"] == {
        "ArnEquals": {"aws:SourceArn": sources[service]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }, sid


def test_every_alarm_is_named_with_the_project_and_stack_prefix(dev):
    for alarm in dev.of_type(ALARM):
        assert alarm.inputs["name"] == f"ai-event-pipeline/dev/{alarm.name}", alarm.key


def _cloudwatch_uses_key(dev, alarm_arn: str) -> str:
    request = ServiceRequest(
        service="cloudwatch.amazonaws.com",
        action="kms:GenerateDataKey",
        resource=dev.outputs["kms_key_arn"],
        context=service_context(alarm_arn, ACCOUNT),
    )
    return evaluate(key_policy(dev), request)


def test_key_policy_lets_cloudwatch_use_the_key_for_this_stacks_alarms_by_pattern(dev):
    grant = statement(key_policy(dev), "CloudWatchAlarmActions")
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert grant["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    # The policy exists before the alarms, so it matches them by their shared name prefix.
    assert grant["Condition"] == {
        "ArnLike": {
            "aws:SourceArn": [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ai-event-pipeline/dev/*"]
        },
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    for alarm in dev.of_type(ALARM):
        assert _cloudwatch_uses_key(dev, alarm.outputs["arn"]) == ALLOW, alarm.key


@pytest.mark.parametrize(
    "alarm_arn",
    [
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ai-event-pipeline/prod/uploads-dlq-not-empty",
        # A stack whose name starts with this one's: `/` cannot occur in a stack name.
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ai-event-pipeline/dev-eu/uploads-dlq-not-empty",
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:other-project/dev/uploads-dlq-not-empty",
        f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:ai-event-pipeline/dev/uploads-dlq-not-empty",
        "arn:aws:cloudwatch:us-east-1:210987654321:alarm:ai-event-pipeline/dev/uploads-dlq-not-empty",
    ],
    ids=[
        "another stack",
        "a stack with this name as prefix",
        "another project",
        "another region",
        "another account",
    ],
)
def test_key_policy_refuses_cloudwatch_for_alarms_outside_this_stack(dev, alarm_arn):
    assert _cloudwatch_uses_key(dev, alarm_arn) != ALLOW, alarm_arn


def test_key_policy_lets_eventbridge_use_the_key_unconditioned_as_the_documented_exception(dev):
    # AWS does not support source conditions in a key policy for EventBridge delivering to encrypted SNS
    # topics (with them, deliveries fail silently): the rule targets' topic and DLQs need this statement.
    grant = statement(key_policy(dev), "EventBridgeRuleTargets")
    assert grant["Principal"] == {"Service": "events.amazonaws.com"}
    assert grant["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert "Condition" not in grant


def test_key_policy_lets_cloudwatch_logs_use_the_key_only_for_the_function_log_groups(dev):
    grant = statement(key_policy(dev), "CloudWatchLogsLogGroups")
    assert grant["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}  # the regional principal
    assert set(grant["Action"]) == {
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
    }
    (condition,) = grant["Condition"].items()
    operator, clauses = condition
    assert (operator, list(clauses)) == ("ArnEquals", ["kms:EncryptionContext:aws:logs:arn"])
    log_groups = {f.inputs["loggingConfig"]["logGroup"] for f in dev.of_type(FUNCTION)}
    assert len(log_groups) == len(dev.outputs["routes"]) + len(DEV_ASYNC_MODELS)  # + the result writers
    assert sorted(clauses["kms:EncryptionContext:aws:logs:arn"]) == sorted(
        dev.resolve(name).outputs["arn"] for name in log_groups
    )


def test_key_policy_names_no_iam_role(dev):
    # The administration statement lets IAM policies grant key use, so the policy needs no function role
    # and can exist before the functions' encrypted log groups.
    document = key_policy(dev)
    for stmt in statements(document):
        principal = stmt["Principal"]
        assert principal.get("AWS", f"arn:aws:iam::{ACCOUNT}:root") == f"arn:aws:iam::{ACCOUNT}:root", stmt
    assert ":role/" not in json.dumps(document)


@pytest.mark.parametrize("name", ["uploads", "batch", "data", "events"])
def test_function_role_grants_exactly_decrypt_and_generate_data_key_on_the_stack_key(dev, name):
    document = dev.role_policy_of(name)
    use_key = statement(document, "UseStackKey")
    assert use_key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"], name
    assert use_key["Resource"] == [dev.outputs["kms_key_arn"]], name
    kms_statements = [s for s in statements(document) if any(a.startswith("kms:") for a in actions(s))]
    assert kms_statements == [use_key], name


def scaling_alarms(dev) -> list:
    """Alarms whose action is an async endpoint's scale-out-from-zero policy, not a page."""
    return [a for a in dev.of_type(ALARM) if a.name.endswith("-backlog-without-capacity")]


def ops_alarms(dev) -> list:
    scaling = {a.key for a in scaling_alarms(dev)}
    return [a for a in dev.of_type(ALARM) if a.key not in scaling]


def test_an_async_models_backlog_without_capacity_alarm_only_scales_it_out_from_zero(dev):
    (alarm,) = scaling_alarms(dev)
    (policy,) = [p for p in dev.of_type("aws:appautoscaling/policy:Policy") if p.name.endswith("-from-zero")]
    assert alarm.inputs["alarmActions"] == [policy.outputs["arn"]]
    assert alarm.inputs["name"] == f"ai-event-pipeline/dev/{alarm.name}"


def test_alarms_have_dimensions_and_notify_the_ops_topic(dev):
    alarms = ops_alarms(dev)
    for alarm in alarms:
        assert alarm.inputs["dimensions"], alarm.name
        assert alarm.inputs["alarmActions"] == [dev.outputs["ops_topic_arn"]], alarm.name
    metrics = sorted((a.inputs["namespace"], a.inputs["metricName"]) for a in alarms)
    # one per DLQ: the seven routes', the endpoint-state rule's and the summarizer's result writer's
    assert metrics.count(("AWS/SQS", "ApproximateNumberOfMessagesVisible")) == 9
    assert metrics.count(("AWS/Events", "FailedInvocations")) == 1  # the endpoint-state rule
    assert metrics.count(("AWS/Lambda", "Errors")) == 8  # the routes' functions and the result writer
    assert metrics.count(("AWS/Lambda", "Throttles")) == 7
    assert metrics.count(("AWS/SQS", "ApproximateAgeOfOldestMessage")) == 2  # the sqs routes' queues
    sagemaker = [a for a in alarms if a.inputs["namespace"] == "AWS/SageMaker"]
    expected = {
        "serverless": ["Invocation5XXErrors", "ModelLatency"],
        # An async endpoint's backlog and its requests that fail or are never notified, by EndpointName.
        "async": [
            "ApproximateAgeOfOldestRequest",
            "ExpiredRequests",
            "Invocation5XXErrors",
            "InvocationFailures",
            "ModelLatency",
            "NotificationFailures",
        ],
    }
    for model_name in DEV_MODELS:
        endpoint_name = dev.outputs["models"][model_name]["endpoint_name"]
        own = [a for a in sagemaker if a.inputs["dimensions"].get("EndpointName") == endpoint_name]
        metric_names = sorted(a.inputs["metricName"] for a in own)
        mode = "async" if model_name in DEV_ASYNC_MODELS else "serverless"
        assert metric_names == expected[mode], model_name
        assert all(a.name.startswith(f"model-{model_name}-") for a in own), model_name
    assert len(sagemaker) == sum(
        len(expected["async" if m in DEV_ASYNC_MODELS else "serverless"]) for m in DEV_MODELS
    )


def test_dlq_alarms_watch_every_dead_letter_queue(dev):
    watched = {
        a.inputs["dimensions"]["QueueName"]
        for a in dev.of_type(ALARM)
        if a.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"
    }
    endpoint_state_dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    assert watched == {
        *(dev.resolve(r["dlq_arn"]).outputs["name"] for r in dev.outputs["routes"].values()),
        *(
            dev.resolve(dev.outputs["models"][m]["result_writer_dlq_url"]).outputs["name"]
            for m in DEV_ASYNC_MODELS
        ),
        endpoint_state_dlq.outputs["name"],
    }


def test_failed_endpoint_state_deliveries_raise_an_alarm_on_the_rule(dev):
    (rule,) = [
        r for r in dev.of_type(RULE) if json.loads(r.inputs["eventPattern"])["source"] == ["aws.sagemaker"]
    ]
    alarm = dev.one(ALARM, "endpoint-state-failed-deliveries")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Events", "FailedInvocations")
    assert alarm.inputs["dimensions"] == {"RuleName": rule.outputs["name"]}, alarm.key
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm.inputs["alarmActions"] == [dev.outputs["ops_topic_arn"]], alarm.key


def test_endpoint_state_dlq_raises_an_alarm_when_it_holds_a_message(dev):
    alarm = dev.one(ALARM, "endpoint-state-dlq-not-empty")
    dlq = dev.resolve(dev.outputs["endpoint_state_dlq_url"])
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}, alarm.key
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)


def test_ops_topic_accepts_alarm_actions_only_from_our_alarms(dev):
    (policy,) = [p for p in dev.of_type(TOPIC_POLICY) if p.inputs["arn"] == dev.outputs["ops_topic_arn"]]
    (grant,) = [s for s in statements(policy_document(policy)) if service_principal(s)]
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(grant["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        a.outputs["arn"] for a in ops_alarms(dev)
    )
