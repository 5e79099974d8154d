"""SageMaker: model, endpoint configuration and endpoint, created in moto (and changed by a redeploy)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.events.models import events_backends
from moto.sagemaker.models import sagemaker_backends

from .base import Inputs, Limit, UnsupportedResourceType, iso_now

if TYPE_CHECKING:
    from ..deliveries import Deliveries
    from ..moto_mocks import MotoMocks


def sagemaker_model(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=63)
    container = i.block("primaryContainer", "image", "environment")
    wire: dict[str, Any] = {"Image": container["image"]}
    if container.get("environment"):
        wire["Environment"] = {k: str(v) for k, v in container["environment"].items()}
    arn = m.client("sagemaker").create_model(
        ModelName=name, ExecutionRoleArn=i.req("executionRoleArn"), PrimaryContainer=wire
    )["ModelArn"]
    return name, {"arn": arn, "name": name}


def sagemaker_endpoint_config(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=63)
    variants = []
    for index, variant in enumerate(i.req("productionVariants")):
        path = f"productionVariants[{index}]"
        i.fields(
            path,
            variant,
            "variantName",
            "modelName",
            "serverlessConfig",
            "instanceType",
            "initialInstanceCount",
        )
        wire: dict[str, Any] = {"VariantName": variant["variantName"], "ModelName": variant["modelName"]}
        if variant.get("serverlessConfig"):
            serverless = i.fields(
                f"{path}.serverlessConfig", variant["serverlessConfig"], "memorySizeInMb", "maxConcurrency"
            )
            wire["ServerlessConfig"] = {
                "MemorySizeInMB": int(serverless["memorySizeInMb"]),
                "MaxConcurrency": int(serverless["maxConcurrency"]),
            }
        elif variant.get("instanceType") and i.get("asyncInferenceConfig"):
            # An instance variant is emulated behind an asynchronous endpoint only (its queue, the stand-in
            # answering after a simulated delay); moto requires InitialInstanceCount, which SageMaker lets
            # be 0 only with auto scaling from zero (the stack's minInstances 0).
            wire["InstanceType"] = variant["instanceType"]
            wire["InitialInstanceCount"] = int(variant.get("initialInstanceCount") or 0)
        else:
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: only serverless production variants, or instance variants of an "
                "asynchronous endpoint, are emulated"
            )
        variants.append(wire)
    params: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants}
    if i.get("asyncInferenceConfig"):
        params["AsyncInferenceConfig"] = async_inference_config(i)
    arn = m.client("sagemaker").create_endpoint_config(**params)["EndpointConfigArn"]
    return name, {"arn": arn, "name": name}


def async_inference_config(i: Inputs) -> dict[str, Any]:
    """AsyncInferenceConfig on the wire, from the provider's async_inference_config block."""
    block = i.block("asyncInferenceConfig", "outputConfig", "clientConfig")
    output = i.fields(
        "asyncInferenceConfig.outputConfig",
        block.get("outputConfig"),
        "s3OutputPath",
        "s3FailurePath",
        "kmsKeyId",
        "notificationConfig",
    )
    notification = i.fields(
        "asyncInferenceConfig.outputConfig.notificationConfig",
        output.get("notificationConfig"),
        "successTopic",
        "errorTopic",
    )
    client = i.fields(
        "asyncInferenceConfig.clientConfig", block.get("clientConfig"), "maxConcurrentInvocationsPerInstance"
    )
    wire_output: dict[str, Any] = {"S3OutputPath": output["s3OutputPath"]}
    if output.get("s3FailurePath"):
        wire_output["S3FailurePath"] = output["s3FailurePath"]
    if output.get("kmsKeyId"):
        wire_output["KmsKeyId"] = output["kmsKeyId"]
    topics = {
        wire: notification[key]
        for key, wire in (("successTopic", "SuccessTopic"), ("errorTopic", "ErrorTopic"))
        if notification.get(key)
    }
    if topics:
        wire_output["NotificationConfig"] = topics
    config: dict[str, Any] = {"OutputConfig": wire_output}
    if client.get("maxConcurrentInvocationsPerInstance"):
        config["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": int(client["maxConcurrentInvocationsPerInstance"])
        }
    return config


def sagemaker_endpoint(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=63)
    arn = m.client("sagemaker").create_endpoint(
        EndpointName=name,
        EndpointConfigName=i.req("endpointConfigName"),
    )["EndpointArn"]
    return name, {"arn": arn, "name": name}


# -- redeploys: what the provider replaces and what it updates in place -------------------------------
# A SageMaker model and an endpoint configuration are immutable (every input forces a new resource): a
# changed one is created anew under another name and the old one deleted once the deployment has finished.
def delete_model(m: MotoMocks, model_name: str) -> None:
    m.client("sagemaker").delete_model(ModelName=model_name)


def delete_endpoint_config(m: MotoMocks, config_name: str) -> None:
    m.client("sagemaker").delete_endpoint_config(EndpointConfigName=config_name)


# An endpoint switches to another configuration in place (UpdateEndpoint); only a rename replaces it.
ENDPOINT_UPDATABLE = frozenset({"endpointConfigName"})


def update_endpoint(m: MotoMocks, i: Inputs, endpoint_name: str, changed: frozenset[str]) -> dict[str, Any]:
    """UpdateEndpoint, which moto lacks: the endpoint takes the new configuration's variants, keeping its
    name and ARN (SageMaker moves it through Updating back to InService; moto's endpoints are InService)."""
    config_name = i.req("endpointConfigName")
    backend = sagemaker_backends[m.account][m.region]
    config = backend.describe_endpoint_config(config_name)  # ValidationError if it does not exist
    endpoint = backend.endpoints[endpoint_name]
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = datetime.now(UTC)
    m.updated_endpoints.append(endpoint_name)
    return {}


def emit_endpoint_in_service(hub: Deliveries, only: Collection[str] | None = None) -> None:
    """Put "SageMaker Endpoint State Change" (IN_SERVICE) on the default bus for every endpoint in moto
    (or those named in `only`: the endpoints a redeploy updated).

    SageMaker emits it when an endpoint becomes InService, minutes after creation or an update; moto creates
    endpoints InService at once and emits nothing, so the local run emits it when deployment ends.
    """
    backend = sagemaker_backends[hub.account][hub.region]
    default_bus = events_backends[hub.account][hub.region].event_buses.get("default")
    if default_bus is None:
        return
    for endpoint in backend.endpoints.values():
        if only is not None and endpoint.endpoint_name not in only:
            continue
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "SageMaker Endpoint State Change",
            "source": "aws.sagemaker",
            "account": hub.account,
            "time": iso_now(seconds_only=True),
            "region": hub.region,
            "resources": [endpoint.arn],
            "detail": {
                "EndpointName": endpoint.endpoint_name,
                "EndpointArn": endpoint.arn,
                "EndpointConfigName": endpoint.endpoint_config_name,
                "EndpointStatus": "IN_SERVICE",
                "CreationTime": int(endpoint.creation_time.timestamp() * 1000)
                if hasattr(endpoint.creation_time, "timestamp")
                else None,
                "Tags": {},
            },
        }
        hub.service_events.append(event)
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(event, transform_input=False)


# -- AWS size limits moto does not enforce ------------------------------------------------------------
# AWS size limits (the whole table: `limits.LIMITS`).
LIMITS: dict[str, Limit] = {
    # The error as SageMaker returns it for a serverless endpoint (aws/sagemaker-python-sdk#4271).
    "invoke_endpoint_serverless": Limit(
        "SageMaker InvokeEndpoint Body, serverless endpoint",
        4 * 1024 * 1024,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html",
        "ValidationError",
        400,
        "Request {request_id} has oversize body.",
    ),
    # The API's Body length constraint (botocore's model: max 6291456); the message is AWS's usual
    # constraint wording, not one observed for this case.
    "invoke_endpoint_realtime": Limit(
        "SageMaker InvokeEndpoint Body, real-time endpoint",
        6 * 1024 * 1024,
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html",
        "ValidationError",
        400,
        "1 validation error detected: Value at 'body' failed to satisfy constraint: "
        "Member must have length less than or equal to {limit}",
    ),
}


class InvokeEndpointBodyTooLarge(JsonRESTError):
    def __init__(self, limit: Limit) -> None:
        request_id = str(uuid.uuid4())
        super().__init__(limit.error_code, limit.message.format(request_id=request_id, limit=limit.max_bytes))
        self.code = limit.http_status


def check_invoke_endpoint_body(endpoint: Any, payload: bytes) -> None:
    """Refuse a Body over the endpoint type's limit, as SageMaker does (the stand-in calls this)."""
    limit = invoke_endpoint_limit(endpoint)
    if len(payload) > limit.max_bytes:
        raise InvokeEndpointBodyTooLarge(limit)


def invoke_endpoint_limit(endpoint: Any) -> Limit:
    """The InvokeEndpoint Body limit of a moto endpoint: serverless if any variant is."""
    serverless = any(v.get("CurrentServerlessConfig") for v in getattr(endpoint, "production_variants", []))
    return LIMITS["invoke_endpoint_serverless" if serverless else "invoke_endpoint_realtime"]
