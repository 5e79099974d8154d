"""SageMaker: model, endpoint configuration and endpoint, created in moto."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from moto.events.models import events_backends
from moto.sagemaker.models import sagemaker_backends

from .base import Inputs, UnsupportedResourceType, iso_now

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
        i.fields(path, variant, "variantName", "modelName", "serverlessConfig")
        if not variant.get("serverlessConfig"):
            raise UnsupportedResourceType(
                f"{i.typ} {i.name!r}: only serverless production variants are emulated"
            )
        serverless = i.fields(
            f"{path}.serverlessConfig", variant["serverlessConfig"], "memorySizeInMb", "maxConcurrency"
        )
        variants.append(
            {
                "VariantName": variant["variantName"],
                "ModelName": variant["modelName"],
                "ServerlessConfig": {
                    "MemorySizeInMB": int(serverless["memorySizeInMb"]),
                    "MaxConcurrency": int(serverless["maxConcurrency"]),
                },
            }
        )
    arn = m.client("sagemaker").create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)[
        "EndpointConfigArn"
    ]
    return name, {"arn": arn, "name": name}


def sagemaker_endpoint(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=63)
    arn = m.client("sagemaker").create_endpoint(
        EndpointName=name,
        EndpointConfigName=i.req("endpointConfigName"),
    )["EndpointArn"]
    return name, {"arn": arn, "name": name}


def emit_endpoint_in_service(hub: Deliveries) -> None:
    """Put "SageMaker Endpoint State Change" (IN_SERVICE) on the default bus for every endpoint in moto.

    SageMaker emits it when an endpoint becomes InService, minutes after creation; moto creates
    endpoints InService at once and emits nothing, so the local run emits it when deployment ends.
    """
    backend = sagemaker_backends[hub.account][hub.region]
    default_bus = events_backends[hub.account][hub.region].event_buses.get("default")
    if default_bus is None:
        return
    for endpoint in backend.endpoints.values():
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
