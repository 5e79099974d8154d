"""CloudWatch: metric alarms, stored in moto (never evaluated), and the dashboard (stored, never drawn)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def metric_alarm(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=255)
    statistic = (
        {"ExtendedStatistic": i.get("extendedStatistic")}
        if i.get("extendedStatistic")
        else {"Statistic": i.req("statistic")}
    )
    params: dict[str, Any] = {
        "AlarmName": name,
        "ComparisonOperator": i.req("comparisonOperator"),
        "EvaluationPeriods": int(i.req("evaluationPeriods")),
        "Threshold": float(i.req("threshold")),
        "AlarmActions": i.get("alarmActions", []),
        "OKActions": i.get("okActions", []),
        "TreatMissingData": i.get("treatMissingData", "missing"),
        "MetricName": i.req("metricName"),
        "Namespace": i.req("namespace"),
        "Period": int(i.req("period")),
        **statistic,
        "Dimensions": [{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
        **i.present({"datapointsToAlarm": "DatapointsToAlarm"}, int),
    }
    cloudwatch = m.client("cloudwatch")
    cloudwatch.put_metric_alarm(**params)
    m.note_not_emulated(i, "alarm evaluation and actions (moto stores alarms but never evaluates them)")
    arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    return name, {"arn": arn, "name": name}


def dashboard(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.req("dashboardName")
    cloudwatch = m.client("cloudwatch")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=i.req("dashboardBody"))
    arn = cloudwatch.get_dashboard(DashboardName=name)["DashboardArn"]
    return name, {"dashboardArn": arn, "dashboardName": name}
