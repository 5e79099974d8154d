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
from infra.config import AsyncModel, ExistingModel, ServerlessModel
from infra.messaging import tls_only_topic_policy
from infra.observability import alarm_name_prefix

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
    model: ServerlessModel | ExistingModel | AsyncModel
    # Async models: where SageMaker reads inputs (the prefixes of the model's routes) and writes outputs.
    bucket_name: pulumi.Input[str] | None = None
    bucket_arn: pulumi.Input[str] | None = None
    key_arn: pulumi.Input[str] | None = None
    input_prefixes: tuple[str, ...] = ()
    async_inference_prefix: str = ""


# Instance families whose ML instances carry local NVMe instance storage, which SageMaker encrypts in hardware
# and for which CreateEndpointConfig refuses a KmsKeyId (API Reference, CreateEndpointConfig KmsKeyId:
# "If you specify a value for KmsKeyId when using any nitro-based instances with local storage, the call to
# CreateEndpointConfig fails"; the list: EC2 User Guide, "Instance store volumes"): a `d` after the generation
# (m5d, c5d, r5d, m6id, c6id), and the GPU and Trainium families below.
_LOCAL_STORAGE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "trn1", "trn1n"}
)


def has_local_instance_storage(instance_type: str) -> bool:
    """Whether an ML instance type (`ml.<family>.<size>`) has local instance storage."""
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    return family in _LOCAL_STORAGE_FAMILIES or re.fullmatch(r"[a-z]+\d+[a-z]*d[a-z]*", family) is not None


def async_output_prefix(async_inference_prefix: str, model_name: str) -> str:
    return f"{async_inference_prefix}{model_name}/output/"


def async_failure_prefix(async_inference_prefix: str, model_name: str) -> str:
    return f"{async_inference_prefix}{model_name}/failure/"


# Application Auto Scaling on an async endpoint (SageMaker Developer Guide, "Autoscale an asynchronous
# endpoint", https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html): target tracking
# on the customized metric ApproximateBacklogSizePerInstance (AWS/SageMaker, EndpointName, Average) lets the
# variant scale in to a MinCapacity of 0; below the target it would not scale out from zero until the backlog
# exceeds the target, so a step scaling policy adds one instance when the alarm on HasBacklogWithoutCapacity
# (requests queued, no instance) fires, as that page's "scale up from zero" section does.
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALE_IN_COOLDOWN_SECONDS = 600
SCALE_OUT_COOLDOWN_SECONDS = 300


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
        self.success_topic: aws.sns.Topic | None = None
        self.error_topic: aws.sns.Topic | None = None
        self.output_prefix: str | None = None

        if isinstance(settings, ExistingModel):
            self.endpoint_name: pulumi.Input[str] = settings.endpoint_name
            self.endpoint_arn: pulumi.Output[str] = endpoint_arn(
                args.partition, args.region, args.account_id, settings.endpoint_name
            )
            self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn})
            return

        child = pulumi.ResourceOptions(parent=self)
        name_of_endpoint = endpoint_name_for(args.project, args.stack, args.model_name)
        is_async = isinstance(settings, AsyncModel)
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
        if is_async:
            assert args.bucket_arn is not None and args.key_arn is not None
            # SageMaker publishes each inference's outcome here with the execution role; both topics are
            # under the stack key like every other (AsyncInferenceNotificationConfig).
            self.success_topic = aws.sns.Topic(f"{name}-success", kms_master_key_id=args.key_arn, opts=child)
            self.error_topic = aws.sns.Topic(f"{name}-error", kms_master_key_id=args.key_arn, opts=child)
            self.topic_policies = [
                tls_only_topic_policy(f"{name}-success-policy", self.success_topic, opts=child),
                tls_only_topic_policy(f"{name}-error-policy", self.error_topic, opts=child),
            ]
            self.output_prefix = async_output_prefix(args.async_inference_prefix, args.model_name)
            failure_prefix = async_failure_prefix(args.async_inference_prefix, args.model_name)
            statements += [
                iam.allow_read_async_inputs(args.bucket_arn, args.input_prefixes),
                iam.allow_write_async_outputs(args.bucket_arn, [self.output_prefix, failure_prefix]),
                iam.allow_async_key(args.key_arn),
                iam.allow_publish_async_notifications([self.success_topic.arn, self.error_topic.arn]),
            ]
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
        if isinstance(settings, AsyncModel):
            assert self.success_topic is not None and self.error_topic is not None
            # Outputs and failures under the async prefix no route matches, encrypted with the stack key
            # (AsyncInferenceOutputConfig KmsKeyId); AsyncInferenceClientConfig bounds the requests one
            # instance takes at once (API Reference, AsyncInferenceConfig).
            self.endpoint_config = aws.sagemaker.EndpointConfiguration(
                f"{name}-config",
                production_variants=[
                    aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                        variant_name=VARIANT_NAME,
                        model_name=self.model.name,
                        instance_type=settings.instance_type,
                        initial_instance_count=settings.initial_instance_count,
                    )
                ],
                # The instance's ML storage volume under the stack key too, unless it is local storage.
                kms_key_arn=None if has_local_instance_storage(settings.instance_type) else args.key_arn,
                async_inference_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs(
                    output_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigOutputConfigArgs(
                        s3_output_path=pulumi.Output.concat(
                            "s3://", args.bucket_name, "/", self.output_prefix
                        ),
                        s3_failure_path=pulumi.Output.concat("s3://", args.bucket_name, "/", failure_prefix),
                        kms_key_id=args.key_arn,
                        notification_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigOutputConfigNotificationConfigArgs(
                            success_topic=self.success_topic.arn, error_topic=self.error_topic.arn
                        ),
                    ),
                    client_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigClientConfigArgs(
                        max_concurrent_invocations_per_instance=settings.max_concurrent_invocations_per_instance
                    ),
                ),
                opts=child,
            )
        else:
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
        self.scaling_target: aws.appautoscaling.Target | None = None
        if isinstance(settings, AsyncModel):
            self._autoscaling(name, args, name_of_endpoint)
        self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn})

    def _autoscaling(self, name: str, args: InferenceEndpointArgs, endpoint_name: str) -> None:
        """Scale the variant between minInstances and maxInstances on its backlog (see SCALABLE_DIMENSION)."""
        settings = args.model
        assert isinstance(settings, AsyncModel)
        child = pulumi.ResourceOptions(parent=self)
        dimension = [
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationDimensionArgs(
                name="EndpointName", value=endpoint_name
            )
        ]
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="sagemaker",
            resource_id=pulumi.Output.concat("endpoint/", self.endpoint.name, "/variant/", VARIANT_NAME),
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=settings.min_instances,
            max_capacity=settings.max_instances,
            opts=child,
        )
        target = self.scaling_target
        of_target = {
            "service_namespace": target.service_namespace,
            "resource_id": target.resource_id,
            "scalable_dimension": target.scalable_dimension,
        }
        self.backlog_policy = aws.appautoscaling.Policy(
            f"{name}-backlog",
            policy_type="TargetTrackingScaling",
            **of_target,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(settings.backlog_per_instance),
                customized_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs(
                    metric_name="ApproximateBacklogSizePerInstance",
                    namespace="AWS/SageMaker",
                    dimensions=dimension,
                    statistic="Average",
                ),
                scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
            ),
            opts=child,
        )
        self.from_zero_policy = aws.appautoscaling.Policy(
            f"{name}-from-zero",
            policy_type="StepScaling",
            **of_target,
            step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
                adjustment_type="ChangeInCapacity",
                metric_aggregation_type="Average",
                cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                step_adjustments=[
                    aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
                        metric_interval_lower_bound="0", scaling_adjustment=1
                    )
                ],
            ),
            opts=child,
        )
        # HasBacklogWithoutCapacity: 1 while requests wait and no instance runs (AWS/SageMaker, EndpointName).
        # Its action is the scaling policy, not the ops topic: waking from zero is the normal path.
        self.from_zero_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-backlog-without-capacity",
            name=f"{alarm_name_prefix(args.project, args.stack)}{name}-backlog-without-capacity",
            namespace="AWS/SageMaker",
            metric_name="HasBacklogWithoutCapacity",
            dimensions={"EndpointName": endpoint_name},
            statistic="Average",
            period=60,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="missing",
            alarm_actions=[self.from_zero_policy.arn],
            opts=child,
        )
