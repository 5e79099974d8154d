"""SageMaker: model, endpoint configuration and endpoint, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs, UnsupportedResourceType

if TYPE_CHECKING:
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
