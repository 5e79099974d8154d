"""Stack configuration: typed values, defaults, and one clear error (key + fix) per bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from stack_graph import DEV_CONFIG

from infra.config import (
    ConfigError,
    Route,
    filters_overlap,
    parse_config,
)
from lambdas.inference import contract
from localrun.program import run_program
from tools.capture_mocks import CaptureMocks

NAMESPACE = "ai-event-pipeline:"


def dev_values() -> dict[str, Any]:
    """Pulumi.dev.yaml's project keys, decoded the way the program receives them."""
    document = yaml.safe_load(DEV_CONFIG.read_text())["config"]
    return {
        key.removeprefix(NAMESPACE): value for key, value in document.items() if key.startswith(NAMESPACE)
    }


def parse(
    mutate: Callable[[dict[str, Any]], Any] | None = None,
    *,
    stack: str = "dev",
    region: str | None = "us-east-1",
):
    values = copy.deepcopy(dev_values())
    if mutate:
        mutate(values)
    return parse_config(values, stack=stack, region=region)


def test_dev_stack_file_parses_into_typed_settings():
    config = parse()
    assert [(r.name, r.prefix, r.suffix, r.via) for r in config.routes] == [
        ("uploads", "uploads/", None, "sns"),
        ("batch", "batch/", None, "sqs"),
        ("data", "data/", ".json", "lambda"),
        ("events", "events/", None, "eventbridge"),
    ]
    assert (config.function.memory_mb, config.function.timeout_seconds) == (1024, 300)
    assert config.model.mode == "serverless"
    assert config.model.environment["HF_TASK"] == "text-classification"
    assert config.deletion_protection is False


def test_region_placeholder_in_model_image_becomes_the_stack_region():
    config = parse(region="eu-central-1")
    assert config.model.image.startswith("763104351884.dkr.ecr.eu-central-1.amazonaws.com/")
    assert config.model.image_region == "eu-central-1"


def test_omitted_optional_sections_take_documented_defaults():
    values = {"routes": [{"name": "only", "prefix": "in/", "via": "sqs"}], "model": dev_values()["model"]}
    config = parse_config(values, stack="staging", region="us-west-2")
    assert config.function.timeout_seconds == 300
    assert config.function.max_object_bytes == contract.DEFAULT_MAX_OBJECT_BYTES
    assert config.function.reserved_concurrency is None
    assert config.function.powertools_layer_arn is None  # resolved from the release's SSM parameter
    assert (
        config.sqs.batch_size,
        config.sqs.maximum_batching_window_seconds,
        config.sqs.maximum_concurrency,
    ) == (10, 5, 5)
    assert config.async_invoke.maximum_event_age_seconds == 3600
    assert config.notification_subscriptions == ()


@pytest.mark.parametrize(("stack", "expected"), [("dev", False), ("prod", True), ("staging", True)])
def test_deletion_protection_defaults_to_on_outside_dev(stack, expected):
    config = parse(lambda v: v.pop("deletionProtection"), stack=stack)
    assert config.deletion_protection is expected


def test_configured_powertools_layer_arn_is_kept():
    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:40"
    config = parse(lambda v: v["function"].update(powertoolsLayerArn=arn))
    assert config.function.powertools_layer_arn == arn


def test_optional_worker_and_batch_settings_are_read():
    def mutate(values):
        values["function"]["maxWorkers"] = 8
        values["model"]["maxBatchSize"] = 4

    config = parse(mutate)
    assert (config.function.max_workers, config.model.max_batch_size) == (8, 4)


def test_eventbridge_routes_may_overlap_any_other_route():
    def mutate(values):
        values["routes"].append({"name": "mirror", "prefix": "batch/", "via": "eventbridge"})

    assert [r.name for r in parse(mutate).routes][-1] == "mirror"


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (("a/", None), ("a/", None), True),
        (("a/", None), ("a/b/", None), True),
        (("a/", ".json"), ("a/", ".csv"), False),
        (("a/", ".json"), ("a/", None), True),
        (("a/", "x.json"), ("a/", ".json"), True),
        (("a/", None), ("b/", None), False),
        (("", ".json"), ("a/", ".json"), True),
    ],
)
def test_overlap_follows_s3_prefix_and_suffix_rule(first, second, overlap):
    one = Route("one", first[0], first[1], "sqs")
    two = Route("two", second[0], second[1], "sns")
    assert filters_overlap(one, two) is overlap


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation that sets a dotted path ('function.memoryMb', 'routes.0.via') in the decoded values."""

    def mutate(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = values
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = values
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


def _add_route(**route: Any) -> Callable[[dict[str, Any]], None]:
    return lambda values: values["routes"].append(route)


def _existing_model(**extra: Any) -> Callable[[dict[str, Any]], None]:
    return _set("model", {"mode": "existing", **extra})


ERROR_CASES = [
    ("missing region", None, None, r"aws:region is required.*pulumi config set aws:region <region>"),
    ("bad region", None, "moon-1", r"aws:region is not an AWS region name"),
    ("missing routes", _delete("routes"), "us-east-1", r"ai-event-pipeline:routes is required"),
    ("routes not a list", _set("routes", "uploads/"), "us-east-1", r"routes must be a non-empty list"),
    (
        "unknown via",
        _set("routes.0.via", "kinesis"),
        "us-east-1",
        r"routes\[0\]\.via must be one of sns, sqs, eventbridge, lambda \(got 'kinesis'\)",
    ),
    ("missing via", _delete("routes.1.via"), "us-east-1", r"routes\[1\]\.via is required"),
    (
        "bad route name",
        _set("routes.0.name", "Uploads"),
        "us-east-1",
        r"routes\[0\]\.name must be 1-32 lowercase",
    ),
    (
        "duplicate route name",
        _add_route(name="batch", prefix="other/", via="sqs"),
        "us-east-1",
        r"routes\[4\]\.name duplicates routes\[1\]\.name \('batch'\)",
    ),
    (
        "overlapping prefixes",
        _add_route(name="nested", prefix="batch/2024/", via="sns"),
        "us-east-1",
        r"routes\[4\] route 'nested'.*overlaps routes\[1\] 'batch'"
        r".*make the prefixes of 'batch' and 'nested' disjoint",
    ),
    (
        "overlapping suffixes",
        _add_route(name="json", prefix="data/", suffix="s.json", via="sqs"),
        "us-east-1",
        r"route 'json'.*overlaps routes\[2\] 'data'",
    ),
    (
        "empty prefix among others",
        _set("routes.0.prefix", ""),
        "us-east-1",
        r"routes\[0\]\.prefix is empty on sns route 'uploads'.*its own key prefix",
    ),
    (
        "unknown route key",
        _set("routes.0.colour", "blue"),
        "us-east-1",
        r"routes\[0\]\.colour is not a known setting",
    ),
    ("unknown top-level key", _set("rotues", []), "us-east-1", r"ai-event-pipeline:rotues is not a setting"),
    (
        "unknown function key",
        _set("function.memroyMb", 512),
        "us-east-1",
        r"function\.memroyMb is not a known setting.*pulumi config rm --path 'function\.memroyMb'",
    ),
    (
        "memory out of range",
        _set("function.memoryMb", 64),
        "us-east-1",
        r"function\.memoryMb must be an integer from 128 to 10240.*got 64",
    ),
    (
        "timeout as text",
        _set("function.timeoutSeconds", "300"),
        "us-east-1",
        r"function\.timeoutSeconds must be an integer from 240 to 900.*got '300'",
    ),
    (
        "timeout shorter than the handler's worst case",
        _set("function.timeoutSeconds", contract.HANDLER_MIN_TIMEOUT_SECONDS - 1),
        "us-east-1",
        r"timeoutSeconds must be an integer from 240 to 900, seconds: at least the handler's worst case",
    ),
    (
        "reserved concurrency zero",
        _set("function.reservedConcurrency", 0),
        "us-east-1",
        r"function\.reservedConcurrency must be an integer from 1 to 1000, omit it",
    ),
    (
        "log retention not offered",
        _set("function.logRetentionDays", 10),
        "us-east-1",
        r"function\.logRetentionDays must be one of CloudWatch's retention values",
    ),
    (
        "object above serverless payload",
        _set("function.maxObjectBytes", 5_000_000),
        "us-east-1",
        r"function\.maxObjectBytes must be an integer from 1 to 4000000",
    ),
    (
        "layer in another region",
        _set("function.powertoolsLayerArn", "arn:aws:lambda:eu-west-1:017000801446:layer:X:3"),
        "us-east-1",
        r"function\.powertoolsLayerArn must be a layer version ARN in the stack's region us-east-1",
    ),
    (
        "no default layer outside aws partition",
        None,
        "cn-north-1",
        r"function\.powertoolsLayerArn has no default in partition aws-cn",
    ),
    (
        "big batch without window",
        lambda v: v["sqs"].update(batchSize=100, maximumBatchingWindowSeconds=0),
        "us-east-1",
        r"sqs\.maximumBatchingWindowSeconds must be at least 1 when sqs\.batchSize is above 10",
    ),
    (
        "sqs concurrency below two",
        _set("sqs.maximumConcurrency", 1),
        "us-east-1",
        r"sqs\.maximumConcurrency must be an integer from 2 to 1000",
    ),
    (
        "sqs concurrency above endpoint",
        _set("sqs.maximumConcurrency", 12),
        "us-east-1",
        r"sqs\.maximumConcurrency allows 12 concurrent invocations.*model\.maxConcurrency 10",
    ),
    (
        "sqs concurrency above reserved",
        _set("function.reservedConcurrency", 3),
        "us-east-1",
        r"sqs\.maximumConcurrency \(5\) exceeds function\.reservedConcurrency \(3\)",
    ),
    ("missing model", _delete("model"), "us-east-1", r"ai-event-pipeline:model is required"),
    (
        "unknown model mode",
        _set("model.mode", "realtime"),
        "us-east-1",
        r"model\.mode must be serverless or existing",
    ),
    (
        "serverless memory not a multiple",
        _set("model.memoryMb", 3000),
        "us-east-1",
        r"model\.memoryMb must be a multiple of 1024",
    ),
    (
        "serverless memory too large",
        _set("model.memoryMb", 8192),
        "us-east-1",
        r"model\.memoryMb must be an integer from 1024 to 6144",
    ),
    (
        "serverless concurrency too large",
        _set("model.maxConcurrency", 201),
        "us-east-1",
        r"model\.maxConcurrency must be an integer from 1 to 200",
    ),
    (
        "image not in ECR",
        _set("model.image", "huggingface/transformers:latest"),
        "us-east-1",
        r"model\.image must be an ECR image URI",
    ),
    (
        "environment value not a string",
        _set("model.environment.HF_MAX_LENGTH", 512),
        "us-east-1",
        r"model\.environment\.HF_MAX_LENGTH must be a string.*quote the value",
    ),
    ("existing endpoint without name", _existing_model(), "us-east-1", r"model\.endpointName is required"),
    (
        "existing endpoint with image",
        _existing_model(endpointName="sentiment", image="x"),
        "us-east-1",
        r"model\.image is not a known setting",
    ),
    (
        "existing endpoint with bad name",
        _existing_model(endpointName="bad_name!"),
        "us-east-1",
        r"model\.endpointName is not a valid SageMaker endpoint name",
    ),
    (
        "event age too short",
        _set("asyncInvoke.maximumEventAgeSeconds", 30),
        "us-east-1",
        r"asyncInvoke\.maximumEventAgeSeconds must be an integer from 60 to 21600",
    ),
    (
        "plain http subscription",
        _set("notifications.subscriptions", [{"protocol": "http", "endpoint": "http://x"}]),
        "us-east-1",
        r"notifications\.subscriptions\[0\]\.protocol must be one of email, email-json, https",
    ),
    (
        "malformed e-mail",
        _set("notifications.subscriptions", [{"protocol": "email", "endpoint": "ops"}]),
        "us-east-1",
        r"notifications\.subscriptions\[0\]\.endpoint is not a valid email endpoint",
    ),
    (
        "unknown status filter",
        _set(
            "notifications.subscriptions", [{"protocol": "email", "endpoint": "a@b.io", "statuses": ["done"]}]
        ),
        "us-east-1",
        r"notifications\.subscriptions\[0\]\.statuses must be a non-empty list drawn from completed",
    ),
    (
        "unknown route filter",
        _set(
            "notifications.subscriptions",
            [{"protocol": "email", "endpoint": "a@b.io", "routes": ["nowhere"]}],
        ),
        "us-east-1",
        r"notifications\.subscriptions\[0\]\.routes must be a non-empty list drawn from uploads",
    ),
    (
        "filters on ops subscriptions",
        _set("ops.subscriptions", [{"protocol": "email", "endpoint": "a@b.io", "statuses": ["failed"]}]),
        "us-east-1",
        r"ops\.subscriptions\[0\]\.statuses is not a known setting",
    ),
    (
        "unknown alarms key",
        _set("alarms.dlqDepth", 1),
        "us-east-1",
        r"alarms\.dlqDepth is not a known setting \(known: queueOldestMessageAgeSeconds\)",
    ),
    (
        "unknown asyncInvoke key",
        _set("asyncInvoke.maximumRetryAttempts", 5),
        "us-east-1",
        r"asyncInvoke\.maximumRetryAttempts is not a known setting",
    ),
    (
        "queue age alarm too short",
        _set("alarms.queueOldestMessageAgeSeconds", 10),
        "us-east-1",
        r"alarms\.queueOldestMessageAgeSeconds must be an integer from 60",
    ),
    (
        "deletion protection as text",
        _set("deletionProtection", "yes"),
        "us-east-1",
        r"deletionProtection must be true or false \(got 'yes'\)",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "region", "message"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_invalid_config_is_rejected_naming_the_key_and_the_fix(mutate, region, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse(mutate, region=region)
    problem = next(line for line in str(error.value).splitlines() if line.startswith("  - "))
    assert "Fix: " in problem


def test_every_problem_is_reported_at_once():
    def mutate(values):
        values["function"]["memoryMb"] = 1
        values["routes"][0]["via"] = "carrier-pigeon"

    with pytest.raises(ConfigError) as error:
        parse(mutate)
    assert "function.memoryMb" in str(error.value)
    assert "routes[0].via" in str(error.value)


def test_invalid_config_stops_the_program_before_any_resource_is_declared():
    mocks = CaptureMocks()
    config = {f"{NAMESPACE}{key}": json.dumps(value) for key, value in dev_values().items()}
    config["aws:region"] = "us-east-1"
    config[f"{NAMESPACE}routes"] = json.dumps([{"name": "a", "prefix": "x/", "via": "ftp"}])
    config[f"{NAMESPACE}deletionProtecton"] = "true"  # a typo of a top-level key
    with pytest.raises(ConfigError) as error:
        run_program(mocks, stack="dev", config=config)
    assert "ai-event-pipeline:routes[0].via must be one of" in str(error.value)
    assert "ai-event-pipeline:deletionProtecton is not a setting of this project" in str(error.value)
    assert mocks.providers == {}


def test_misspelt_key_handed_over_by_the_engine_is_rejected(monkeypatch):
    # Under `pulumi up` the engine passes the stack's config to the program in PULUMI_CONFIG.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{NAMESPACE}alarm": "{}"}))
    with pytest.raises(ConfigError, match=r"ai-event-pipeline:alarm is not a setting of this project"):
        run_program(CaptureMocks(), stack="dev")
