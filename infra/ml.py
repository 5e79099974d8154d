"""The SageMaker model the functions call.

`InferenceEndpoint` (`ai-event-pipeline:ml:InferenceEndpoint`): with `model.mode: serverless` it creates the
model's own execution role (trusting sagemaker.amazonaws.com, never a function's role), the `Model`, a
serverless `EndpointConfiguration` and the `Endpoint`; with `existing` it creates nothing and refers to the
configured endpoint. Exposes `endpoint_name`, `endpoint_arn`, `variant_name` (None for existing endpoints)
and `execution_role` (None for existing endpoints).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam
from infra.config import ModelSettings

VARIANT_NAME = "AllTraffic"


def endpoint_arn(
    partition: str, region: str, account_id: pulumi.Input[str], endpoint_name: str
) -> pulumi.Output[str]:
    """SageMaker lower-cases resource names in ARNs, and IAM matches ARNs case-sensitively."""
    return pulumi.Output.concat(
        "arn:", partition, ":sagemaker:", region, ":", account_id, ":endpoint/", endpoint_name.lower()
    )


def endpoint_name_for(project: str, stack: str) -> str:
    """A readable endpoint name (logs, metrics, the console) that is valid for any stack name."""
    return re.sub(r"[^a-zA-Z0-9-]+", "-", f"{project}-{stack}").strip("-")[:63]


# The model server starts one worker per vCPU and each worker loads its own copy of the model, which a
# serverless endpoint's fixed memory may not hold: one worker, as Hugging Face's own serverless samples set
# (philschmid/cdk-samples sagemaker-serverless-huggingface-endpoint: "to be able to load models >512MB";
# aws/amazon-sagemaker-examples#1073). SAGEMAKER_MODEL_SERVER_WORKERS is the inference toolkit's setting,
# MMS_DEFAULT_WORKERS_PER_MODEL the model server's; containers read one or the other. Config may override.
SERVERLESS_CONTAINER_DEFAULTS = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MMS_DEFAULT_WORKERS_PER_MODEL": "1"}


def serverless_container_environment(configured: Mapping[str, str]) -> dict[str, str]:
    """The container environment: the serverless defaults, then the configured variables (which win)."""
    return {**SERVERLESS_CONTAINER_DEFAULTS, **configured}


@dataclass
class InferenceEndpointArgs:
    project: str
    stack: str
    region: str
    partition: str
    account_id: pulumi.Input[str]
    model: ModelSettings


class InferenceEndpoint(pulumi.ComponentResource):
    """The serverless inference endpoint (created here) or a reference to an existing one."""

    def __init__(
        self, name: str, args: InferenceEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:ml:InferenceEndpoint", name, None, opts)
        settings = args.model
        self.execution_role: iam.ExecutionRole | None = None
        self.variant_name: str | None = None

        if settings.mode == "existing":
            if settings.endpoint_name is None:
                raise ValueError("model.mode existing needs model.endpointName (validated by infra.config)")
            self.endpoint_name: pulumi.Input[str] = settings.endpoint_name
            self.endpoint_arn: pulumi.Output[str] = endpoint_arn(
                args.partition, args.region, args.account_id, settings.endpoint_name
            )
            self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn})
            return

        child = pulumi.ResourceOptions(parent=self)
        name_of_endpoint = endpoint_name_for(args.project, args.stack)
        repository_arn = (
            f"arn:{args.partition}:ecr:{settings.image_region}:{settings.image_registry_account}:"
            f"repository/{settings.image_repository}"
        )
        log_group_arn = pulumi.Output.concat(
            "arn:",
            args.partition,
            ":logs:",
            args.region,
            ":",
            args.account_id,
            ":log-group:/aws/sagemaker/Endpoints/",
            name_of_endpoint,
        )
        self.execution_role = iam.ExecutionRole(
            f"{name}-model",
            iam.ExecutionRoleArgs(
                service="sagemaker",
                statements=[
                    *iam.allow_pull_image(repository_arn),
                    iam.allow_endpoint_logs(log_group_arn),
                    iam.allow_put_metrics(),
                ],
                description=f"SageMaker execution role of the inference model ({args.stack})",
                trust_source_arn_pattern=iam.sagemaker_source_arn_pattern(
                    args.partition, args.region, args.account_id
                ),
            ),
            opts=child,
        )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.execution_role.role.arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=settings.image, environment=serverless_container_environment(settings.environment)
            ),
            # The image is pulled with the role's policy; it must be attached first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.execution_role.policy]),
        )
        self.variant_name = VARIANT_NAME
        # Endpoint configurations are immutable: no fixed name, so a change creates a new one and the
        # endpoint switches to it in place. No kms_key_arn: it encrypts the ML storage volume of instances,
        # and serverless endpoints have none, nor network isolation (SageMaker Developer Guide, "Serverless
        # Inference", feature exclusions; README: Security, deliberate exceptions).
        self.endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.name,
                    serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                        memory_size_in_mb=settings.memory_mb, max_concurrency=settings.max_concurrency
                    ),
                )
            ],
            opts=child,
        )
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            # A fixed, readable name lets the role's log permission, alarms and dashboards name it exactly;
            # config changes update the endpoint in place (only a rename replaces it).
            name=name_of_endpoint,
            endpoint_config_name=self.endpoint_config.name,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.endpoint_name = self.endpoint.name
        self.endpoint_arn = self.endpoint.arn
        self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn})
