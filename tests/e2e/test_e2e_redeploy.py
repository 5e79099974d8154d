"""Re-scoring end to end: a model change redeployed into the same cloud re-scores a redelivered event, once.

GIVEN the dev stack deployed and an object on the data route (S3 invokes its function directly) scored,
WHEN the text classifier's container environment changes (another HF_MODEL_ID) and the stack is
redeployed into the same moto (`LocalCloud.redeploy`), THEN the SageMaker model and endpoint
configuration are replaced, the endpoint switches to the new configuration in place, the functions get
the new MODEL_VERSION and their next invocation cold-starts; the same S3 event delivered again is
re-scored (the item carries the new version, written by the later environment), and delivered once more
writes nothing. A change the local run does not apply is refused naming the resource and the input.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest
from local_cloud_helpers import deployed, dev_config, route, text_payload, upload

from lambdas.inference.contract import ENV_MODEL_VERSION, TABLE_PARTITION_KEY
from localrun.emulator import LocalCloud
from localrun.moto_mocks import RedeployRefused

PROJECT = "ai-event-pipeline"
NEW_MODEL_ID = "siebert/sentiment-roberta-large-english"  # another sentiment model (POSITIVE/NEGATIVE)


def _with_text_model(config: dict[str, str], model_id: str) -> dict[str, str]:
    models = json.loads(config[f"{PROJECT}:models"])
    models["text-classifier"]["environment"]["HF_MODEL_ID"] = model_id
    return {**config, f"{PROJECT}:models": json.dumps(models)}


def _successful_writes(cloud: LocalCloud, uri: str) -> int:
    return sum(
        1
        for c in cloud.recorder.calls
        if c.operation == "PutItem"
        and c.error_code is None
        and c.params["Item"][TABLE_PARTITION_KEY]["S"] == uri
    )


def _deliver_again(cloud: LocalCloud, event: dict[str, Any]) -> None:
    """S3 invoking the data route's function again with the same event (at-least-once delivery)."""
    function_name = route(cloud, "data")["function_name"]
    cloud.runtime.invoke_async(
        function_name, copy.deepcopy(event), source=f"s3:{cloud.outputs['bucket_name']}"
    )
    cloud.run_until_idle()


def _sagemaker_state(cloud: LocalCloud) -> dict[str, Any]:
    sagemaker = cloud.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(
        EndpointName=cloud.outputs["models"]["text-classifier"]["endpoint_name"]
    )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    return {
        "endpoint_arn": endpoint["EndpointArn"],
        "config": endpoint["EndpointConfigName"],
        "model": model_name,
        "model_id": sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Environment"][
            "HF_MODEL_ID"
        ],
        "models": {m["ModelName"] for m in sagemaker.list_models()["Models"]},
        "configs": {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]},
    }


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed() as cloud:
        uri = upload(cloud, "data", "rescored.json", text_payload("great and friendly"))
        cloud.run_until_idle()
        key = uri.split("/", 3)[3]
        event = next(
            e
            for e in cloud.deliveries.s3_notifications
            if unquote_plus(e["Records"][0]["s3"]["object"]["key"]) == key
        )
        function_name = route(cloud, "data")["function_name"]
        state: dict[str, Any] = {
            "uri": uri,
            "first": cloud.results()[uri],
            "version_before": cloud.outputs["models"]["text-classifier"]["model_version"],
            "sagemaker_before": _sagemaker_state(cloud),
            "environment_before": cloud.runtime.environments[function_name],
        }
        cloud.redeploy(config=_with_text_model(dev_config(), NEW_MODEL_ID))
        state["sagemaker_after"] = _sagemaker_state(cloud)
        state["environment_after_redeploy_alive"] = state["environment_before"].alive
        _deliver_again(cloud, event)
        state["rescored"] = cloud.results()[uri]
        state["rescoring_invocation"] = cloud.runtime.results[-1]
        state["writes_after_rescoring"] = _successful_writes(cloud, uri)
        _deliver_again(cloud, event)
        state["after_second_redelivery"] = cloud.results()[uri]
        state["writes_after_second_redelivery"] = _successful_writes(cloud, uri)
        cloud.state = state  # type: ignore[attr-defined]
        yield cloud


def test_a_model_change_gives_the_model_a_new_version_in_the_outputs(cloud: LocalCloud) -> None:
    state = cloud.state  # type: ignore[attr-defined]
    after = cloud.outputs["models"]["text-classifier"]["model_version"]
    assert after != state["version_before"]
    assert state["first"]["model_version"] == state["version_before"]


def test_a_model_change_replaces_model_and_configuration_and_updates_the_endpoint_in_place(
    cloud: LocalCloud,
) -> None:
    before, after = cloud.state["sagemaker_before"], cloud.state["sagemaker_after"]  # type: ignore[attr-defined]
    assert after["endpoint_arn"] == before["endpoint_arn"]  # the same endpoint
    assert (after["model_id"], before["model_id"]) == (NEW_MODEL_ID, before["model_id"])
    assert after["model"] != before["model"] and after["config"] != before["config"]
    # The replaced ones are deleted once the deployment has finished.
    assert before["model"] not in after["models"] and before["config"] not in after["configs"]


def test_functions_get_the_new_model_version_in_their_configuration(cloud: LocalCloud) -> None:
    new_version = cloud.outputs["models"]["text-classifier"]["model_version"]
    lam = cloud.client("lambda")
    for name in cloud.outputs["models"]["text-classifier"]["routes"]:
        variables = lam.get_function_configuration(FunctionName=route(cloud, name)["function_name"])[
            "Environment"
        ]
        assert variables["Variables"][ENV_MODEL_VERSION] == new_version


def test_a_function_whose_configuration_changed_cold_starts_its_next_invocation(cloud: LocalCloud) -> None:
    state = cloud.state  # type: ignore[attr-defined]
    assert state["environment_after_redeploy_alive"] is False  # the warm environment was stopped
    assert state["rescoring_invocation"].cold_start is True
    assert (
        cloud.runtime.environments[route(cloud, "data")["function_name"]] is not state["environment_before"]
    )


def test_the_same_event_delivered_after_the_model_change_is_rescored_with_the_new_version(
    cloud: LocalCloud,
) -> None:
    state = cloud.state  # type: ignore[attr-defined]
    first, rescored = state["first"], state["rescored"]
    assert rescored["model_version"] == cloud.outputs["models"]["text-classifier"]["model_version"]
    assert rescored["sequencer"] == first["sequencer"]  # the same event
    assert rescored["environment_started_at"] > first["environment_started_at"]
    assert state["writes_after_rescoring"] == 2


def test_the_same_event_delivered_again_under_the_new_version_writes_nothing(cloud: LocalCloud) -> None:
    state = cloud.state  # type: ignore[attr-defined]
    assert state["after_second_redelivery"] == state["rescored"]
    assert state["writes_after_second_redelivery"] == state["writes_after_rescoring"]


def test_a_redeploy_without_changes_changes_nothing(cloud: LocalCloud) -> None:
    before = _sagemaker_state(cloud)
    cloud.redeploy(config=_with_text_model(dev_config(), NEW_MODEL_ID))
    assert cloud.mocks is not None and cloud.mocks.changes == []
    assert _sagemaker_state(cloud) == before


def test_a_change_the_local_run_does_not_apply_is_refused_naming_the_resource_and_input(
    cloud: LocalCloud,
) -> None:
    # Last in the module (pytest keeps file order): a refused redeploy may leave moto partly updated.
    config = _with_text_model(dev_config(), NEW_MODEL_ID)
    function = json.loads(config[f"{PROJECT}:function"])
    changed = {**config, f"{PROJECT}:function": json.dumps({**function, "logRetentionDays": 30})}
    with pytest.raises(
        RedeployRefused, match=r"aws:cloudwatch/logGroup:LogGroup '.+': the redeploy changes retentionInDays"
    ):
        cloud.redeploy(config=changed)
