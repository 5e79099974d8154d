"""The stack's outputs (`pulumi stack output --json`, or the local cloud's outputs.json), validated.

Pure: parsing a document never touches AWS. A document that is not this project's stack output (another
project's, or a partial one) is an `OpsError` naming what is missing, before any AWS call is made.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VIAS = ("sns", "sqs", "lambda", "eventbridge", "kinesis")
REQUIRED_OUTPUTS = ("region", "bucket_name", "results_table_name", "notifications_topic_arn", "routes")
ROUTE_REQUIRED = ("via", "prefix", "function_name", "function_arn", "dlq_url", "dlq_arn")
VIA_REQUIRED = {
    "sns": ("topic_arn",),
    "sqs": ("queue_url", "queue_arn"),
    "lambda": (),
    "eventbridge": ("rule_name",),
    # A kinesis route reads records from its own stream (README, "The kinesis route"): redrive re-reads a
    # dead-lettered batch from it; the producer policy is informational here.
    "kinesis": ("stream_name", "stream_arn"),
}
# An async model's result writer (README, "Models"): SageMaker's notifications reach it through the model's
# success and error topics, and what it could not store waits in its DLQ.
WRITER_REQUIRED = (
    "result_writer_function_name",
    "result_writer_dlq_url",
    "success_topic_arn",
    "error_topic_arn",
)


class OpsError(Exception):
    """A problem the operator must fix (bad input, wrong stack); the CLI prints it and exits non-zero."""

    exit_code = 2


@dataclass(frozen=True)
class Route:
    """One route as the stack exports it."""

    name: str
    via: str
    prefix: str
    suffix: str
    function_name: str
    function_arn: str
    dlq_url: str
    dlq_arn: str
    model: str | None = None
    topic_arn: str | None = None
    queue_url: str | None = None
    queue_arn: str | None = None
    rule_name: str | None = None
    stream_name: str | None = None
    stream_arn: str | None = None
    producer_policy_arn: str | None = None
    role_arn: str | None = None

    @property
    def reads_objects(self) -> bool:
        """False for a kinesis route: it scores records put on its stream, and names no S3 object."""
        return self.via != "kinesis"

    def matches(self, key: str) -> bool:
        """Whether the (decoded) key is in this route's S3 filter, as the function checks it."""
        return self.reads_objects and key.startswith(self.prefix) and key.endswith(self.suffix)

    @property
    def entry(self) -> str:
        """Where the route's events enter: what reprocess sends to (see README, Operating the pipeline)."""
        if self.via == "sns":
            return f"topic {self.topic_arn}"
        if self.via == "sqs":
            return f"queue {self.queue_url}"
        if self.via == "kinesis":
            return f"stream {self.stream_name}"
        # EventBridge refuses PutEvents from callers for sources starting with `aws.` (the rule matches
        # source aws.s3), so an eventbridge route's events are given to its target, the function, directly.
        return f"function {self.function_name}"


@dataclass(frozen=True)
class ResultWriter:
    """An async model's result writer as the stack exports it (`models.<name>`)."""

    model: str
    function_name: str
    dlq_url: str
    success_topic_arn: str
    error_topic_arn: str
    endpoint_name: str | None = None
    output_uri: str | None = None  # s3://<bucket>/<output prefix>: the only outputs the writer reads

    @property
    def topic_arns(self) -> tuple[str, str]:
        return self.success_topic_arn, self.error_topic_arn

    def is_function(self, function_arn: str) -> bool:
        """Whether a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, as
        an invocation record's functionArn carries it) is the writer's."""
        parts = function_arn.split(":")
        return len(parts) >= 7 and parts[5] == "function" and parts[6] == self.function_name


@dataclass(frozen=True)
class Stack:
    """What the CLI needs from the stack outputs."""

    region: str
    bucket: str
    table: str
    notifications_topic_arn: str
    routes: Mapping[str, Route]
    models: Mapping[str, Any] = field(default_factory=dict)
    writers: Mapping[str, ResultWriter] = field(default_factory=dict)

    def route(self, name: str) -> Route:
        if name not in self.routes:
            raise OpsError(f"unknown route {name!r}; this stack's routes: {', '.join(sorted(self.routes))}")
        return self.routes[name]

    def selected(self, name: str | None) -> list[Route]:
        """One route by name, or every route."""
        return [self.route(name)] if name else [self.routes[n] for n in sorted(self.routes)]

    def model_version(self, route: Route) -> str | None:
        model = self.models.get(route.model or "") or {}
        return model.get("model_version") if isinstance(model, dict) else None

    def writer(self, model: str) -> ResultWriter:
        """The result writer of an async model; any other model has none."""
        if model in self.writers:
            return self.writers[model]
        async_models = (
            f"this stack's async models: {', '.join(sorted(self.writers))}"
            if self.writers
            else "this stack has no async model"
        )
        if model not in self.models:
            raise OpsError(f"unknown model {model!r}; {async_models}")
        raw = self.models[model]
        mode = raw.get("mode") if isinstance(raw, dict) else None
        raise OpsError(
            f"model {model!r} is not async (mode {mode!r}): only an async model has a result writer and its "
            f"DLQ; {async_models}. The failures of its routes are in their DLQs: `ops dlq --route ROUTE`."
        )


def parse_outputs(document: Any, source: str) -> Stack:
    """Validate `document` as this project's stack outputs; every problem is reported at once."""
    if not isinstance(document, dict):
        raise OpsError(f"{source}: not a stack output document (a JSON object of output name -> value)")
    problems = [f"missing output {name!r}" for name in REQUIRED_OUTPUTS if name not in document]
    raw_routes = document.get("routes")
    routes: dict[str, Route] = {}
    if "routes" in document and (not isinstance(raw_routes, dict) or not raw_routes):
        problems.append("output 'routes' is not a non-empty map of route name -> route")
    elif isinstance(raw_routes, dict):
        for name, raw in raw_routes.items():
            route, route_problems = _route(name, raw)
            problems.extend(route_problems)
            if route is not None:
                routes[name] = route
    models = document.get("models")
    models = models if isinstance(models, dict) else {}
    writers: dict[str, ResultWriter] = {}
    for name, raw in models.items():
        writer, writer_problems = _writer(name, raw, str(document.get("bucket_name") or ""))
        problems.extend(writer_problems)
        if writer is not None:
            writers[name] = writer
    if problems:
        raise OpsError(
            f"{source} is not the stack output of ai-event-pipeline ({'; '.join(problems)}). "
            "Fix: run in the project's directory with its stack selected, or pass --outputs PATH."
        )
    return Stack(
        region=str(document["region"]),
        bucket=str(document["bucket_name"]),
        table=str(document["results_table_name"]),
        notifications_topic_arn=str(document["notifications_topic_arn"]),
        routes=routes,
        models=models,
        writers=writers,
    )


def _writer(name: str, raw: Any, bucket: str) -> tuple[ResultWriter | None, list[str]]:
    """The result writer of an async model (None for any other mode)."""
    if not isinstance(raw, dict) or raw.get("mode") != "async":
        return None, []
    missing = [key for key in WRITER_REQUIRED if not raw.get(key)]
    if missing:
        return None, [f"async model {name!r} lacks {', '.join(missing)}"]
    prefix = raw.get("output_prefix")
    return (
        ResultWriter(
            model=name,
            function_name=raw["result_writer_function_name"],
            dlq_url=raw["result_writer_dlq_url"],
            success_topic_arn=raw["success_topic_arn"],
            error_topic_arn=raw["error_topic_arn"],
            endpoint_name=raw.get("endpoint_name"),
            output_uri=f"s3://{bucket}/{prefix}" if prefix else None,
        ),
        [],
    )


def _route(name: str, raw: Any) -> tuple[Route | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"route {name!r} is not a map"]
    via = raw.get("via")
    if via not in VIAS:
        return None, [f"route {name!r} has via {via!r}, not one of {', '.join(VIAS)}"]
    missing = [key for key in (*ROUTE_REQUIRED, *VIA_REQUIRED[via]) if not raw.get(key) and key != "prefix"]
    if "prefix" not in raw:
        missing.append("prefix")
    if missing:
        return None, [f"route {name!r} lacks {', '.join(missing)}"]
    return (
        Route(
            name=name,
            via=via,
            prefix=raw["prefix"] or "",
            suffix=raw.get("suffix") or "",
            function_name=raw["function_name"],
            function_arn=raw["function_arn"],
            dlq_url=raw["dlq_url"],
            dlq_arn=raw["dlq_arn"],
            model=raw.get("model"),
            topic_arn=raw.get("topic_arn"),
            queue_url=raw.get("queue_url"),
            queue_arn=raw.get("queue_arn"),
            rule_name=raw.get("rule_name"),
            stream_name=raw.get("stream_name"),
            stream_arn=raw.get("stream_arn"),
            producer_policy_arn=raw.get("producer_policy_arn"),
            role_arn=raw.get("role_arn"),
        ),
        [],
    )


Runner = Callable[..., subprocess.CompletedProcess]


def read_outputs(path: Path | None, run: Runner = subprocess.run) -> Stack:
    """The outputs from `path`, else from `pulumi stack output --json` in the current directory."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise OpsError(f"cannot read stack outputs {path}: {err.strerror or err}") from err
        source = str(path)
    else:
        try:
            done = run(["pulumi", "stack", "output", "--json"], capture_output=True, text=True, check=False)
        except FileNotFoundError as err:
            raise OpsError(
                "the Pulumi CLI is not installed; pass --outputs PATH (e.g. .localcloud/outputs.json)"
            ) from err
        if done.returncode != 0:
            raise OpsError(f"`pulumi stack output --json` failed: {done.stderr.strip() or done.returncode}")
        text, source = done.stdout, "`pulumi stack output --json`"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise OpsError(f"{source} is not JSON: {err}") from err
    return parse_outputs(document, source)
