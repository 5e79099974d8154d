"""The SageMaker models the functions call, one component per named model.

`InferenceEndpoint` (`ai-event-pipeline:ml:InferenceEndpoint`): for a `serverless` model it creates the
model's own execution role (trusting sagemaker.amazonaws.com, never a function's role; allowed to pull its
image, read exactly its artifact and decrypt it with exactly its key), the `Model`, a serverless
`EndpointConfiguration` and the `Endpoint`; for an `existing` model it creates nothing and refers to the
configured endpoint. Exposes `model_name`, `endpoint_name`, `endpoint_arn`, `variant_name` (None for existing
endpoints), `model_version` and `execution_role` (None for existing endpoints).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam
from infra.config import ExistingModel, ServerlessModel

VARIANT_NAME = "AllTraffic"
# SageMaker endpoint names: 1-63 characters, [a-zA-Z0-9] and '-' (CreateEndpoint EndpointName).
ENDPOINT_NAME_MAX_LENGTH = 63


def endpoint_arn(
    partition: str, region: str, account_id: pulumi.Input[str], endpoint_name: str
) -> pulumi.Output[str]:
    """SageMaker lower-cases resource names in ARNs, and IAM matches ARNs case-sensitively."""
    return pulumi.Output.concat(
        "arn:", partition, ":sagemaker:", region, ":", account_id, ":endpoint/", endpoint_name.lower()
    )


def endpoint_name_for(project: str, stack: str, model_name: str) -> str:
    """A readable endpoint name (logs, metrics, the console) that is valid and unique for any stack and model
    name: `<project>-<stack>-<model>`, cut to 63 characters with a hash of the whole kept at the end."""
    full = re.sub(r"[^a-zA-Z0-9-]+", "-", f"{project}-{stack}-{model_name}").strip("-")
    if len(full) <= ENDPOINT_NAME_MAX_LENGTH:
        return full
    digest = hashlib.sha256(f"{project}/{stack}/{model_name}".encode()).hexdigest()[:8]
    return f"{full[: ENDPOINT_NAME_MAX_LENGTH - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass
class InferenceEndpointArgs:
    project: str
    stack: str
    region: str
    partition: str
    account_id: pulumi.Input[str]
    model_name: str
    model: ServerlessModel | ExistingModel


class InferenceEndpoint(pulumi.ComponentResource):
    """One named model: its serverless endpoint (created here) or a reference to an existing one."""

    def __init__(
        self, name: str, args: InferenceEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-event-pipeline:ml:InferenceEndpoint", name, None, opts)
        settings = args.model
        self.model_name = args.model_name
        self.model_version = settings.model_version
        self.execution_role: iam.ExecutionRole | None = None
        self.variant_name: str | None = None

        if isinstance(settings, ExistingModel):
            self.endpoint_name: pulumi.Input[str] = settings.endpoint_name
            self.endpoint_arn: pulumi.Output[str] = endpoint_arn(
                args.partition, args.region, args.account_id, settings.endpoint_name
            )
            self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn})
            return

        child = pulumi.ResourceOptions(parent=self)
        name_of_endpoint = endpoint_name_for(args.project, args.stack, args.model_name)
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
        statements = [
            *iam.allow_pull_image(repository_arn),
            iam.allow_endpoint_logs(log_group_arn),
            iam.allow_put_metrics(),
        ]
        if settings.artifact_bucket is not None and settings.artifact_key is not None:
            statements.append(
                iam.allow_read_model_artifact(
                    f"arn:{args.partition}:s3:::{settings.artifact_bucket}/{settings.artifact_key}"
                )
            )
            if settings.model_data_kms_key_arn is not None:
                statements.append(
                    iam.allow_decrypt_model_artifact(
                        settings.model_data_kms_key_arn, args.region, iam.service_domain(args.partition)
                    )
                )
        self.execution_role = iam.ExecutionRole(
            f"{name}-exec",
            iam.ExecutionRoleArgs(
                service="sagemaker",
                statements=statements,
                description=f"SageMaker execution role of model {args.model_name} ({args.stack})",
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
                image=settings.image,
                environment=settings.container_environment,
                model_data_url=settings.model_data_url,
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
