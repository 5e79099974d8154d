"""Runs the real handler (`contract.HANDLER`) in-process with the fake clients and chosen settings.

The function's environment is derived from the dev stack's config (`Pulumi.dev.yaml`), as the stack
would set it, plus dummy names and fake credentials so nothing reaches AWS. The handler module is
imported once; each run assigns its `clients` (documented as assignable) and its module-level
`SETTINGS` for the run's settings, and restores both afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from benchmarks.events import BUCKET, ROUTE, LambdaContext
from benchmarks.fakes import ACCOUNT_ID, REGION, Clients, FakeAws
from lambdas.inference import contract
from lambdas.inference.pipeline import Clients as PipelineClients
from lambdas.inference.settings import MEMORY_SIZE_ENV, Settings, load_settings
from localrun.program import PROJECT_NAME, load_stack_config, stack_config_path

STACK = "dev"


@dataclass(frozen=True)
class StackFunctionConfig:
    """The parts of the stack's config that shape the function under test."""

    memory_mb: int
    max_object_bytes: int
    max_workers: int | None
    model_max_batch_size: int | None
    route_prefix: str
    route_suffix: str


def stack_function_config(stack: str = STACK) -> StackFunctionConfig:
    """`function.*`, the route's `models.<name>.maxBatchSize` and its filter from `Pulumi.<stack>.yaml`."""
    config = load_stack_config(stack_config_path(stack))
    function = json.loads(config[f"{PROJECT_NAME}:function"])
    # The handler refuses objects outside its route: the benchmark's objects (under `<ROUTE>/`) must be in it.
    [route] = [r for r in json.loads(config[f"{PROJECT_NAME}:routes"]) if r["name"] == ROUTE]
    # The route's model (named, or the only one) sets the batching.
    models = json.loads(config.get(f"{PROJECT_NAME}:models", "{}"))
    model = models.get(route.get("model") or next(iter(models), ""), {})
    return StackFunctionConfig(
        memory_mb=int(function["memoryMb"]),
        max_object_bytes=int(function.get("maxObjectBytes", contract.DEFAULT_MAX_OBJECT_BYTES)),
        max_workers=function.get("maxWorkers"),
        model_max_batch_size=model.get("maxBatchSize"),
        route_prefix=route.get("prefix") or "",
        route_suffix=route.get("suffix") or "",
    )


def function_environment(stack_config: StackFunctionConfig, **overrides: str) -> dict[str, str]:
    """The variables the stack sets on the function (dummy physical names), plus Lambda's memory size."""
    environment = {
        contract.ENV_RESULTS_TABLE: "results",
        contract.ENV_ENDPOINT_NAME: "model",
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:notifications",
        contract.ENV_ROUTE_NAME: ROUTE,
        contract.ENV_BUCKET_NAME: BUCKET,
        contract.ENV_ROUTE_PREFIX: stack_config.route_prefix,
        contract.ENV_ROUTE_SUFFIX: stack_config.route_suffix,
        contract.ENV_MAX_OBJECT_BYTES: str(stack_config.max_object_bytes),
        MEMORY_SIZE_ENV: str(stack_config.memory_mb),
    }
    if stack_config.max_workers is not None:
        environment[contract.ENV_MAX_WORKERS] = str(stack_config.max_workers)
    if stack_config.model_max_batch_size is not None:
        environment[contract.ENV_MODEL_MAX_BATCH_SIZE] = str(stack_config.model_max_batch_size)
    environment.update(overrides)
    return environment


def settings_for(stack_config: StackFunctionConfig, **overrides: str) -> Settings:
    """The handler's settings for the stack's function environment with `overrides` applied."""
    return load_settings(function_environment(stack_config, **overrides))


def import_handler_module(stack_config: StackFunctionConfig) -> ModuleType:
    """The handler module, imported (if not yet) with the function's environment and fake credentials.

    The environment is restored afterwards: the module reads it only at import, and a test session
    that imports this must not leak the variables into other tests.
    """
    name = contract.HANDLER.rpartition(".")[0]
    if name in sys.modules:
        return sys.modules[name]
    variables = {
        "AWS_ACCESS_KEY_ID": "benchmark",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        **function_environment(stack_config),
    }
    saved = dict(os.environ)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(variables)
    try:
        return importlib.import_module(name)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pipeline_clients(clients: Clients) -> PipelineClients:
    return PipelineClients(
        s3=clients.s3, sagemaker_runtime=clients.sagemaker_runtime, dynamodb=clients.dynamodb, sns=clients.sns
    )


@contextlib.contextmanager
def handler_configured(app: ModuleType, fake: FakeAws, settings: Settings) -> Iterator[None]:
    """Point the handler module at the fakes and `settings` for the duration of the block."""
    saved_clients, saved_settings = app.clients, app.SETTINGS
    app.clients, app.SETTINGS = pipeline_clients(fake.clients()), settings
    try:
        yield
    finally:
        app.clients, app.SETTINGS = saved_clients, saved_settings


def run_handler(app: ModuleType, event: dict[str, Any], fake: FakeAws, settings: Settings) -> dict[str, Any]:
    """Invoke the real handler once with the fakes and `settings`; returns its response."""
    with handler_configured(app, fake, settings):
        return getattr(app, contract.HANDLER.rpartition(".")[2])(event, LambdaContext())


class CapturedOutput:
    """What the code under test wrote to stdout while captured (the handler's JSON log lines)."""

    def __init__(self) -> None:
        self.text = ""

    def tail(self, lines: int = 5) -> str:
        return "\n".join(self.text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def captured_stdout() -> Iterator[CapturedOutput]:
    """Send file descriptor 1 to a temp file: the handler's log lines still get formatted and written
    (a real cost on Lambda too) but do not flood the tables; the text is kept for diagnostics."""
    captured = CapturedOutput()
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")


def check_complete(fake: FakeAws, response: dict[str, Any], objects: int) -> list[str]:
    """Why a run did not process every object to a `completed`, published result (empty when it did)."""
    problems = []
    if fake.unsupported:
        problems.append(f"called operations the fakes do not implement: {sorted(set(fake.unsupported))}")
    if response.get("batchItemFailures"):
        problems.append(f"{len(response['batchItemFailures'])} batch item failure(s)")
    if len(fake.items) != objects:
        problems.append(f"{len(fake.items)} results items written, expected {objects}")
    statuses = {item["status"]["S"] for item in fake.items.values()}
    if statuses - {contract.STATUS_COMPLETED}:
        problems.append(f"statuses written: {sorted(statuses)}")
    if len(fake.published) != objects:
        problems.append(f"{len(fake.published)} outcomes published, expected {objects}")
    return problems
