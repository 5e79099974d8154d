"""Security properties of the dev stack: encryption, TLS-only access, least-privilege IAM, scoped grants."""

from __future__ import annotations

import json

import pytest
from stack_graph import (
    ALARM,
    BUCKET_POLICY,
    KEY,
    KEY_POLICY,
    QUEUE,
    QUEUE_POLICY,
    ROLE,
    ROLE_POLICY,
    RULE,
    TABLE,
    TOPIC,
    TOPIC_POLICY,
    actions,
    allowed_actions,
    as_list,
    policy_document,
    resources,
    service_principal,
    statement,
    statements,
)

from infra.storage import key_alias_name
from lambdas.inference import contract

ACCOUNT = "123456789012"

# (resource type holding the document, statement Sid or None for any, action) allowed a "*" resource.
STAR_RESOURCE_ALLOWLIST = {
    # X-Ray supports no resource-level permissions.
    ("aws:iam/rolePolicy:RolePolicy", "WriteTraces", "xray:PutTraceSegments"),
    ("aws:iam/rolePolicy:RolePolicy", "WriteTraces", "xray:PutTelemetryRecords"),
    # Registry auth tokens are account-wide.
    ("aws:iam/rolePolicy:RolePolicy", "GetRegistryToken", "ecr:GetAuthorizationToken"),
}
# Wildcard actions allowed in Allow statements: the key's administration statement (AWS's default key
# policy) and the GenerateDataKey* family the issue prescribes for publishing services.
WILDCARD_ACTION_ALLOWLIST = {("EnableAccountAdministration", "kms:*"), (None, "kms:GenerateDataKey*")}

EXPECTED_FUNCTION_ACTIONS = {
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "sagemaker:InvokeEndpoint",
    "dynamodb:PutItem",
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
    (encryption,) = dev.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["bucket"] == dev.outputs["bucket_name"]
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": dev.outputs["kms_key_arn"],
    }
    assert rule["bucketKeyEnabled"] is True


def test_bucket_blocks_public_access_and_keeps_versions(dev):
    (block,) = dev.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (versioning,) = dev.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


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


def test_bucket_policy_refuses_every_request_without_tls(dev):
    (policy,) = dev.of_type(BUCKET_POLICY)
    deny = _tls_denial(policy_document(policy))
    assert deny["Action"] == ["s3:*"]
    assert set(deny["Resource"]) == {dev.outputs["bucket_arn"], f"{dev.outputs['bucket_arn']}/*"}


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


def test_every_service_principal_grant_is_conditioned_on_source_arn_and_account(dev):
    grants = 0
    for resource, document in dev.policy_documents():
        if resource.type == ROLE:
            continue  # trust policies: checked separately
        for stmt in statements(document):
            if stmt["Effect"] == "Allow" and service_principal(stmt):
                grants += 1
                assert stmt["Condition"]["ArnEquals"]["aws:SourceArn"], resource.key
                assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, resource.key
    assert grants >= 9


def test_function_roles_allow_exactly_what_the_handler_needs(dev):
    for name in dev.outputs["routes"]:
        expected = EXPECTED_FUNCTION_ACTIONS | (
            {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
            if name == "batch"
            else {"sqs:SendMessage"}  # async on-failure destination
        )
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
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{dev.outputs['endpoint_name']}"
    ]
    assert statement(document, "PublishOutcomes")["Resource"] == [dev.outputs["notifications_topic_arn"]]
    assert statement(document, "UseStackKey")["Resource"] == [dev.outputs["kms_key_arn"]]
    if route["via"] != "sqs":
        assert statement(document, "SendFailuresToDeadLetterQueue")["Resource"] == [route["dlq_arn"]]
    assert statement(document, "WriteOwnLogs")["Resource"] == [f"{log_group.outputs['arn']}:*"]
    assert statement(document, "TellMissingObjectsApart")["Resource"] == [dev.outputs["bucket_arn"]]


def test_nothing_may_write_to_the_ingest_bucket(dev):
    # Results go to DynamoDB; a function writing under a triggering prefix would loop.
    for resource, document in dev.policy_documents():
        for action in allowed_actions(document):
            assert not action.startswith(("s3:Put", "s3:Delete")), (resource.key, action)


def test_each_function_has_its_own_role(dev):
    role_arns = [r["role_arn"] for r in dev.outputs["routes"].values()]
    assert len(set(role_arns)) == len(role_arns)
    assert {dev.function(n).inputs["role"] for n in dev.outputs["routes"]} == set(role_arns)


def test_sagemaker_role_is_separate_and_trusts_only_sagemaker(dev):
    model = dev.of_type("aws:sagemaker/model:Model")[0]
    sagemaker_role = dev.resolve(model.inputs["executionRoleArn"])
    function_role_arns = {r["role_arn"] for r in dev.outputs["routes"].values()}
    assert sagemaker_role.outputs["arn"] not in function_role_arns
    (trust,) = statements(json.loads(sagemaker_role.inputs["assumeRolePolicy"]))
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_sagemaker_role_pulls_only_the_model_image_repository_and_writes_only_its_endpoint_logs(dev):
    model = dev.of_type("aws:sagemaker/model:Model")[0]
    role = dev.resolve(model.inputs["executionRoleArn"])
    (policy,) = [p for p in dev.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    document = policy_document(policy)
    assert statement(document, "PullInferenceImage")["Resource"] == [
        "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference"
    ]
    log_group = (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{dev.outputs['endpoint_name']}"
    )
    assert statement(document, "WriteEndpointLogs")["Resource"] == [log_group, f"{log_group}:*"]


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


def test_key_policy_grants_exactly_the_publishers_that_write_encrypted_data(dev):
    (key_policy,) = dev.of_type(KEY_POLICY)
    assert key_policy.inputs["keyId"] == dev.of_type(KEY)[0].outputs["keyId"]
    document = policy_document(key_policy)
    by_service = {service_principal(s): s for s in statements(document) if service_principal(s)}
    rules = sorted(r.outputs["arn"] for r in dev.of_type(RULE))
    alarms = sorted(a.outputs["arn"] for a in dev.of_type(ALARM))
    expected_sources = {
        "s3.amazonaws.com": [dev.outputs["bucket_arn"]],
        "sns.amazonaws.com": [dev.route("uploads")["topic_arn"]],
        "events.amazonaws.com": rules,
        "cloudwatch.amazonaws.com": alarms,
    }
    assert {svc: sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"]) for svc, s in by_service.items()} == (
        expected_sources
    )
    for grant in by_service.values():
        assert grant["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    roles = statement(document, "InferenceFunctionRoles")
    assert sorted(roles["Principal"]["AWS"]) == sorted(r["role_arn"] for r in dev.outputs["routes"].values())
    root = statement(document, "EnableAccountAdministration")
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_alarms_have_dimensions_and_notify_the_ops_topic(dev):
    alarms = dev.of_type(ALARM)
    for alarm in alarms:
        assert alarm.inputs["dimensions"], alarm.name
        assert alarm.inputs["alarmActions"] == [dev.outputs["ops_topic_arn"]], alarm.name
    metrics = sorted((a.inputs["namespace"], a.inputs["metricName"]) for a in alarms)
    assert metrics.count(("AWS/SQS", "ApproximateNumberOfMessagesVisible")) == 4  # one per DLQ
    assert metrics.count(("AWS/Lambda", "Errors")) == 4
    assert metrics.count(("AWS/Lambda", "Throttles")) == 4
    assert metrics.count(("AWS/SQS", "ApproximateAgeOfOldestMessage")) == 1  # the sqs route's queue
    sagemaker = [a for a in alarms if a.inputs["namespace"] == "AWS/SageMaker"]
    assert sorted(a.inputs["metricName"] for a in sagemaker) == ["Invocation5XXErrors", "ModelLatency"]
    for alarm in sagemaker:
        assert alarm.inputs["dimensions"] == {
            "EndpointName": dev.outputs["endpoint_name"],
            "VariantName": "AllTraffic",
        }


def test_dlq_alarms_watch_every_dead_letter_queue(dev):
    watched = {
        a.inputs["dimensions"]["QueueName"]
        for a in dev.of_type(ALARM)
        if a.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched == {dev.resolve(r["dlq_arn"]).outputs["name"] for r in dev.outputs["routes"].values()}


def test_ops_topic_accepts_alarm_actions_only_from_our_alarms(dev):
    (policy,) = [p for p in dev.of_type(TOPIC_POLICY) if p.inputs["arn"] == dev.outputs["ops_topic_arn"]]
    (grant,) = [s for s in statements(policy_document(policy)) if service_principal(s)]
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(grant["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        a.outputs["arn"] for a in dev.of_type(ALARM)
    )
