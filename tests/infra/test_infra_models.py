"""Named models: every key of `models.<name>`, each impossible combination refused naming the key and the
fix, and the graph per model for configurations the dev stack does not use (an existing endpoint with a
version and a json payload, an S3 artifact under a KMS key, a binary model, several routes on one model)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from stack_graph import (
    ALARM,
    DEV_CONFIG,
    ENDPOINT,
    MODEL,
    ROLE_POLICY,
    RULE,
    StackGraph,
    policy_document,
    statement,
)

from infra.config import ConfigError, StackConfig, parse_config
from infra.ml import endpoint_name_for
from lambdas.inference import contract
from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

NAMESPACE = "ai-event-pipeline:"
ACCOUNT = "123456789012"
TEXT, IMAGE = "text-classifier", "image-classifier"
ARTIFACT = "s3://acme-models/vit/2024-06/model.tar.gz"
ARTIFACT_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f6e5c1a-2b3c-4d5e-8f90-112233445566"


def dev_values() -> dict[str, Any]:
    document = yaml.safe_load(DEV_CONFIG.read_text())["config"]
    return {k.removeprefix(NAMESPACE): v for k, v in document.items() if k.startswith(NAMESPACE)}


def parse(mutate: Callable[[dict[str, Any]], Any] | None = None, *, region: str = "us-east-1") -> StackConfig:
    values = copy.deepcopy(dev_values())
    if mutate:
        mutate(values)
    return parse_config(values, stack="dev", region=region)


def problems(mutate: Callable[[dict[str, Any]], Any], *, region: str = "us-east-1") -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(mutate, region=region)
    found = [line.removeprefix("  - ") for line in str(error.value).splitlines() if line.startswith("  - ")]
    assert all("Fix: " in line for line in found), found
    return found


def only(problem_list: list[str]) -> str:
    assert len(problem_list) == 1, problem_list
    return problem_list[0]


def image_model(**settings: Any) -> Callable[[dict[str, Any]], None]:
    return lambda values: values["models"][IMAGE].update(settings)


def text_model(**settings: Any) -> Callable[[dict[str, Any]], None]:
    return lambda values: values["models"][TEXT].update(settings)


def existing(**settings: Any) -> dict[str, Any]:
    return {"mode": "existing", "endpointName": "Sentiment-Prod", "version": "2024-06-01", **settings}


# --- routes and their models ------------------------------------------------------------------------------


def test_route_naming_an_unknown_model_is_refused_listing_the_known_names():
    def mutate(values):
        values["routes"][0]["model"] = "sentiment"

    message = only(problems(mutate))
    assert message.startswith(
        "ai-event-pipeline:routes[0].model names no model of this stack (got 'sentiment'"
    )
    assert "known: text-classifier, image-classifier" in message


def test_route_without_a_model_is_refused_when_several_models_exist():
    message = only(problems(lambda values: values["routes"][1].pop("model")))
    assert message.startswith(
        "ai-event-pipeline:routes[1].model is required when several models exist (known: text-classifier, "
        "image-classifier, summarizer)"
    )
    fix = "pulumi config set --path 'routes[1].model' <text-classifier|image-classifier|summarizer>"
    assert fix in message


def test_route_without_a_model_uses_the_only_model():
    def mutate(values):
        values["models"] = {"sentiment": existing()}
        for route in values["routes"]:
            route.pop("model")

    config = parse(mutate)
    assert {r.model for r in config.routes} == {"sentiment"}
    assert config.routes_of("sentiment") == config.routes


def test_several_routes_may_share_one_model():
    config = parse()
    assert [r.name for r in config.routes_of(TEXT)] == ["uploads", "batch", "data", "events", "stream"]
    assert [r.name for r in config.routes_of(IMAGE)] == ["images"]


def test_the_old_model_key_is_refused_saying_it_moved_under_models():
    def mutate(values):
        values["model"] = values["models"][TEXT]

    message = only(problems(mutate))
    assert message.startswith("ai-event-pipeline:model has moved to `models.<name>`")
    assert "rename `ai-event-pipeline:model:` to `ai-event-pipeline:models:`" in message


@pytest.mark.parametrize("name", ["Text", "1st", "text_classifier", "t" * 33])
def test_a_model_name_that_cannot_be_part_of_physical_names_is_refused(name):
    def mutate(values):
        values["models"][name] = values["models"].pop(TEXT)
        for route in values["routes"]:
            if route["model"] == TEXT:
                route["model"] = name

    assert any("models" in p and "must be 1-32 lowercase letters" in p for p in problems(mutate))


@pytest.mark.parametrize("mode", ["realtime", "batch-transform"])
def test_a_mode_the_stack_does_not_know_is_refused(mode):
    message = only(problems(text_model(mode=mode)))
    assert message.startswith(
        f"ai-event-pipeline:models.text-classifier.mode must be serverless, existing or async (got '{mode}')"
    )


# --- payload formats ------------------------------------------------------------------------------------


def test_payload_format_defaults_to_text():
    def mutate(values):
        values["models"][TEXT].pop("payloadFormat")

    model = parse(mutate).models[TEXT]
    assert model.payload_format == contract.PAYLOAD_TEXT
    assert model.endpoint_content_type == contract.DEFAULT_ENDPOINT_CONTENT_TYPE


def test_an_unknown_payload_format_is_refused():
    message = only(problems(text_model(payloadFormat="csv")))
    assert "models.text-classifier.payloadFormat must be one of text, json, binary (got 'csv')" in message


def test_binary_model_batching_more_than_one_object_per_call_is_refused():
    message = only(problems(image_model(maxBatchSize=4)))
    assert message.startswith(
        "ai-event-pipeline:models.image-classifier.maxBatchSize must be 1 or unset for payloadFormat binary"
    )


def test_binary_model_with_one_object_per_call_is_accepted():
    assert parse(image_model(maxBatchSize=1)).models[IMAGE].max_batch_size == 1


@pytest.mark.parametrize("key", ["jsonInputField", "jsonRequestKey"])
@pytest.mark.parametrize(("model", "fmt"), [(TEXT, "text"), (IMAGE, "binary")])
def test_json_settings_on_a_model_that_does_not_send_json_documents_are_refused(key, model, fmt):
    message = only(problems(lambda values: values["models"][model].update({key: "review"})))
    assert message.startswith(
        f"ai-event-pipeline:models.{model}.{key} applies only to payloadFormat json (this model's is {fmt})"
    )


def test_json_model_takes_its_input_field_and_request_key():
    config = parse(text_model(payloadFormat="json", jsonInputField="review", jsonRequestKey="inputs"))
    model = config.models[TEXT]
    assert (model.payload_format, model.json_input_field, model.json_request_key) == (
        "json",
        "review",
        "inputs",
    )


def test_text_model_content_type_other_than_json_is_refused():
    message = only(problems(text_model(contentType="text/plain")))
    assert "models.text-classifier.contentType must be application/json for payloadFormat text" in message


def test_binary_model_content_type_must_be_a_media_type():
    message = only(problems(image_model(contentType="jpeg")))
    assert "models.image-classifier.contentType is not a media type" in message
    assert parse(image_model(contentType="image/jpeg")).models[IMAGE].endpoint_content_type == "image/jpeg"


@pytest.mark.parametrize("suffix", [".json", ".JSON", ".txt", ".csv", "-data.jsonl"])
def test_a_route_selecting_documents_for_a_binary_model_is_refused(suffix):
    message = only(problems(lambda values: values["routes"][4].update(suffix=suffix)))
    assert message.startswith(f"ai-event-pipeline:routes[4].suffix ('{suffix}') selects documents")
    assert "model 'image-classifier' (payloadFormat binary) cannot take" in message


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg", ".flac", ".wav", ".mp3", ".JPG"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_route_selecting_media_files_for_a_text_or_json_model_is_refused(suffix, fmt):
    def mutate(values):
        values["models"][TEXT].update(payloadFormat=fmt)
        values["routes"][0]["suffix"] = suffix

    message = only(problems(mutate))
    assert message.startswith(f"ai-event-pipeline:routes[0].suffix ('{suffix}') selects media files")
    assert f"(payloadFormat {fmt}) cannot take" in message


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bin", ""])
def test_a_binary_model_takes_media_and_unlisted_suffixes(suffix):
    parse(lambda values: values["routes"][4].update(suffix=suffix))


# --- artifacts in S3 ------------------------------------------------------------------------------------


def test_model_artifact_url_and_key_are_read():
    model = parse(image_model(modelDataUrl=ARTIFACT, modelDataKmsKeyArn=ARTIFACT_KEY)).models[IMAGE]
    assert (model.artifact_bucket, model.artifact_key) == ("acme-models", "vit/2024-06/model.tar.gz")
    assert model.model_data_kms_key_arn == ARTIFACT_KEY


@pytest.mark.parametrize(
    "url",
    [
        "https://acme-models.s3.amazonaws.com/model.tar.gz",
        "s3://acme-models/model.zip",
        "s3://acme-models/model.tar",
        "s3://acme-models/",
        "s3://acme-models",
        "s3://Acme_Models/model.tar.gz",
        "s3://acme-models/vit/*.tar.gz",
    ],
)
def test_a_malformed_model_artifact_url_is_refused(url):
    message = only(problems(image_model(modelDataUrl=url)))
    assert message.startswith(
        "ai-event-pipeline:models.image-classifier.modelDataUrl must be s3://<bucket>/<key> with a key "
        "ending .tar.gz"
    )


def test_an_artifact_key_without_an_artifact_is_refused():
    message = only(problems(image_model(modelDataKmsKeyArn=ARTIFACT_KEY)))
    assert "models.image-classifier.modelDataKmsKeyArn is set without modelDataUrl" in message


@pytest.mark.parametrize("arn", ["alias/models", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/models"])
def test_an_artifact_key_that_is_not_a_key_arn_is_refused(arn):
    message = only(problems(image_model(modelDataUrl=ARTIFACT, modelDataKmsKeyArn=arn)))
    assert "models.image-classifier.modelDataKmsKeyArn must be a KMS key ARN" in message


def test_an_artifact_key_of_another_region_is_refused():
    other = ARTIFACT_KEY.replace("us-east-1", "eu-west-1")
    message = only(problems(image_model(modelDataUrl=ARTIFACT, modelDataKmsKeyArn=other)))
    assert (
        "modelDataKmsKeyArn is a key in eu-west-1, but the artifact's bucket must be in the stack's region"
        in message
    )


# --- existing endpoints -----------------------------------------------------------------------------------


def _one_existing(**settings: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(values):
        values["models"] = {"sentiment": existing(**settings)}
        for route in values["routes"]:
            route.pop("model")
        values["routes"] = [r for r in values["routes"] if r["name"] != "images"]

    return mutate


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("image", "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"),
        ("environment", {"HF_TASK": "text-classification"}),
        ("memoryMb", 2048),
        ("maxConcurrency", 10),
        ("modelDataUrl", ARTIFACT),
        ("modelDataKmsKeyArn", ARTIFACT_KEY),
    ],
)
def test_an_existing_model_with_a_setting_of_an_endpoint_the_stack_creates_is_refused(key, value):
    message = only(problems(_one_existing(**{key: value})))
    assert message.startswith(
        f"ai-event-pipeline:models.sentiment.{key} is not a known setting of an existing model"
    )
    assert "or set mode: serverless" in message


def test_an_existing_model_needs_the_version_it_serves():
    def mutate(values):
        _one_existing()(values)
        values["models"]["sentiment"].pop("version")

    message = only(problems(mutate))
    assert message.startswith("ai-event-pipeline:models.sentiment.version is required")


def test_an_existing_model_sends_up_to_the_real_time_payload_limit_unless_configured():
    assert parse(_one_existing()).models["sentiment"].max_payload_bytes == contract.REALTIME_MAX_PAYLOAD_BYTES
    configured = parse(_one_existing(maxPayloadBytes=contract.SERVERLESS_MAX_PAYLOAD_BYTES))
    assert configured.models["sentiment"].max_payload_bytes == contract.SERVERLESS_MAX_PAYLOAD_BYTES


def test_an_existing_models_payload_limit_bounds_the_object_size():
    def mutate(values):
        _one_existing(maxPayloadBytes=2_000_000)(values)
        values["function"]["maxObjectBytes"] = 3_000_000

    message = only(problems(mutate))
    assert message.startswith(
        "ai-event-pipeline:function.maxObjectBytes must be an integer from 1 to 2000000, at most the "
        "SageMaker existing InvokeEndpoint payload limit of model 'sentiment' (got 3000000)"
    )


def test_the_smallest_payload_limit_of_the_routes_models_bounds_the_object_size():
    def mutate(values):
        values["models"][IMAGE] = existing()
        values["function"]["maxObjectBytes"] = 5_000_000

    message = only(problems(mutate))
    assert "function.maxObjectBytes must be an integer from 1 to 4000000" in message
    assert "serverless InvokeEndpoint payload limit of model 'text-classifier'" in message


# --- model versions ---------------------------------------------------------------------------------------


def test_model_version_is_a_short_sha256_of_what_defines_the_model():
    version = parse().models[TEXT].model_version
    assert version.startswith("sha256:") and len(version) == len("sha256:") + 16
    assert parse().models[TEXT].model_version == version  # deterministic


@pytest.mark.parametrize(
    "mutate",
    [
        text_model(environment={"HF_MODEL_ID": "other/model", "HF_TASK": "text-classification"}),
        text_model(
            image="763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:2.1.0-cpu"
        ),
        text_model(modelDataUrl=ARTIFACT),
        text_model(
            environment={**dev_values()["models"][TEXT]["environment"], "SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
        ),
    ],
    ids=["model id", "image", "artifact", "container default overridden"],
)
def test_model_version_changes_with_what_the_model_answers(mutate):
    assert parse(mutate).models[TEXT].model_version != parse().models[TEXT].model_version


def test_model_version_resolves_the_image_region():
    assert parse(region="eu-west-1").models[TEXT].model_version != parse().models[TEXT].model_version


@pytest.mark.parametrize("mutate", [text_model(memoryMb=4096), text_model(maxConcurrency=20)])
def test_model_version_ignores_how_the_model_is_served(mutate):
    assert parse(mutate).models[TEXT].model_version == parse().models[TEXT].model_version


def test_existing_model_version_comes_from_its_endpoint_name_and_configured_version():
    first = parse(_one_existing()).models["sentiment"].model_version
    assert parse(_one_existing()).models["sentiment"].model_version == first
    assert parse(_one_existing(version="2024-07-01")).models["sentiment"].model_version != first
    assert parse(_one_existing(endpointName="Sentiment-Canary")).models["sentiment"].model_version != first


def test_the_two_dev_models_have_different_versions():
    models = parse().models
    assert models[TEXT].model_version != models[IMAGE].model_version


# --- the concurrency budget, per model --------------------------------------------------------------------


def test_each_serverless_model_is_budgeted_with_only_the_routes_using_it():
    # images: 5 pollers x 10 single-image calls = 50 (its own maxConcurrency); batch: 5 x 1 = 5 of 10.
    config = parse()
    assert len(config.warnings) == 3  # the text model's unbounded async routes only
    assert all("of model 'text-classifier'" in w for w in config.warnings)


def test_a_model_below_its_routes_calls_is_refused_naming_only_its_routes():
    message = only(problems(image_model(maxConcurrency=49)))
    assert message.startswith(
        "ai-event-pipeline:models.image-classifier.maxConcurrency (49) is below the 50 concurrent endpoint "
        "calls the routes can make at once ('images' (sqs) 50)"
    )


def test_routes_of_another_model_do_not_count_against_a_models_budget():
    # 10 covers the text model's bounded route (batch, 5 calls) even though images makes 50 calls.
    def mutate(values):
        values["function"]["reservedConcurrency"] = 5
        # uploads, data, events 5 each + batch 5 + stream 1 (1 shard x 1 call per batch of 10)
        values["models"][TEXT]["maxConcurrency"] = 21
        values["models"][IMAGE]["maxConcurrency"] = 50

    assert parse(mutate).warnings == ()


# --- large results ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "prefix"), [(0, "results/"), (0, "results/uploads/"), (0, "res"), (3, "")])
def test_a_route_that_would_match_large_results_is_refused_naming_both_keys(index, prefix):
    def mutate(values):
        if prefix == "":  # only an eventbridge route may have an empty prefix among others
            values["routes"] = [r for r in values["routes"] if r["via"] == "eventbridge"]
            index_ = 0
        else:
            index_ = index
        values["routes"][index_]["prefix"] = prefix

    found = problems(mutate)
    message = next(p for p in found if "largeResultsPrefix" in p)
    assert "prefix" in message and "matches keys under bucket.largeResultsPrefix ('results/')" in message
    assert message.startswith("ai-event-pipeline:routes[")


def test_a_route_suffix_does_not_keep_it_from_matching_large_results():
    def mutate(values):
        values["bucket"]["largeResultsPrefix"] = "data/results/"

    message = only(problems(mutate))
    assert message.startswith("ai-event-pipeline:routes[2].prefix ('data/') of route 'data' matches keys")


def test_the_large_results_prefix_is_configurable():
    config = parse(lambda values: values["bucket"].update(largeResultsPrefix="pipeline-results/"))
    assert config.bucket.large_results_prefix == "pipeline-results/"
    assert parse().bucket.large_results_prefix == contract.DEFAULT_LARGE_RESULTS_PREFIX


@pytest.mark.parametrize("prefix", ["", "/results/", "results*/"])
def test_an_unusable_large_results_prefix_is_refused(prefix):
    message = only(problems(lambda values: values["bucket"].update(largeResultsPrefix=prefix)))
    assert message.startswith("ai-event-pipeline:bucket.largeResultsPrefix ")


# --- physical names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "model"),
    [("dev", "text-classifier"), ("a" * 40, "m" * 32), ("feature/Models_2", "x"), ("s", "-".join("ab" * 8))],
)
def test_endpoint_names_stay_valid_and_distinct_for_any_stack_and_model_name(stack, model):
    name = endpoint_name_for("ai-event-pipeline", stack, model)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
    assert name != endpoint_name_for("ai-event-pipeline", stack, model + "2")


# --- the graph of a stack using every model kind ------------------------------------------------------------

HF_CPU_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:"
    "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"
)
VARIETY_MODELS = {
    # several routes on one existing endpoint, sending one field of each JSON document
    "sentiment": existing(payloadFormat="json", jsonInputField="review", jsonRequestKey="inputs"),
    # an artifact in S3 under a KMS key, served by the same container family, images as bytes
    "vision": {
        "mode": "serverless",
        "image": HF_CPU_IMAGE,
        "environment": {"HF_TASK": "image-classification"},
        "modelDataUrl": ARTIFACT,
        "modelDataKmsKeyArn": ARTIFACT_KEY,
        "payloadFormat": "binary",
        "contentType": "image/jpeg",
        "memoryMb": 3072,
        "maxConcurrency": 20,
    },
}
VARIETY_ROUTES = [
    {"name": "reviews", "prefix": "reviews/", "suffix": ".json", "via": "sqs", "model": "sentiment"},
    {"name": "feedback", "prefix": "feedback/", "suffix": ".json", "via": "sns", "model": "sentiment"},
    {"name": "photos", "prefix": "photos/", "suffix": ".jpg", "via": "lambda", "model": "vision"},
    {"name": "notes", "prefix": "notes/", "via": "eventbridge", "model": TEXT},
]


@pytest.fixture(scope="module")
def variety() -> StackGraph:
    config = load_stack_config(DEV_CONFIG)
    models = json.loads(config[f"{NAMESPACE}models"])
    config[f"{NAMESPACE}models"] = json.dumps({TEXT: models[TEXT], **VARIETY_MODELS})
    config[f"{NAMESPACE}routes"] = json.dumps(VARIETY_ROUTES)
    bucket = json.loads(config[f"{NAMESPACE}bucket"])
    config[f"{NAMESPACE}bucket"] = json.dumps({**bucket, "largeResultsPrefix": "pipeline-results/"})
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def execution_policy(graph: StackGraph, model_name: str) -> dict:
    model = graph.one(MODEL, f"model-{model_name}-model")
    role = graph.resolve(model.inputs["executionRoleArn"])
    (policy,) = [p for p in graph.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    return policy_document(policy)


def test_only_owned_models_get_sagemaker_resources(variety):
    assert sorted(m.name for m in variety.of_type(MODEL)) == [
        "model-text-classifier-model",
        "model-vision-model",
    ]
    assert len(variety.of_type(ENDPOINT)) == 2
    assert variety.outputs["models"]["sentiment"]["endpoint_name"] == "Sentiment-Prod"


def test_artifact_model_serves_its_s3_archive(variety):
    container = variety.one(MODEL, "model-vision-model").inputs["primaryContainer"]
    assert container["modelDataUrl"] == ARTIFACT


def test_artifact_model_role_reads_exactly_its_archive(variety):
    read = statement(execution_policy(variety, "vision"), "ReadModelArtifact")
    assert read["Action"] == ["s3:GetObject"]
    assert read["Resource"] == ["arn:aws:s3:::acme-models/vit/2024-06/model.tar.gz"]


def test_artifact_model_role_decrypts_with_exactly_its_key_and_only_through_s3(variety):
    decrypt = statement(execution_policy(variety, "vision"), "DecryptModelArtifact")
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"] == [ARTIFACT_KEY]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_a_model_without_an_artifact_gets_no_artifact_grants(variety):
    document = execution_policy(variety, TEXT)
    sids = {s.get("Sid") for s in document["Statement"]}
    assert not sids & {"ReadModelArtifact", "DecryptModelArtifact"}


def test_each_function_may_invoke_only_its_own_models_endpoint(variety):
    endpoints = {
        "reviews": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/sentiment-prod",
        "feedback": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/sentiment-prod",
        "photos": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ai-event-pipeline-dev-vision",
        "notes": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ai-event-pipeline-dev-text-classifier",
    }
    for route, arn in endpoints.items():
        document = variety.role_policy_of(route)
        invokes = [s for s in document["Statement"] if "sagemaker:InvokeEndpoint" in s["Action"]]
        assert [s["Resource"] for s in invokes] == [[arn]], route


def test_json_model_functions_send_the_configured_field_under_the_configured_key(variety):
    version = variety.outputs["models"]["sentiment"]["model_version"]
    for route in ("reviews", "feedback"):
        variables = variety.function(route).inputs["environment"]["variables"]
        assert {
            k: variables.get(k)
            for k in (
                contract.ENV_MODEL_NAME,
                contract.ENV_MODEL_VERSION,
                contract.ENV_PAYLOAD_FORMAT,
                contract.ENV_JSON_INPUT_FIELD,
                contract.ENV_JSON_REQUEST_KEY,
                contract.ENV_ENDPOINT_CONTENT_TYPE,
                contract.ENV_MAX_PAYLOAD_BYTES,
                contract.ENV_ENDPOINT_NAME,
            )
        } == {
            contract.ENV_MODEL_NAME: "sentiment",
            contract.ENV_MODEL_VERSION: version,
            contract.ENV_PAYLOAD_FORMAT: "json",
            contract.ENV_JSON_INPUT_FIELD: "review",
            contract.ENV_JSON_REQUEST_KEY: "inputs",
            contract.ENV_ENDPOINT_CONTENT_TYPE: "application/json",
            contract.ENV_MAX_PAYLOAD_BYTES: str(contract.REALTIME_MAX_PAYLOAD_BYTES),
            contract.ENV_ENDPOINT_NAME: "Sentiment-Prod",
        }, route


def test_binary_model_function_sends_the_configured_content_type(variety):
    variables = variety.function("photos").inputs["environment"]["variables"]
    assert variables[contract.ENV_PAYLOAD_FORMAT] == "binary"
    assert variables[contract.ENV_ENDPOINT_CONTENT_TYPE] == "image/jpeg"
    assert variables[contract.ENV_MAX_PAYLOAD_BYTES] == str(contract.SERVERLESS_MAX_PAYLOAD_BYTES)
    assert contract.ENV_JSON_INPUT_FIELD not in variables


def test_configured_large_results_prefix_reaches_every_function_and_its_put_grant(variety):
    bucket_arn = variety.outputs["bucket_arn"]
    for route in variety.outputs["routes"]:
        variables = variety.function(route).inputs["environment"]["variables"]
        assert variables[contract.ENV_LARGE_RESULTS_PREFIX] == "pipeline-results/", route
        write = statement(variety.role_policy_of(route), "WriteLargeResults")
        assert write["Resource"] == [f"{bucket_arn}/pipeline-results/*"], route


def test_only_owned_endpoints_get_alarms_each_under_its_model_name(variety):
    sagemaker = [a for a in variety.of_type(ALARM) if a.inputs["namespace"] == "AWS/SageMaker"]
    assert sorted(a.name for a in sagemaker) == [
        "model-text-classifier-endpoint-5xx-errors",
        "model-text-classifier-endpoint-model-latency",
        "model-vision-endpoint-5xx-errors",
        "model-vision-endpoint-model-latency",
    ]
    for alarm in sagemaker:
        assert alarm.inputs["name"].startswith("ai-event-pipeline/dev/model-"), alarm.name


def test_endpoint_state_changes_of_every_models_endpoint_are_forwarded(variety):
    (rule,) = [
        r
        for r in variety.of_type(RULE)
        if json.loads(r.inputs["eventPattern"])["source"] == ["aws.sagemaker"]
    ]
    names = json.loads(rule.inputs["eventPattern"])["detail"]["EndpointName"]
    assert sorted(names) == sorted(m["endpoint_name"] for m in variety.outputs["models"].values())
    assert "Sentiment-Prod" in names
