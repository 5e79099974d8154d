"""The stack-owned SageMaker endpoint: model, serverless endpoint configuration and endpoint, from config."""

from __future__ import annotations

import json

import pytest
import yaml
from stack_graph import DEV_CONFIG, ENDPOINT, ENDPOINT_CONFIG, MODEL, ROLE_POLICY, StackGraph

from infra.ml import VARIANT_NAME
from localrun.program import load_stack_config, run_program
from tools.capture_mocks import CaptureMocks

MODEL_KEY = "ai-event-pipeline:model"
RESIZED = {"memoryMb": 4096, "maxConcurrency": 20}
OTHER_REGION = "eu-west-1"
# The model server's worker settings the stack sets for a serverless endpoint, unless config overrides them.
SERVERLESS_CONTAINER_DEFAULTS = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MMS_DEFAULT_WORKERS_PER_MODEL": "1"}
OVERRIDE = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}


def dev_model_settings() -> dict:
    return yaml.safe_load(DEV_CONFIG.read_text())["config"][MODEL_KEY]


@pytest.fixture(scope="module")
def resized() -> StackGraph:
    """The dev stack in another region with a larger serverless endpoint and two model server workers:
    what config alone changes."""
    config = load_stack_config(DEV_CONFIG)
    config["aws:region"] = OTHER_REGION
    settings = dev_model_settings()
    environment = {**settings["environment"], **OVERRIDE}
    config[MODEL_KEY] = json.dumps({**settings, **RESIZED, "environment": environment})
    mocks = CaptureMocks(region=OTHER_REGION)
    return StackGraph(run_program(mocks, stack="dev", config=config), mocks)


def serverless_config(graph: StackGraph) -> dict:
    (endpoint_config,) = graph.of_type(ENDPOINT_CONFIG)
    (variant,) = endpoint_config.inputs["productionVariants"]
    return variant["serverlessConfig"]


def test_model_runs_the_configured_image_in_the_stack_region(dev, resized):
    settings = dev_model_settings()
    for graph, region in ((dev, "us-east-1"), (resized, OTHER_REGION)):
        (model,) = graph.of_type(MODEL)
        container = model.inputs["primaryContainer"]
        assert container["image"] == settings["image"].replace("{region}", region), (model.key, region)


def test_model_environment_is_the_configured_one_over_one_model_server_worker(dev):
    (model,) = dev.of_type(MODEL)
    assert model.inputs["primaryContainer"]["environment"] == {
        **SERVERLESS_CONTAINER_DEFAULTS,
        **dev_model_settings()["environment"],
    }, model.key


def test_configured_container_environment_overrides_the_worker_defaults(resized):
    (model,) = resized.of_type(MODEL)
    environment = model.inputs["primaryContainer"]["environment"]
    assert environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2", model.key
    assert environment["MMS_DEFAULT_WORKERS_PER_MODEL"] == "1", model.key
    assert environment["HF_TASK"] == dev_model_settings()["environment"]["HF_TASK"], model.key


def test_model_waits_for_its_execution_role_policy(dev):
    (model,) = dev.of_type(MODEL)
    role = dev.resolve(model.inputs["executionRoleArn"])
    (policy,) = [p for p in dev.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
    assert model.depends_on == [policy.key]


def test_endpoint_configuration_serves_the_model_serverless_with_configured_memory_and_concurrency(
    dev, resized
):
    (model,) = dev.of_type(MODEL)
    (endpoint_config,) = dev.of_type(ENDPOINT_CONFIG)
    (variant,) = endpoint_config.inputs["productionVariants"]
    assert (variant["variantName"], variant["modelName"]) == (VARIANT_NAME, model.outputs["name"])
    settings = dev_model_settings()
    assert serverless_config(dev) == {
        "memorySizeInMb": settings["memoryMb"],
        "maxConcurrency": settings["maxConcurrency"],
    }
    assert serverless_config(resized) == {
        "memorySizeInMb": RESIZED["memoryMb"],
        "maxConcurrency": RESIZED["maxConcurrency"],
    }


def test_endpoint_configuration_is_auto_named_so_a_change_replaces_it_cleanly(dev):
    (endpoint_config,) = dev.of_type(ENDPOINT_CONFIG)
    assert "name" not in endpoint_config.inputs


def test_endpoint_uses_the_configuration_and_is_the_one_functions_call(dev):
    (endpoint,) = dev.of_type(ENDPOINT)
    (endpoint_config,) = dev.of_type(ENDPOINT_CONFIG)
    assert endpoint.inputs["endpointConfigName"] == endpoint_config.outputs["name"]
    assert endpoint.outputs["name"] == dev.outputs["endpoint_name"]
