"""Every third-party attribute the local run changes is declared in the patch registry, and comes back.

Method: snapshot, by identity, every attribute of every loaded module of the watched distributions
and of every class they define; run the whole local run (deploy, upload, deliveries, the handler),
snapshotting again while the program runs, while a handler runs and once everything is idle; then
close. Each difference must be a declared patch, every declared patch must show, and after close
nothing may differ. A first run beforehand loads everything that is imported lazily, so the
snapshots cover it.

Only behaviour is compared (functions, classes, modules, objects of the watched packages, flags
(booleans, such as a response class's `use_raw_body`), and containers holding callables, such as
botocore's handler table): moto's own bookkeeping (counters, lists of tracked instances) changes in
every run and is not a patch.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from local_cloud_helpers import dev_config, upload

from localrun.calls import ACTOR_HANDLER, ACTOR_OTHER, RecordedCall
from localrun.emulator import LocalCloud
from localrun.program import recording_patches

WATCHED = {
    "boto3",
    "botocore",
    "jsonpath_ng",
    "moto",
    "pulumi",
    "pulumi_aws",
    "requests",
    "responses",
    "s3transfer",
    "urllib3",
    "werkzeug",
}
# Changes the libraries make themselves while the local run uses them, none of them the local run's:
NOT_OURS = {
    "boto3.DEFAULT_SESSION",  # mock_aws patches it to None while active; the first boto3.client() sets it
    "requests.adapters.HTTPAdapter.send",  # mock_aws's own interception (the `responses` library)
    "moto.s3.urls.url_paths",  # moto rebuilds S3's routes
    "moto.core.models.MockAWS._mocks_active",  # mock_aws's own flag: True while a mock is started
}
NOT_OURS_PREFIXES = ("jsonpath_ng._ply.",)  # ply rebinds its module-level lexer/parser on every parse


def _behavioural(value: Any, depth: int = 0) -> bool:
    if callable(value) or isinstance(value, (types.ModuleType, staticmethod, classmethod, property)):
        return True
    if isinstance(value, (list, tuple, dict)):
        items = list(value.values() if isinstance(value, dict) else value)
        return depth < 2 and any(_behavioural(item, depth + 1) for item in items[:50])
    return depth == 0 and (isinstance(value, bool) or type(value).__module__.split(".")[0] in WATCHED)


@dataclass(frozen=True)
class _Held:
    value: Any
    items: tuple[Any, ...] | None  # a container's items, so changing it in place shows too


def _held(value: Any) -> _Held:
    if isinstance(value, (list, dict)) and _behavioural(value):
        return _Held(value, tuple(value.items() if isinstance(value, dict) else value))
    return _Held(value, None)


def _snapshot() -> dict[str, _Held]:
    snapshot: dict[str, _Held] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in WATCHED:
            continue
        for attribute, value in list(vars(module).items()):
            snapshot[f"{name}.{attribute}"] = _held(value)
            if isinstance(value, type) and value.__module__ == name:
                for class_attribute, class_value in list(vars(value).items()):
                    snapshot[f"{name}.{value.__qualname__}.{class_attribute}"] = _held(class_value)
    return snapshot


def _same(old: _Held, new: _Held) -> bool:
    if old.value is not new.value or (old.items is None) != (new.items is None):
        return False
    return old.items is None or (
        len(old.items) == len(new.items or ()) and all(map(_identical, old.items, new.items or ()))
    )


def _identical(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
    return a is b


def _changed(before: dict[str, _Held], after: dict[str, _Held]) -> set[str]:
    """Names whose behaviour differs (changed, removed, or added to a class or module that had it not)."""
    absent = _Held(None, None)
    changed = set()
    for name in before.keys() | after.keys():
        old, new = before.get(name, absent), after.get(name, absent)
        if _same(old, new) or name in NOT_OURS or name.startswith(NOT_OURS_PREFIXES):
            continue
        if name not in before and isinstance(new.value, types.ModuleType):
            continue  # a submodule imported since
        if name not in before and name.rsplit(".", 1)[0] not in before:
            continue  # a module or class that did not exist before
        if _behavioural(old.value) or _behavioural(new.value):
            changed.add(name)
    return changed


def _run(cloud: LocalCloud) -> None:
    cloud.deploy(config=dev_config())
    upload(cloud, "uploads", "patches.txt", "great product")
    cloud.run_until_idle()


@pytest.fixture(scope="module")
def observed() -> dict[str, Any]:
    with LocalCloud() as warm_up:
        _run(warm_up)
    before = _snapshot()
    seen: dict[str, Any] = {"before": before}

    def snapshot_while(call: RecordedCall) -> None:
        moment = {ACTOR_OTHER: "deploying" if "running" not in seen else None, ACTOR_HANDLER: "handler"}
        key = moment.get(call.actor)
        if key is not None and key not in seen:
            seen[key] = _snapshot()

    with LocalCloud() as cloud:
        cloud.recorder.on_call(snapshot_while)
        _run(cloud)
        seen["running"] = _snapshot()
        seen["targets"] = set(cloud.patches.targets)
    seen["closed"] = _snapshot()
    return seen


def test_while_the_stack_runs_exactly_the_declared_patches_differ(observed):
    assert _changed(observed["before"], observed["running"]) == observed["targets"]


def test_while_the_program_runs_only_the_declared_patches_and_the_programs_own_differ(observed):
    program_targets = {p.name for p in recording_patches({}, set())}
    assert _changed(observed["before"], observed["deploying"]) == observed["targets"] | program_targets


def test_while_a_handler_runs_exactly_the_declared_patches_differ(observed):
    # The handler runs in its own process: nothing in this one changes for it.
    assert _changed(observed["before"], observed["handler"]) == observed["targets"]


def test_after_close_nothing_differs(observed):
    assert _changed(observed["before"], observed["closed"]) == set()
