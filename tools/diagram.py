"""Render the deployed architecture as a mermaid flowchart, from the graph the program actually declares.

`mermaid(run)` reads a `ProgramRun` (resources with inputs and outputs) and draws what carries an object
through the pipeline: bucket notification targets, subscriptions, event source mappings, rule targets,
dead-letter paths, and what each function reads and writes. `python -m tools.diagram` prints the dev stack's
diagram (the one in docs/architecture.mmd and README.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from lambdas.inference import contract
from localrun.program import DeclaredResource, ProgramRun, run_program
from tools.capture_mocks import CaptureMocks

BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
STREAM = "aws:kinesis/stream:Stream"

SHAPES = {
    BUCKET: ('[("', '")]'),
    TABLE: ('[("', '")]'),
    TOPIC: ('{{"', '"}}'),
    QUEUE: ('[["', '"]]'),
    RULE: ('>"', '"]'),
    FUNCTION: ('("', '")'),
    ENDPOINT: ('[/"', '"/]'),
    STREAM: ('[["', '"]]'),
}
KINDS = {
    BUCKET: "S3 bucket",
    TABLE: "DynamoDB table",
    TOPIC: "SNS topic",
    QUEUE: "SQS queue",
    RULE: "EventBridge rule",
    FUNCTION: "Lambda",
    ENDPOINT: "SageMaker endpoint",
    STREAM: "Kinesis stream",
}


def _node_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


class _Graph:
    def __init__(self, run: ProgramRun) -> None:
        self.run = run
        self.nodes: dict[str, str] = {}
        self.edges: set[tuple[str, str, str, bool]] = set()
        self.by_value: dict[str, DeclaredResource] = {}
        for resource in run.resources:
            if resource.type in KINDS:
                for key in ("arn", "name", "url", "bucket", "id"):
                    value = resource.outputs.get(key)
                    if isinstance(value, str) and value:
                        self.by_value.setdefault(value, resource)

    def node(self, resource: DeclaredResource) -> str:
        node_id = _node_id(resource.name)
        if node_id not in self.nodes:
            start, end = SHAPES[resource.type]
            self.nodes[node_id] = f"{node_id}{start}{KINDS[resource.type]}<br/>{resource.name}{end}"
        return node_id

    def external(self, node_id: str, label: str) -> str:
        self.nodes.setdefault(node_id, f'{node_id}["{label}"]')
        return node_id

    def edge(self, source: str, target: str, label: str = "", *, failure: bool = False) -> None:
        self.edges.add((source, target, label, failure))

    def resolve(self, value: Any) -> DeclaredResource | None:
        return self.by_value.get(value) if isinstance(value, str) else None

    def render(self) -> str:
        lines = ["flowchart LR"]
        lines += [f"  {definition}" for _, definition in sorted(self.nodes.items())]
        for source, target, label, failure in sorted(self.edges):
            arrow = "-.->" if failure else "-->"
            lines.append(
                f'  {source} {arrow}|"{label}"| {target}' if label else f"  {source} {arrow} {target}"
            )
        return "\n".join(lines) + "\n"


def _filter_label(entry: dict[str, Any]) -> str:
    return f"{entry.get('filterPrefix') or ''}*{entry.get('filterSuffix') or ''}"


def _rule_label(pattern: dict[str, Any]) -> str:
    keys = pattern.get("detail", {}).get("object", {}).get("key", [{}])
    key_filter = keys[0] if keys else {}
    return key_filter.get("wildcard") or f"{key_filter.get('prefix', '')}*"


def _of_types(run: ProgramRun, *types: str) -> Iterable[DeclaredResource]:
    return (r for r in run.resources if r.type in types)


def _draw_bucket_notifications(graph: _Graph) -> None:
    for notification in _of_types(graph.run, "aws:s3/bucketNotification:BucketNotification"):
        bucket = graph.resolve(notification.inputs.get("bucket"))
        if bucket is None:
            continue
        source = graph.node(bucket)
        for key, arn_key in (
            ("topics", "topicArn"),
            ("queues", "queueArn"),
            ("lambdaFunctions", "lambdaFunctionArn"),
        ):
            for entry in notification.inputs.get(key) or []:
                target = graph.resolve(entry.get(arn_key))
                if target is not None:
                    graph.edge(source, graph.node(target), _filter_label(entry))
        if notification.inputs.get("eventbridge"):
            graph.edge(source, graph.external("default_bus", "EventBridge default bus"), "all objects")


def _draw_rules(graph: _Graph) -> None:
    for rule in _of_types(graph.run, RULE):
        pattern = json.loads(rule.inputs.get("eventPattern") or "{}")
        if pattern.get("source") == ["aws.s3"]:
            graph.edge("default_bus", graph.node(rule), _rule_label(pattern))
        elif pattern.get("source") == ["aws.sagemaker"]:
            # One rule for every model's endpoint: owned ones are nodes, the others one external node.
            endpoint_names = pattern.get("detail", {}).get("EndpointName", [])
            owned = [e for e in (graph.resolve(name) for name in endpoint_names) if e is not None]
            for endpoint in owned:
                graph.edge(graph.node(endpoint), graph.node(rule), "state changes")
            existing = [name for name in endpoint_names if graph.resolve(name) is None]
            if existing:
                graph.edge(_existing_endpoint(graph, existing), graph.node(rule), "state changes")
    for target in _of_types(graph.run, "aws:cloudwatch/eventTarget:EventTarget"):
        rule = graph.resolve(target.inputs.get("rule"))
        destination = graph.resolve(target.inputs.get("arn"))
        if rule and rule.type == RULE and destination:
            graph.edge(graph.node(rule), graph.node(destination), "target")
            dead_letters = graph.resolve((target.inputs.get("deadLetterConfig") or {}).get("arn"))
            if dead_letters:
                graph.edge(graph.node(rule), graph.node(dead_letters), "undeliverable", failure=True)


def _draw_subscriptions(graph: _Graph) -> None:
    for subscription in _of_types(graph.run, "aws:sns/topicSubscription:TopicSubscription"):
        topic = graph.resolve(subscription.inputs.get("topic"))
        if topic is None:
            continue
        endpoint = graph.resolve(subscription.inputs.get("endpoint"))
        protocol = subscription.inputs.get("protocol", "")
        destination = (
            graph.node(endpoint)
            if endpoint
            else graph.external(_node_id(f"subscriber_{subscription.name}"), f"{protocol} subscriber")
        )
        graph.edge(graph.node(topic), destination, "subscription")
        redrive = json.loads(subscription.inputs.get("redrivePolicy") or "{}")
        dead_letters = graph.resolve(redrive.get("deadLetterTargetArn"))
        if dead_letters:
            graph.edge(graph.node(topic), graph.node(dead_letters), "undeliverable", failure=True)


def _draw_queues(graph: _Graph) -> None:
    for mapping in _of_types(graph.run, "aws:lambda/eventSourceMapping:EventSourceMapping"):
        queue = graph.resolve(mapping.inputs.get("eventSourceArn"))
        function = graph.resolve(mapping.inputs.get("functionName"))
        if queue and function:
            batch = int(mapping.inputs.get("batchSize", 0))
            graph.edge(graph.node(queue), graph.node(function), f"batches of {batch}")
            on_failure = (mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}
            dead_letters = graph.resolve(on_failure.get("destinationArn"))
            if dead_letters:
                retries = int(mapping.inputs.get("maximumRetryAttempts", 0))
                graph.edge(
                    graph.node(function),
                    graph.node(dead_letters),
                    f"stream batch failure after {retries} retries",
                    failure=True,
                )
    for queue in _of_types(graph.run, QUEUE):
        redrive = json.loads(queue.inputs.get("redrivePolicy") or "{}")
        dead_letters = graph.resolve(redrive.get("deadLetterTargetArn"))
        if dead_letters:
            receives = redrive.get("maxReceiveCount")
            graph.edge(
                graph.node(queue), graph.node(dead_letters), f"after {receives} receives", failure=True
            )


def _draw_functions(graph: _Graph) -> None:
    for config in _of_types(graph.run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        function = graph.resolve(config.inputs.get("functionName"))
        on_failure = (config.inputs.get("destinationConfig") or {}).get("onFailure") or {}
        dead_letters = graph.resolve(on_failure.get("destination"))
        if function and dead_letters:
            retries = int(config.inputs.get("maximumRetryAttempts", 0))
            label = f"async failure after {retries} retries"
            graph.edge(graph.node(function), graph.node(dead_letters), label, failure=True)
    uses = (
        (contract.ENV_ENDPOINT_NAME, "InvokeEndpoint"),
        (contract.ENV_RESULTS_TABLE, "PutItem"),
        (contract.ENV_NOTIFICATIONS_TOPIC_ARN, "Publish outcome"),
    )
    for function in _of_types(graph.run, FUNCTION):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        for variable, usual_label in uses:
            label = usual_label
            if (
                variable == contract.ENV_ENDPOINT_NAME
                and contract.ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS in variables
            ):
                label = "InvokeEndpointAsync"
            if variable == contract.ENV_RESULTS_TABLE and contract.ENV_ASYNC_OUTPUT_URI in variables:
                label = "UpdateItem"  # an async model's result writer completes the submitted item
            target = graph.resolve(variables.get(variable))
            if target is not None:
                graph.edge(graph.node(function), graph.node(target), label)
            elif variable == contract.ENV_ENDPOINT_NAME and variables.get(variable):
                graph.edge(graph.node(function), _existing_endpoint(graph, [variables[variable]]), label)


def _draw_async_endpoints(graph: _Graph) -> None:
    """An async endpoint reads each object from the bucket and tells its success and error topics."""
    configs = {c.outputs.get("name"): c for c in _of_types(graph.run, ENDPOINT_CONFIG)}
    for endpoint in _of_types(graph.run, ENDPOINT):
        config = configs.get(endpoint.inputs.get("endpointConfigName"))
        output = (
            ((config.inputs.get("asyncInferenceConfig") or {}).get("outputConfig") or {}) if config else {}
        )
        if not output:
            continue
        source = graph.node(endpoint)
        bucket_name = (output.get("s3OutputPath") or "").removeprefix("s3://").split("/")[0]
        bucket = graph.resolve(bucket_name)
        if bucket is not None:
            graph.edge(graph.node(bucket), source, "InputLocation (read by SageMaker)")
        notices = output.get("notificationConfig") or {}
        for key, label in (("successTopic", "completed"), ("errorTopic", "failed")):
            topic = graph.resolve(notices.get(key))
            if topic is not None:
                graph.edge(source, graph.node(topic), label, failure=key == "errorTopic")


def _existing_endpoint(graph: _Graph, names: list[str]) -> str:
    return graph.external("existing_endpoint", f"existing SageMaker endpoint<br/>{', '.join(names)}")


def _draw_alarms(graph: _Graph) -> None:
    alarms = list(_of_types(graph.run, ALARM))
    if not alarms:
        return
    source = graph.external("alarms", f"{len(alarms)} CloudWatch alarms")
    for action in sorted({a for alarm in alarms for a in alarm.inputs.get("alarmActions") or []}):
        topic = graph.resolve(action)
        if topic is not None:
            graph.edge(source, graph.node(topic), "alarm / OK")


def mermaid(run: ProgramRun) -> str:
    """The program's architecture as a mermaid flowchart (stable for a given program and config)."""
    graph = _Graph(run)
    for draw in (
        _draw_bucket_notifications,
        _draw_rules,
        _draw_subscriptions,
        _draw_queues,
        _draw_functions,
        _draw_async_endpoints,
        _draw_alarms,
    ):
        draw(graph)
    return graph.render()


def main() -> None:
    print(mermaid(run_program(CaptureMocks(), stack="dev")), end="")


if __name__ == "__main__":
    main()
