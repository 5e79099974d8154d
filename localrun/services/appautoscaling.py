"""Application Auto Scaling: an async endpoint variant's scalable target and its scaling policies, stored in
moto (registered and put, never evaluated: the local run's async endpoint serves every request whatever the
instance count, and no alarm fires)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def scalable_target(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    namespace, resource_id, dimension = (
        i.req("serviceNamespace"),
        i.req("resourceId"),
        i.req("scalableDimension"),
    )
    m.client("application-autoscaling").register_scalable_target(
        ServiceNamespace=namespace,
        ResourceId=resource_id,
        ScalableDimension=dimension,
        MinCapacity=int(i.req("minCapacity")),
        MaxCapacity=int(i.req("maxCapacity")),
    )
    m.note_not_emulated(i, "auto scaling (targets and policies are stored, capacity never changes)")
    # The provider's id is the resource id; its ARN is the target's, as AWS answers it.
    (target,) = m.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    return resource_id, {"arn": target.get("ScalableTargetARN", ""), "roleArn": target.get("RoleARN", "")}


# The API's float members; every other number is an integer (Pulumi's mocks pass every number as a float).
_FLOATS = frozenset({"TargetValue", "MetricIntervalLowerBound", "MetricIntervalUpperBound"})


def _wire(value: Any, key: str = "") -> Any:
    """A provider block (camelCase keys) as the API's (PascalCase), recursively."""
    if isinstance(value, dict):
        return {(wire := k[:1].upper() + k[1:]): _wire(v, wire) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire(v, key) for v in value]
    if key in _FLOATS:
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def scaling_policy(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=255)
    policy_type = i.req("policyType")
    params: dict[str, Any] = {
        "PolicyName": name,
        "ServiceNamespace": i.req("serviceNamespace"),
        "ResourceId": i.req("resourceId"),
        "ScalableDimension": i.req("scalableDimension"),
        "PolicyType": policy_type,
    }
    if policy_type == "TargetTrackingScaling":
        params["TargetTrackingScalingPolicyConfiguration"] = _wire(
            i.req("targetTrackingScalingPolicyConfiguration")
        )
    else:
        params["StepScalingPolicyConfiguration"] = _wire(i.req("stepScalingPolicyConfiguration"))
    arn = m.client("application-autoscaling").put_scaling_policy(**params)["PolicyARN"]
    return name, {"arn": arn, "name": name, "alarmArns": []}
