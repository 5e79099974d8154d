"""The kinesis route: its config keys and refusals, and the graph the dev stack's `stream` route declares —
the encrypted stream, the event source mapping's settings, the function role's scope, the producer policy and
the outputs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from stack_graph import DEV_CONFIG, ROLE_POLICY, StackGraph, allowed_actions, statement, statements

from infra.config import ConfigError, StackConfig, parse_config
from infra.iam import STREAM_CONSUMER_ACTIONS
from lambdas.inference import contract

NAMESPACE = "ai-event-pipeline:"
STREAM_TYPE = "aws:kinesis/stream:Stream"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
POLICY = "aws:iam/policy:Policy"


def parse(mutate: Callable[[dict[str, Any]], Any] | None = None) -> StackConfig:
    document = yaml.safe_load(DEV_CONFIG.read_text())["config"]
    values = copy.deepcopy(
        {k.removeprefix(NAMESPACE): v for k, v in document.items() if k.startswith(NAMESPACE)}
    )
    if mutate:
        mutate(values)
    return parse_config(values, stack="dev", region="us-east-1")


def problems(mutate: Callable[[dict[str, Any]], Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(mutate)
    found = [line.removeprefix("  - ") for line in str(error.value).splitlines() if line.startswith("  - ")]
    assert found and all("Fix: " in line for line in found), found
    return found


def kinesis(**settings: Any) -> Callable[[dict[str, Any]], None]:
    return lambda values: values["kinesis"].update(settings)


def stream_route(**settings: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        [route] = [r for r in values["routes"] if r["via"] == "kinesis"]
        route.update(settings)

    return mutate


# --- config ---------------------------------------------------------------------------------------------
def test_the_dev_stack_has_a_kinesis_route_on_the_text_classifier_with_no_prefix():
    [route] = [r for r in parse().routes if r.via == "kinesis"]
    assert (route.name, route.model, route.prefix, route.suffix) == ("stream", "text-classifier", None, None)


def test_kinesis_settings_are_read_from_the_stack_file():
    settings = parse().kinesis
    assert (settings.stream_mode, settings.shard_count, settings.batch_size) == ("PROVISIONED", 1, 10)
    assert (settings.maximum_retry_attempts, settings.maximum_record_age_seconds) == (3, 3600)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("batchSize", 0, r"must be an integer from 1 to 10000"),
        ("batchSize", 10001, r"must be an integer from 1 to 10000"),
        ("maximumBatchingWindowSeconds", 301, r"must be an integer from 0 to 300"),
        ("maximumRetryAttempts", -2, r"must be an integer from -1 to 10000"),
        ("maximumRetryAttempts", 10001, r"must be an integer from -1 to 10000"),
        ("parallelizationFactor", 11, r"must be an integer from 1 to 10"),
        ("parallelizationFactor", 0, r"must be an integer from 1 to 10"),
        ("retentionHours", 23, r"must be an integer from 24 to 8760"),
        ("retentionHours", 8761, r"must be an integer from 24 to 8760"),
        ("maximumRecordAgeSeconds", 59, r"must be -1 \(no limit\) or from 60"),
        ("maximumRecordAgeSeconds", 0, r"must be -1 \(no limit\) or from 60"),
        ("maximumRecordAgeSeconds", 604801, r"must be an integer from -1 to 604800"),
        ("startingPosition", "AT_TIMESTAMP", r"must be one of TRIM_HORIZON, LATEST"),
        ("streamMode", "SHARDED", r"must be one of ON_DEMAND, PROVISIONED"),
        ("shardCount", 0, r"must be an integer from 1 to 10000"),
    ],
)  # fmt: skip
def test_a_kinesis_setting_out_of_aws_range_is_refused_naming_the_key(key, value, message):
    found = problems(kinesis(**{key: value}))
    assert any(re.search(rf"kinesis\.{key} {message}", line) for line in found), found


@pytest.mark.parametrize("seconds", [-1, 60, 86400])
def test_a_record_age_of_minus_one_or_within_range_is_accepted(seconds):
    assert (
        parse(kinesis(maximumRecordAgeSeconds=seconds, retentionHours=24)).kinesis.maximum_record_age_seconds
        == seconds
    )


def test_a_provisioned_stream_needs_a_shard_count():
    def mutate(values):
        values["kinesis"].pop("shardCount")

    [message] = problems(mutate)
    assert message.startswith("ai-event-pipeline:kinesis.shardCount is required with streamMode PROVISIONED")


def test_an_on_demand_stream_refuses_a_shard_count():
    [message] = problems(kinesis(streamMode="ON_DEMAND"))
    assert "kinesis.shardCount (1) is set with streamMode ON_DEMAND" in message


def test_a_record_age_beyond_the_retention_is_refused():
    [message] = problems(kinesis(maximumRecordAgeSeconds=90000, retentionHours=24))
    assert "kinesis.maximumRecordAgeSeconds (90000) exceeds the stream's retention" in message


@pytest.mark.parametrize("key", ["prefix", "suffix"])
def test_a_kinesis_route_refuses_an_s3_filter(key):
    [message] = problems(stream_route(**{key: "records/"}))
    assert re.search(rf"routes\[5\]\.{key} is set on kinesis route 'stream'", message), message


def test_an_s3_route_still_needs_a_prefix():
    def mutate(values):
        values["routes"][0].pop("prefix")

    [message] = problems(mutate)
    assert message.startswith("ai-event-pipeline:routes[0].prefix is required")


def test_a_kinesis_route_refuses_a_binary_model():
    found = problems(stream_route(model="image-classifier"))
    assert any("routes[5].model names model 'image-classifier' (payloadFormat binary)" in f for f in found), (
        found
    )


def test_a_provisioned_kinesis_route_counts_shards_times_parallelization_times_calls_in_the_budget():
    # 2 shards x 3 batches per shard x ceil(100 records / 10 per call) = 60, with the batch route's 5.
    found = problems(kinesis(shardCount=2, parallelizationFactor=3, batchSize=100))
    assert any(
        "is below the 65 concurrent endpoint calls" in f and "'stream' (kinesis) 60" in f for f in found
    ), found


def test_an_on_demand_kinesis_route_is_an_unbounded_caller_and_warns():
    def mutate(values):
        values["kinesis"]["streamMode"] = "ON_DEMAND"
        values["kinesis"].pop("shardCount")

    warnings = parse(mutate).warnings
    assert any(w.startswith("route 'stream' (kinesis) has no bound") and "ON_DEMAND" in w for w in warnings)


def test_reserved_concurrency_bounds_an_on_demand_kinesis_route():
    def mutate(values):
        values["kinesis"]["streamMode"] = "ON_DEMAND"
        values["kinesis"].pop("shardCount")
        values["function"]["reservedConcurrency"] = 5
        values["models"]["text-classifier"]["maxConcurrency"] = 30  # 4 async x 5, batch 5, stream 5 x 1
        values["models"]["image-classifier"]["maxConcurrency"] = 50

    assert not any("'stream'" in w for w in parse(mutate).warnings)


# --- the graph ------------------------------------------------------------------------------------------
def stream_of(dev: StackGraph):
    return dev.resolve(dev.route("stream")["stream_arn"])


def test_the_stream_is_encrypted_with_the_stack_key_and_keeps_records_as_configured(dev):
    stream = stream_of(dev)
    assert (stream.inputs["encryptionType"], stream.inputs["kmsKeyId"]) == ("KMS", dev.outputs["kms_key_arn"])
    assert stream.inputs["retentionPeriod"] == 24
    assert (stream.inputs["streamModeDetails"], stream.inputs["shardCount"]) == (
        {"streamMode": "PROVISIONED"},
        1,
    )


def test_the_stream_mapping_carries_every_configured_setting_and_the_dlq(dev):
    route = dev.route("stream")
    [mapping] = [m for m in dev.of_type(MAPPING) if m.inputs.get("eventSourceArn") == route["stream_arn"]]
    inputs = mapping.inputs
    assert inputs["functionName"] == route["function_arn"]
    assert (inputs["startingPosition"], inputs["batchSize"], inputs["maximumBatchingWindowInSeconds"]) == (
        "TRIM_HORIZON", 10, 1
    )  # fmt: skip
    assert (inputs["bisectBatchOnFunctionError"], inputs["maximumRetryAttempts"]) == (True, 3)
    assert (inputs["maximumRecordAgeInSeconds"], inputs["parallelizationFactor"]) == (3600, 1)
    assert inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert inputs["destinationConfig"] == {"onFailure": {"destinationArn": route["dlq_arn"]}}
    assert ("aws:iam/rolePolicy:RolePolicy", "inference-stream-policy") in mapping.depends_on


def test_the_stream_function_knows_its_stream_and_route_kind(dev):
    variables = dev.function("stream").inputs["environment"]["variables"]
    assert variables[contract.ENV_STREAM_NAME] == stream_of(dev).outputs["name"]
    assert variables[contract.ENV_ROUTE_VIA] == "kinesis"


def test_the_stream_role_reads_exactly_its_stream(dev):
    document = dev.role_policy_of("stream")
    read = statement(document, "ReadRouteStream")
    assert (set(read["Action"]), read["Resource"]) == (
        set(STREAM_CONSUMER_ACTIONS),
        [dev.route("stream")["stream_arn"]],
    )
    kinesis_actions = {
        a
        for s in statements(document)
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if a.startswith("kinesis:")
    }
    assert kinesis_actions == set(STREAM_CONSUMER_ACTIONS)


def test_the_stream_role_reads_nothing_of_s3(dev):
    actions = allowed_actions(dev.role_policy_of("stream"))
    assert not {a for a in actions if a.startswith("s3:") and a != "s3:PutObject"}, actions


def test_the_stream_role_decrypts_with_the_stack_key_and_sends_to_its_dlq(dev):
    document = dev.role_policy_of("stream")
    assert "kms:Decrypt" in statement(document, "UseStackKey")["Action"]
    assert statement(document, "UseStackKey")["Resource"] == [dev.outputs["kms_key_arn"]]
    assert statement(document, "SendFailuresToDeadLetterQueue")["Resource"] == [
        dev.route("stream")["dlq_arn"]
    ]


def test_other_routes_roles_cannot_read_the_stream(dev):
    for name in dev.outputs["routes"]:
        if name != "stream":
            assert not {a for a in allowed_actions(dev.role_policy_of(name)) if a.startswith("kinesis:")}, (
                name
            )


def test_the_producer_policy_allows_exactly_putting_records_and_the_key_use_it_needs(dev):
    route = dev.route("stream")
    policy = dev.resolve(route["producer_policy_arn"])
    assert policy.type == POLICY
    document = json.loads(policy.inputs["policy"])
    assert [(set(s["Action"]), s["Resource"]) for s in statements(document)] == [
        ({"kinesis:PutRecord", "kinesis:PutRecords"}, [route["stream_arn"]]),
        ({"kms:GenerateDataKey"}, [dev.outputs["kms_key_arn"]]),
    ]
    assert all(s["Effect"] == "Allow" for s in statements(document))


def test_the_producer_policy_is_attached_to_no_role_of_the_stack(dev):
    assert not dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert all(
        route["producer_policy_arn"] not in json.dumps(p.inputs)
        for p in dev.of_type(ROLE_POLICY)
        for route in [dev.route("stream")]
    )


def test_the_stream_route_exports_its_stream_and_producer_policy(dev):
    route = dev.route("stream")
    stream = stream_of(dev)
    assert (route["stream_name"], route["stream_arn"]) == (stream.outputs["name"], stream.outputs["arn"])
    assert route["producer_policy_arn"].startswith("arn:aws:iam::")
    assert (route["via"], route["prefix"]) == ("kinesis", None)
