"""Run the real Pulumi program (`__main__.py`) in-process under Pulumi's mock runtime.

Both the infra tests (mocks that fabricate outputs) and the local run (mocks that
create each resource in moto) go through `run_program`, so they exercise exactly
the program `pulumi up` would run, with config loaded from a real stack file.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import runpy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .patches import Patch, PatchSet

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_NAME = "ai-event-pipeline"

# pulumi_aws warns about its deprecated V2 aliases when a submodule is first
# imported, whether or not a program uses them. Import the submodules the program
# uses up front, silently, so the warnings recorded during a run are only those
# caused by the resources the program declares.
_PROVIDER_MODULES = (
    "cloudwatch",
    "dynamodb",
    "iam",
    "kinesis",
    "kms",
    "lambda_",
    "s3",
    "sagemaker",
    "sns",
    "sqs",
)


@dataclass
class DeclaredResource:
    """One resource the program declared: what it asked for and what the mock returned."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str | None
    depends_on: list[tuple[str, str]] = field(default_factory=list)  # (type, name)
    parent: tuple[str, str] | None = None
    protect: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.name)


@dataclass
class ProgramRun:
    """Everything a run of the program produced."""

    resources: list[DeclaredResource]
    outputs: dict[str, Any]
    config_keys_read: set[str]
    warnings: list[str]

    def of_type(self, type_token: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> DeclaredResource:
        for r in self.resources:
            if r.type == type_token and r.name == name:
                return r
        known = sorted(r.name for r in self.of_type(type_token))
        raise KeyError(f"no {type_token} named {name!r}; declared: {known}")


def load_stack_config(path: Path) -> dict[str, str]:
    """Read a `Pulumi.<stack>.yaml` into the flat `namespace:key -> string` map Pulumi passes programs."""
    document = yaml.safe_load(path.read_text()) or {}
    flat: dict[str, str] = {}
    for raw_key, value in (document.get("config") or {}).items():
        key = raw_key if ":" in raw_key else f"{PROJECT_NAME}:{raw_key}"
        flat[key] = value if isinstance(value, str) else json.dumps(value)
    return flat


def stack_config_path(stack: str) -> Path:
    return PROJECT_DIR / f"Pulumi.{stack}.yaml"


class _RecordingMocks(pulumi_mocks.Mocks):
    """Delegates to the caller's mocks and records every resource they answered."""

    def __init__(self, inner: pulumi_mocks.Mocks) -> None:
        self.inner = inner
        self.registered: dict[tuple[str, str], DeclaredResource] = {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        resource_id, state = self.inner.new_resource(args)
        self.registered[(args.typ, args.name)] = DeclaredResource(
            type=args.typ,
            name=args.name,
            inputs=dict(args.inputs),
            outputs=dict(state),
            id=resource_id,
        )
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        return self.inner.call(args)


def recording_patches(exports: dict[str, Any], keys_read: set[str]) -> list[Patch]:
    """Record the program's exports and every config key it reads (proving config file and program agree)."""

    def recording_export(original: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
        def export(name: str, value: Any) -> None:
            exports[name] = value
            original(name, value)

        return export

    def recording_get_config(original: Callable[[str], Any]) -> Callable[[str], Any]:
        def get_config(full_key: str) -> Any:
            keys_read.add(full_key)
            return original(full_key)

        return get_config

    return [
        Patch("pulumi", "export", wrap=recording_export, reason="the stack outputs, as values"),
        Patch("pulumi.config", "get_config", wrap=recording_get_config, reason="config keys read"),
    ]


class _RecordedOptions(NamedTuple):
    """The resource options tests assert on (the mock monitor does not pass them to new_resource)."""

    depends_on: list[tuple[str, str]]
    parent: tuple[str, str] | None
    protect: bool


def _resource_key(resource: pulumi.Resource) -> tuple[str, str]:
    return (resource._type, resource._name)  # the SDK exposes no public accessor


def run_program(
    mocks: pulumi_mocks.Mocks,
    *,
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    program: Path = PROJECT_DIR / "__main__.py",
) -> ProgramRun:
    """Run `program` once under `mocks` with the stack's config; return what it declared.

    `config` (flat `ns:key -> str`) wins over `config_file`, which defaults to `Pulumi.<stack>.yaml`.
    Errors raised by the program (e.g. config validation) propagate unchanged.
    """
    import pulumi_aws  # noqa: PLC0415 - loaded on the first run only

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in _PROVIDER_MODULES:
            # Any attribute access makes pulumi's lazy loader execute the module.
            getattr(importlib.import_module(f"pulumi_aws.{module}"), "__all__", None)
        del pulumi_aws

    if config is None:
        config = load_stack_config(config_file or stack_config_path(stack))

    recording = _RecordingMocks(mocks)
    engine_log = _EngineLog()
    pulumi_settings.ROOT.set(None)  # a fresh root stack per run (set_mocks keeps an old one)
    pulumi_mocks.set_mocks(recording, project=PROJECT_NAME, stack=stack, preview=False, logger=engine_log)
    pulumi.runtime.set_all_config(dict(config))

    options: dict[tuple[str, str], _RecordedOptions] = {}

    def record_options(args: pulumi.ResourceTransformationArgs) -> None:
        depends_on = args.opts.depends_on or []
        if not isinstance(depends_on, list):
            depends_on = [depends_on]
        parent = args.opts.parent
        options[(args.type_, args.name)] = _RecordedOptions(
            depends_on=[_resource_key(d) for d in depends_on if isinstance(d, pulumi.Resource)],
            parent=_resource_key(parent) if isinstance(parent, pulumi.Resource) else None,
            protect=bool(args.opts.protect),
        )

    pulumi.runtime.register_stack_transformation(record_options)

    exports: dict[str, Any] = {}
    keys_read: set[str] = set()
    try:
        with (
            PatchSet(recording_patches(exports, keys_read)),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
            outputs = {
                name: _sync_await(pulumi.Output.from_input(value).future()) for name, value in exports.items()
            }
    except BaseException:
        _discard_unfinished_work()
        raise

    for key, resource in recording.registered.items():
        recorded = options.get(key, _RecordedOptions([], None, False))
        resource.depends_on, resource.parent, resource.protect = recorded
    run_warnings = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    return ProgramRun(
        resources=list(recording.registered.values()),
        outputs=outputs,
        config_keys_read=keys_read,
        warnings=run_warnings + engine_log.warnings,
    )


def _discard_unfinished_work() -> None:
    """Cancel what a failed run left on the shared event loop.

    When a resource registration fails, the SDK stops waiting, but its tasks and the failed
    outputs stay behind; the next run on the same loop would otherwise await them (and fail
    with the previous run's error) or execute them against its own mocks.
    """
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    # The SDK also keeps the run's output tasks (some holding the failure) to await at the end of a run.
    with pulumi_settings.SETTINGS.lock:
        pulumi_settings.SETTINGS.outputs.clear()
    pulumi_settings._get_rpc_manager().clear()  # the SDK exposes no public reset
    # The failed resource's output futures hold the error the caller now gets, and nothing retrieves it:
    # whenever the collector frees them, each logs "exception was never retrieved" with a formatted
    # traceback, and CPython 3.11 formats tracebacks with `ast`. Freed inside another AST conversion
    # (werkzeug compiles moto's routes with `ast` during a later deploy), that nested use corrupts the
    # outer one: "SystemError: AST constructor recursion depth mismatch", seen in e2e runs.
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future) and obj.get_loop() is loop and obj.done() and not obj.cancelled():
            obj.exception()  # marks the error retrieved


class _EngineLog(logging.Logger):
    """Collects warnings the program logs through the engine (pulumi.log.warn, provider notices)."""

    def __init__(self) -> None:
        super().__init__("pulumi-engine")
        self.warnings: list[str] = []

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.warnings.append(f"engine: {msg}")

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.warnings.append(f"engine error: {msg}")
