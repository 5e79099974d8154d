"""The stack-owned SageMaker endpoints, one per named model: model, serverless endpoint configuration and
endpoint, from config."""

from __future__ import annotations

import json

import pytest
import yaml
from stack_graph import DEV_CONFIG, ENDPOINT, ENDPOINT_CONFIG, MODEL, ROLE_POLICY, StackGraph

from infra.ml import VARIANT_NAME
from lambdas.inference import contract
from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

MODELS_KEY = "ai-event-pipeline:models"
TEXT = "text-classifier"
DEV_MODELS = ("text-classifier", "image-classifier")  # the serverless ones
OWNED_DEV_MODELS = (*DEV_MODELS, "summarizer")  # and the async one
RESIZED = {"memoryMb": 4096, "maxConcurrency": 20}
OTHER_REGION = "eu-west-1"
# The model server's worker settings the stack sets for a serverless endpoint, unless config overrides them.
SERVERLESS_CONTAINER_DEFAULTS = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MMS_DEFAULT_WORKERS_PER_MODEL": "1"}
OVERRIDE = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}


def dev_model_settings(name: str = TEXT) -> dict:
    return yaml.safe_load(DEV_CONFIG.read_text())["config"][MODELS_KEY][name]


def of_model(graph: StackGraph, type_token: str, name: str):
    """The one resource of a type that model `name`'s component declares."""
    suffix = {MODEL: "model", ENDPOINT_CONFIG: "config", ENDPOINT: "endpoint"}[type_token]
    return graph.one(type_token, f"model-{name}-{suffix}")


@pytest.fixture(scope="module")
def resized() -> StackGraph:
    """The dev stack in another region with a larger text-classifier endpoint and two model server workers:
    what config alone changes."""
    config = load_stack_config(DEV_CONFIG)
    config["aws:region"] = OTHER_REGION
    models = json.loads(config[MODELS_KEY])
    settings = models[TEXT]
    environment = {**settings["environment"], **OVERRIDE}
    models[TEXT] = {**settings, **RESIZED, "environment": environment}
    config[MODELS_KEY] = json.dumps(models)
    mocks = CaptureMocks(region=OTHER_REGION)
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def serverless_config(graph: StackGraph, name: str = TEXT) -> dict:
    (variant,) = of_model(graph, ENDPOINT_CONFIG, name).inputs["productionVariants"]
    return variant["serverlessConfig"]


def test_each_model_gets_its_own_sagemaker_model_configuration_and_endpoint(dev):
    assert len(dev.of_type(MODEL)) == len(dev.of_type(ENDPOINT_CONFIG)) == len(dev.of_type(ENDPOINT)) == 3
    for name in OWNED_DEV_MODELS:
        assert (
            of_model(dev, MODEL, name).inputs["primaryContainer"]["environment"]["HF_MODEL_ID"]
            == (dev_model_settings(name)["environment"]["HF_MODEL_ID"])
        )


@pytest.mark.parametrize("name", OWNED_DEV_MODELS)
def test_model_runs_the_configured_image_in_the_stack_region(dev, resized, name):
    settings = dev_model_settings(name)
    for graph, region in ((dev, "us-east-1"), (resized, OTHER_REGION)):
        model = of_model(graph, MODEL, name)
        container = model.inputs["primaryContainer"]
        assert container["image"] == settings["image"].replace("{region}", region), (model.key, region)


@pytest.mark.parametrize("name", DEV_MODELS)
def test_model_environment_is_the_configured_one_over_one_model_server_worker(dev, name):
    model = of_model(dev, MODEL, name)
    assert model.inputs["primaryContainer"]["environment"] == {
        **SERVERLESS_CONTAINER_DEFAULTS,
        **dev_model_settings(name)["environment"],
    }, model.key


def test_configured_container_environment_overrides_the_worker_defaults(resized):
    model = of_model(resized, MODEL, TEXT)
    environment = model.inputs["primaryContainer"]["environment"]
    assert environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2", model.key
    assert environment["MMS_DEFAULT_WORKERS_PER_MODEL"] == "1", model.key
    assert environment["HF_TASK"] == dev_model_settings()["environment"]["HF_TASK"], model.key


@pytest.mark.parametrize("name", OWNED_DEV_MODELS)
def test_model_waits_for_its_execution_role_policy(dev, name):
    model = of_model(dev, MODEL, name)
    role = dev.resolve(model.inputs["executionRoleArn"])
    (policy,) = [p for p in dev.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    assert model.depends_on == [policy.key]


@pytest.mark.parametrize("name", DEV_MODELS)
def test_endpoint_configuration_serves_the_model_serverless_with_configured_memory_and_concurrency(
    dev, resized, name
):
    model = of_model(dev, MODEL, name)
    (variant,) = of_model(dev, ENDPOINT_CONFIG, name).inputs["productionVariants"]
    assert (variant["variantName"], variant["modelName"]) == (VARIANT_NAME, model.outputs["name"])
    settings = dev_model_settings(name)
    assert serverless_config(dev, name) == {
        "memorySizeInMb": settings["memoryMb"],
        "maxConcurrency": settings["maxConcurrency"],
    }
    assert serverless_config(resized) == {
        "memorySizeInMb": RESIZED["memoryMb"],
        "maxConcurrency": RESIZED["maxConcurrency"],
    }


@pytest.mark.parametrize("name", OWNED_DEV_MODELS)
def test_endpoint_configuration_is_auto_named_so_a_change_replaces_it_cleanly(dev, name):
    assert "name" not in of_model(dev, ENDPOINT_CONFIG, name).inputs


@pytest.mark.parametrize("name", OWNED_DEV_MODELS)
def test_endpoint_uses_the_configuration_and_is_the_one_functions_call(dev, name):
    endpoint = of_model(dev, ENDPOINT, name)
    endpoint_config = of_model(dev, ENDPOINT_CONFIG, name)
    assert endpoint.inputs["endpointConfigName"] == endpoint_config.outputs["name"]
    assert endpoint.outputs["name"] == dev.outputs["models"][name]["endpoint_name"]
    for route in dev.outputs["models"][name]["routes"]:
        variables = dev.function(route).inputs["environment"]["variables"]
        assert variables[contract.ENV_ENDPOINT_NAME] == endpoint.outputs["name"], route
