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
    model_calls_per_invocation,
    parse_config,
)
from lambdas.inference import contract
from localrun.program import run_program
from tools.capture_mocks import CaptureMocks

NAMESPACE = "ai-event-pipeline:"
TEXT_MODEL = "text-classifier"


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
        ("images", "images/", None, "sqs"),
        ("stream", None, None, "kinesis"),
        ("documents", "documents/", ".json", "lambda"),
    ]
    assert (config.function.memory_mb, config.function.timeout_seconds) == (1024, 300)
    assert config.models[TEXT_MODEL].mode == "serverless"
    assert config.models[TEXT_MODEL].environment["HF_TASK"] == "text-classification"
    assert config.deletion_protection is False


def test_region_placeholder_in_model_image_becomes_the_stack_region():
    config = parse(region="eu-central-1")
    assert config.models[TEXT_MODEL].image.startswith("763104351884.dkr.ecr.eu-central-1.amazonaws.com/")
    assert config.models[TEXT_MODEL].image_region == "eu-central-1"


def test_omitted_optional_sections_take_documented_defaults():
    values = {
        "routes": [{"name": "only", "prefix": "in/", "via": "sqs"}],
        "models": {TEXT_MODEL: dev_values()["models"][TEXT_MODEL]},
    }
    config = parse_config(values, stack="staging", region="us-west-2")
    assert config.function.timeout_seconds == 300
    assert config.function.max_object_bytes == contract.DEFAULT_MAX_OBJECT_BYTES
    assert config.function.reserved_concurrency is None
    assert (
        config.sqs.batch_size,
        config.sqs.maximum_batching_window_seconds,
        config.sqs.maximum_concurrency,
    ) == (10, 5, 5)
    assert config.async_invoke.maximum_event_age_seconds == 3600
    assert config.notification_subscriptions == ()
    assert (config.bucket.noncurrent_version_expiration_days, config.bucket.access_log_expiration_days) == (
        30,
        365,
    )


def test_bucket_lifecycle_settings_are_read():
    config = parse(_set("bucket", {"noncurrentVersionExpirationDays": 7, "accessLogExpirationDays": 90}))
    assert (config.bucket.noncurrent_version_expiration_days, config.bucket.access_log_expiration_days) == (
        7,
        90,
    )


@pytest.mark.parametrize(("stack", "expected"), [("dev", False), ("prod", True), ("staging", True)])
def test_deletion_protection_defaults_to_on_outside_dev(stack, expected):
    config = parse(lambda v: v.pop("deletionProtection"), stack=stack)
    assert config.deletion_protection is expected


def test_optional_worker_and_batch_settings_are_read():
    def mutate(values):
        values["function"]["maxWorkers"] = 8
        values["models"][TEXT_MODEL]["maxBatchSize"] = 4
        # 5 pollers x ceil(10 / 4) calls, plus the stream route's 1 shard x ceil(10 / 4) calls
        values["models"][TEXT_MODEL]["maxConcurrency"] = 18

    config = parse(mutate)
    assert (config.function.max_workers, config.models[TEXT_MODEL].max_batch_size) == (8, 4)


def test_eventbridge_routes_may_overlap_any_other_route():
    def mutate(values):
        values["routes"].append(
            {"name": "mirror", "prefix": "batch/", "via": "eventbridge", "model": TEXT_MODEL}
        )

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
    one = Route(name="one", prefix=first[0], suffix=first[1], via="sqs")
    two = Route(name="two", prefix=second[0], suffix=second[1], via="sns")
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
    return lambda values: values["routes"].append({"model": TEXT_MODEL, **route})


def _existing_model(**extra: Any) -> Callable[[dict[str, Any]], None]:
    """The one model is an existing endpoint named `sentiment` (routes then need not name it)."""

    def mutate(values: dict[str, Any]) -> None:
        values["models"] = {"sentiment": {"mode": "existing", "version": "1", **extra}}
        for route in values["routes"]:
            route.pop("model", None)

    return mutate


def _only_text_model(values: dict[str, Any]) -> None:
    """Dev values with the text classifier as the only model (routes then need not name it)."""
    values["models"] = {TEXT_MODEL: values["models"][TEXT_MODEL]}
    values["routes"] = [r for r in values["routes"] if r.get("model") == TEXT_MODEL]


def _all(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(values)

    return mutate


ERROR_CASES = [
    ("missing region", None, None, r"aws:region is required.*pulumi config set aws:region <region>"),
    ("bad region", None, "moon-1", r"aws:region is not an AWS region name"),
    ("missing routes", _delete("routes"), "us-east-1", r"ai-event-pipeline:routes is required"),
    ("routes not a list", _set("routes", "uploads/"), "us-east-1", r"routes must be a non-empty list"),
    (
        "unknown via",
        _set("routes.0.via", "ftp"),
        "us-east-1",
        r"routes\[0\]\.via must be one of sns, sqs, eventbridge, lambda, kinesis \(got 'ftp'\)",
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
        r"routes\[7\]\.name duplicates routes\[1\]\.name \('batch'\)",
    ),
    (
        "overlapping prefixes",
        _add_route(name="nested", prefix="batch/2024/", via="sns"),
        "us-east-1",
        r"routes\[7\] route 'nested'.*overlaps routes\[1\] 'batch'"
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
        "layer setting of older releases",
        _set("function.powertoolsLayerArn", "arn:aws:lambda:us-east-1:017000801446:layer:X:3"),
        "us-east-1",
        r"function\.powertoolsLayerArn is not a known setting .* remove or rename it",
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
        "sqs calls above endpoint concurrency",
        _all(_only_text_model, _set("sqs.maximumConcurrency", 12)),
        "us-east-1",
        r"models\.text-classifier\.maxConcurrency \(10\) is below the 13 concurrent endpoint calls "
        r"the routes can make at once "
        r"\('batch' \(sqs\) 12, 'stream' \(kinesis\) 1\); SageMaker would throttle them",
    ),
    (
        "sqs concurrency above reserved",
        _set("function.reservedConcurrency", 3),
        "us-east-1",
        r"sqs\.maximumConcurrency \(5\) exceeds function\.reservedConcurrency \(3\)",
    ),
    ("missing models", _delete("models"), "us-east-1", r"ai-event-pipeline:models is required"),
    (
        "unknown model mode",
        _set("models.text-classifier.mode", "realtime"),
        "us-east-1",
        r"models\.text-classifier\.mode must be serverless, existing or async",
    ),
    (
        "serverless memory not a multiple",
        _set("models.text-classifier.memoryMb", 3000),
        "us-east-1",
        r"models\.text-classifier\.memoryMb must be a multiple of 1024",
    ),
    (
        "serverless memory too large",
        _set("models.text-classifier.memoryMb", 8192),
        "us-east-1",
        r"models\.text-classifier\.memoryMb must be an integer from 1024 to 6144",
    ),
    (
        "serverless concurrency too large",
        _set("models.text-classifier.maxConcurrency", 201),
        "us-east-1",
        r"models\.text-classifier\.maxConcurrency must be an integer from 1 to 200",
    ),
    (
        "image not in ECR",
        _set("models.text-classifier.image", "huggingface/transformers:latest"),
        "us-east-1",
        r"models\.text-classifier\.image must be an ECR image URI",
    ),
    (
        "environment value not a string",
        _set("models.text-classifier.environment.HF_MAX_LENGTH", 512),
        "us-east-1",
        r"models\.text-classifier\.environment\.HF_MAX_LENGTH must be a string.*quote the value",
    ),
    (
        "existing endpoint without name",
        _existing_model(),
        "us-east-1",
        r"models\.sentiment\.endpointName is required",
    ),
    (
        "existing endpoint with image",
        _existing_model(endpointName="sentiment", image="x"),
        "us-east-1",
        r"models\.sentiment\.image is not a known setting",
    ),
    (
        "existing endpoint with bad name",
        _existing_model(endpointName="bad_name!"),
        "us-east-1",
        r"models\.sentiment\.endpointName is not a valid SageMaker endpoint name",
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
        "object one byte above serverless payload",
        _set("function.maxObjectBytes", 4_000_001),
        "us-east-1",
        r"function\.maxObjectBytes must be an integer from 1 to 4000000",
    ),
    (
        "object one byte above real-time payload",
        _all(_existing_model(endpointName="sentiment"), _set("function.maxObjectBytes", 6_000_001)),
        "us-east-1",
        r"function\.maxObjectBytes must be an integer from 1 to 6000000",
    ),
    (
        "batch of 11 without window",
        lambda v: v["sqs"].update(batchSize=11, maximumBatchingWindowSeconds=0),
        "us-east-1",
        r"sqs\.maximumBatchingWindowSeconds must be at least 1 when sqs\.batchSize is above 10",
    ),
    (
        "timeout 239 seconds",
        _set("function.timeoutSeconds", 239),
        "us-east-1",
        r"function\.timeoutSeconds must be an integer from 240 to 900",
    ),
    (
        "route name of 33 characters",
        _set("routes.0.name", "r" * 33),
        "us-east-1",
        r"routes\[0\]\.name must be 1-32 lowercase",
    ),
    (
        "noncurrent versions kept 0 days",
        _set("bucket.noncurrentVersionExpirationDays", 0),
        "us-east-1",
        r"bucket\.noncurrentVersionExpirationDays must be an integer from 1 to 3650",
    ),
    (
        "noncurrent versions kept 3651 days",
        _set("bucket.noncurrentVersionExpirationDays", 3651),
        "us-east-1",
        r"bucket\.noncurrentVersionExpirationDays must be an integer from 1 to 3650",
    ),
    (
        "access logs kept 0 days",
        _set("bucket.accessLogExpirationDays", 0),
        "us-east-1",
        r"bucket\.accessLogExpirationDays must be an integer from 1 to 3650",
    ),
    (
        "access logs kept 3651 days",
        _set("bucket.accessLogExpirationDays", 3651),
        "us-east-1",
        r"bucket\.accessLogExpirationDays must be an integer from 1 to 3650",
    ),
    (
        "unknown bucket key",
        _set("bucket.expirationDays", 30),
        "us-east-1",
        r"bucket\.expirationDays is not a known setting",
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


ACCEPTED_BOUNDARIES = [
    ("object at serverless payload limit", _set("function.maxObjectBytes", 4_000_000)),
    (
        "object at real-time payload limit",
        _all(_existing_model(endpointName="sentiment"), _set("function.maxObjectBytes", 6_000_000)),
    ),
    (
        "batch of 10 without window",
        lambda v: v["sqs"].update(batchSize=10, maximumBatchingWindowSeconds=0),
    ),
    ("timeout 240 seconds", _set("function.timeoutSeconds", 240)),
    ("route name of 32 characters", _set("routes.0.name", "r" * 32)),
    ("noncurrent versions kept 1 day", _set("bucket.noncurrentVersionExpirationDays", 1)),
    ("noncurrent versions kept 3650 days", _set("bucket.noncurrentVersionExpirationDays", 3650)),
    ("access logs kept 1 day", _set("bucket.accessLogExpirationDays", 1)),
    ("access logs kept 3650 days", _set("bucket.accessLogExpirationDays", 3650)),
]


@pytest.mark.parametrize(
    "mutate", [c[1] for c in ACCEPTED_BOUNDARIES], ids=[c[0] for c in ACCEPTED_BOUNDARIES]
)
def test_values_at_the_limits_are_accepted(mutate):
    parse(mutate)  # raises ConfigError if refused


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


# --- endpoint concurrency budget -------------------------------------------------------------------------


def budget(
    routes: list[dict[str, Any]],
    *,
    reserved: int | None,
    max_concurrency: int,
    sqs_concurrency: int = 3,
    max_batch_size: int | None = 5,
) -> Callable[[dict[str, Any]], None]:
    """Dev values with other routes and the settings that bound each route's concurrent endpoint calls."""

    def mutate(values: dict[str, Any]) -> None:
        values["routes"] = routes
        if reserved is None:
            values["function"].pop("reservedConcurrency", None)
        else:
            values["function"]["reservedConcurrency"] = reserved
        values["sqs"].update(batchSize=10, maximumConcurrency=sqs_concurrency)
        values["models"] = {TEXT_MODEL: values["models"][TEXT_MODEL]}
        model = values["models"][TEXT_MODEL]
        model["maxConcurrency"] = max_concurrency
        if max_batch_size is None:
            model.pop("maxBatchSize", None)
        else:
            model["maxBatchSize"] = max_batch_size

    return mutate


TWO_SQS_AND_SNS = [
    {"name": "orders", "prefix": "orders/", "via": "sqs"},
    {"name": "invoices", "prefix": "invoices/", "via": "sqs"},
    {"name": "photos", "prefix": "photos/", "via": "sns"},
]


def test_bounded_routes_above_the_endpoint_concurrency_are_refused_naming_every_route():
    # Each sqs route: 3 pollers x ceil(10 / 5) calls = 6; the sns route: 4 reserved invocations x 1 call.
    with pytest.raises(ConfigError) as error:
        parse(budget(TWO_SQS_AND_SNS, reserved=4, max_concurrency=15))
    message = str(error.value)
    assert "models.text-classifier.maxConcurrency (15) is below the 16 concurrent endpoint calls" in message
    assert "'orders' (sqs) 6, 'invoices' (sqs) 6, 'photos' (sns) 4" in message
    assert "Fix: " in message


def test_bounded_routes_within_the_endpoint_concurrency_pass_without_warnings():
    config = parse(budget(TWO_SQS_AND_SNS, reserved=4, max_concurrency=16))
    assert config.warnings == ()


def test_two_eventbridge_routes_are_budgeted_separately():
    routes = [
        {"name": "mirror-a", "prefix": "shared/", "via": "eventbridge"},
        {"name": "mirror-b", "prefix": "shared/", "via": "eventbridge"},
    ]
    with pytest.raises(
        ConfigError, match=r"below the 12 concurrent .*'mirror-a' \(eventbridge\) 6, 'mirror-b'"
    ):
        parse(budget(routes, reserved=6, max_concurrency=11))
    assert parse(budget(routes, reserved=6, max_concurrency=12)).warnings == ()


@pytest.mark.parametrize("via", ["sns", "lambda", "eventbridge"])
def test_unbounded_async_route_warns_naming_the_route(via):
    routes = [
        {"name": "queued", "prefix": "queued/", "via": "sqs"},
        {"name": "pushed", "prefix": "pushed/", "via": via},
    ]
    config = parse(budget(routes, reserved=None, max_concurrency=10))
    (warning,) = config.warnings
    assert warning.startswith(f"route 'pushed' ({via}) has no bound on its concurrent calls to the endpoint")
    assert "Set function.reservedConcurrency to bound it" in warning


def test_unbounded_routes_do_not_hide_bounded_excess():
    routes = [
        {"name": "queued", "prefix": "queued/", "via": "sqs"},
        {"name": "pushed", "prefix": "pushed/", "via": "sns"},
    ]
    # 12 pollers x ceil(10 / 5) calls = 24 > 20, whatever the unbounded sns route adds.
    with pytest.raises(
        ConfigError, match=r"below the 24 concurrent endpoint calls .*\('queued' \(sqs\) 24\)"
    ):
        parse(budget(routes, reserved=None, max_concurrency=20, sqs_concurrency=12))


@pytest.mark.parametrize(
    ("batch_size", "max_batch_size", "max_workers", "calls"),
    [
        (10, None, None, 10),  # one object per call, on up to 32 threads (1024 MB)
        (10, 10, None, 1),
        (10, 5, None, 2),
        (10, 4, None, 3),  # ceil(10 / 4): the last call carries two objects
        (10, 3, None, 4),
        (100, 8, 4, 4),  # ceil(100 / 8) = 13 calls, but only 4 worker threads make them
    ],
)
def test_model_batching_divides_an_sqs_batch_into_calls_rounding_up(
    batch_size, max_batch_size, max_workers, calls
):
    def mutate(values):
        values["sqs"].update(batchSize=batch_size, maximumBatchingWindowSeconds=5)
        values["models"]["image-classifier"]["maxConcurrency"] = 200
        model = values["models"][TEXT_MODEL]
        model["maxConcurrency"] = 200
        if max_batch_size is None:
            model.pop("maxBatchSize")
        else:
            model["maxBatchSize"] = max_batch_size
        if max_workers is not None:
            values["function"]["maxWorkers"] = max_workers

    config = parse(mutate)
    route = next(r for r in config.routes if r.via == "sqs")
    assert model_calls_per_invocation(route, config.function, config.sqs, config.model_of(route)) == calls


def test_model_batching_lets_a_batched_sqs_route_fit_the_endpoint():
    routes = [{"name": "queued", "prefix": "queued/", "via": "sqs"}]
    # 5 pollers x ceil(10 / 4) = 15 calls.
    with pytest.raises(ConfigError, match=r"below the 15 concurrent endpoint calls .*'queued' \(sqs\) 15"):
        parse(budget(routes, reserved=None, max_concurrency=14, sqs_concurrency=5, max_batch_size=4))
    parse(budget(routes, reserved=None, max_concurrency=15, sqs_concurrency=5, max_batch_size=4))


@pytest.mark.parametrize("via", ["sns", "lambda", "eventbridge"])
def test_async_route_makes_one_call_per_invocation(via):
    config = parse()
    route = next(r for r in config.routes if r.via == via)
    assert model_calls_per_invocation(route, config.function, config.sqs, config.model_of(route)) == 1


def test_existing_endpoint_is_not_budgeted():
    # The stack does not size an endpoint it does not own: no error for many pollers, no unbounded warnings.
    def mutate(values):
        _existing_model(endpointName="sentiment")(values)
        values["sqs"]["maximumConcurrency"] = 1000

    assert parse(mutate).warnings == ()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("function.reservedConcurrency", 0),
        ("sqs.maximumConcurrency", 1),
        ("models.text-classifier.maxConcurrency", 0),
        ("sqs.batchSize", 0),
    ],
)
def test_a_refused_value_is_the_only_error_no_check_across_keys_reports_its_stand_in(path, value):
    # The reader stands in the range's minimum for a refused value; a cross-key check judging that stand-in
    # would report a value the user never wrote (e.g. "reservedConcurrency (1)" for a configured 0).
    with pytest.raises(ConfigError) as error:
        parse(_set(path, value))
    problems = [line for line in str(error.value).splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and f"{path} must be an integer" in problems[0], problems
