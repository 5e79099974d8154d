"""The one registry for every change the local run makes to a third-party internal (STYLE.md rule 19).

A `Patch` names its target by dotted path (`"moto.s3.models.FakeBucket"` + `"get_permission"`)
and says what replaces it: a value, or `wrap=` a function that builds the replacement from the
original. Components declare their patches (a `patches()` method); a `PatchSet` installs them
together and removes them together:

    patches = PatchSet([*fixes.patches(), *runtime.patches()])
    with patches:               # or patches.install() / patches.uninstall()
        ...

Installing resolves *every* target first, so when a moto, botocore or pulumi upgrade moves one,
nothing is changed and one `PatchTargetMissing` names each missing `module.Class.attr`, its
distribution, the installed version and the version the patch was written for (`WRITTEN_FOR`,
the pins of requirements*.txt). Install and uninstall are idempotent; uninstall restores, in
reverse order, exactly what each owner held (an attribute it only inherited is deleted again).
Sets nest LIFO: each captures the originals when it installs.

The idea is LocalStack's `localstack/utils/patch.py`; this is a smaller version of it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

# The releases the patches were written and tested against (requirements*.txt pins them exactly).
WRITTEN_FOR: dict[str, str] = {
    "boto3": "1.44.5",
    "botocore": "1.44.5",
    "moto": "5.2.5",
    "pulumi": "3.272.0",
}

_ABSENT = object()  # the owner did not hold the attribute itself (inherited, or not there at all)


class PatchTargetMissing(RuntimeError):
    """A patch's target is not where the pinned release had it; nothing was patched."""


@dataclass(frozen=True)
class Patch:
    """Replace `target.attribute` (target: dotted path of a module or class, or the object itself)."""

    target: str | type | ModuleType
    attribute: str
    replacement: Any = _ABSENT
    wrap: Callable[[Any], Any] | None = None  # original -> replacement, called when installing
    reason: str = ""  # one line: why the local run needs it

    def __post_init__(self) -> None:
        if (self.replacement is _ABSENT) == (self.wrap is None):
            raise ValueError(f"{self.name}: give exactly one of replacement= and wrap=")

    @property
    def target_path(self) -> str:
        if isinstance(self.target, str):
            return self.target
        if isinstance(self.target, ModuleType):
            return self.target.__name__
        return f"{self.target.__module__}.{self.target.__qualname__}"

    @property
    def name(self) -> str:
        """`module.Class.attr`, as the error names it."""
        return f"{self.target_path}.{self.attribute}"

    @property
    def distribution(self) -> str:
        top = self.target_path.split(".", 1)[0]
        return _distributions().get(top, [top])[0]

    def replacement_for(self, original: Any) -> Any:
        return self.wrap(original) if self.wrap is not None else self.replacement


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _resolve_path(path: str) -> Any:
    """The object at a dotted path: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and not module_name.startswith(err.name):
                raise  # the module exists but something it imports does not: not ours to hide
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)  # AttributeError: the caller reports the target missing
        return obj
    raise AttributeError(path)


@dataclass
class _Applied:
    patch: Patch
    owner: Any
    held: Any  # what owner.__dict__ held before (or _ABSENT)


class PatchSet:
    """Patches installed and removed together; a context manager."""

    def __init__(self, patches: Iterable[Patch]) -> None:
        self.patches: tuple[Patch, ...] = tuple(patches)
        names = [p.name for p in self.patches]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"patched more than once in one set: {', '.join(duplicates)}")
        self._applied: list[_Applied] = []
        self._installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    @property
    def targets(self) -> list[str]:
        """Every patched `module.Class.attr`, in install order."""
        return [p.name for p in self.patches]

    def resolve(self) -> list[tuple[Patch, Any, Any]]:
        """(patch, owner, current value) for every patch; `PatchTargetMissing` listing all that are not."""
        resolved: list[tuple[Patch, Any, Any]] = []
        missing: list[str] = []
        for patch in self.patches:
            try:
                owner = _resolve_path(patch.target) if isinstance(patch.target, str) else patch.target
                current = getattr(owner, patch.attribute)
            except AttributeError:
                dist = patch.distribution
                missing.append(
                    f"{patch.name} (distribution {dist}: installed {installed_version(dist)}, "
                    f"patch written for {WRITTEN_FOR.get(dist, 'an unrecorded version')})"
                )
                continue
            resolved.append((patch, owner, current))
        if missing:
            raise PatchTargetMissing(
                "the local run patches targets this release does not have; nothing was patched:\n  "
                + "\n  ".join(missing)
            )
        return resolved

    def install(self) -> None:
        if self._installed:
            return
        resolved = self.resolve()  # raises before anything is changed
        try:
            for patch, owner, current in resolved:
                replacement = patch.replacement_for(current)
                self._applied.append(_Applied(patch, owner, vars(owner).get(patch.attribute, _ABSENT)))
                setattr(owner, patch.attribute, replacement)
        except BaseException:
            self.uninstall()  # all or nothing
            raise
        self._installed = True

    def uninstall(self) -> None:
        while self._applied:
            applied = self._applied.pop()
            if applied.held is _ABSENT:
                delattr(applied.owner, applied.patch.attribute)
            else:
                setattr(applied.owner, applied.patch.attribute, applied.held)
        self._installed = False

    def __enter__(self) -> PatchSet:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
