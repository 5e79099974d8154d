"""The patch registry (`localrun/patches.py`) on its own: fail fast, restore exactly, install once.

These need no emulator: the targets are a throwaway module, plus real moto paths where the point is
the message a moto upgrade would produce.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from localrun.patches import WRITTEN_FOR, Patch, PatchSet, PatchTargetMissing

PROJECT_DIR = Path(__file__).resolve().parents[2]
FAKE = "localrun_patches_fake_target"


class _Base:
    def inherited(self) -> str:
        return "base"


@pytest.fixture
def fake() -> Iterator[types.ModuleType]:
    """A module with a function, a class with an own method, a staticmethod and an inherited method."""
    module = types.ModuleType(FAKE)

    class Owner(_Base):
        def own(self) -> str:
            return "own"

        @staticmethod
        def static() -> str:
            return "static"

    Owner.__module__ = FAKE
    module.Owner = Owner  # type: ignore[attr-defined]
    module.function = lambda: "function"  # type: ignore[attr-defined]
    module.table = ["original"]  # type: ignore[attr-defined]
    sys.modules[FAKE] = module
    yield module
    del sys.modules[FAKE]


def _state(module: types.ModuleType) -> dict[str, object]:
    return {"function": module.function, "table": module.table, **vars(module.Owner)}


def _fake_patches() -> list[Patch]:
    return [
        Patch(FAKE, "function", lambda: "patched"),
        Patch(f"{FAKE}.Owner", "own", wrap=lambda original: lambda self: "wrapped " + original(self)),
        Patch(f"{FAKE}.Owner", "static", staticmethod(lambda: "patched static")),
        Patch(f"{FAKE}.Owner", "inherited", lambda self: "patched inherited"),
        Patch(FAKE, "table", wrap=lambda table: ["first", *table]),
    ]


def test_install_replaces_every_target_and_uninstall_restores_exactly_what_each_owner_held(fake):
    before = _state(fake)
    patches = PatchSet(_fake_patches())

    patches.install()
    owner = fake.Owner()
    assert (fake.function(), owner.own(), owner.static(), owner.inherited(), fake.table) == (
        "patched",
        "wrapped own",
        "patched static",
        "patched inherited",
        ["first", "original"],
    )
    assert patches.installed

    patches.uninstall()
    assert _state(fake) == before
    assert all(_state(fake)[name] is value for name, value in before.items())
    assert "inherited" not in vars(fake.Owner)  # only inherited before: deleted again, not copied down
    assert not patches.installed


def test_install_twice_is_harmless_and_one_uninstall_restores(fake):
    before = _state(fake)
    patches = PatchSet(_fake_patches())
    patches.install()
    patched = _state(fake)
    patches.install()
    assert _state(fake) == patched
    assert fake.table == ["first", "original"]  # the wrap ran once
    patches.uninstall()
    assert _state(fake) == before
    patches.uninstall()  # harmless too
    assert _state(fake) == before


def test_a_patch_set_is_a_context_manager(fake):
    before = _state(fake)
    with PatchSet(_fake_patches()) as patches:
        assert patches.installed
        assert fake.function() == "patched"
    assert _state(fake) == before


def test_sets_nest_last_in_first_out(fake):
    original = fake.function
    outer = PatchSet([Patch(FAKE, "function", wrap=lambda f: lambda: "outer " + f())])
    inner = PatchSet([Patch(FAKE, "function", wrap=lambda f: lambda: "inner " + f())])
    with outer, inner:
        assert fake.function() == "inner outer function"
    assert fake.function is original


@pytest.mark.parametrize(
    ("target", "attribute"),
    [
        ("moto.s3.models.FakeBucket", "no_such_method"),  # the attribute moved
        ("moto.s3.models.NoSuchClass", "get_permission"),  # the class moved
        ("moto.no_such_service.models.Backend", "method"),  # the module moved
    ],
)
def test_a_missing_target_fails_before_anything_changes_naming_it_and_both_versions(fake, target, attribute):
    before = _state(fake)
    patches = PatchSet([*_fake_patches(), Patch(target, attribute, lambda: None)])

    with pytest.raises(PatchTargetMissing) as raised:
        patches.install()

    message = str(raised.value)
    assert f"{target}.{attribute}" in message
    assert f"distribution moto: installed {importlib.metadata.version('moto')}" in message
    assert f"patch written for {WRITTEN_FOR['moto']}" in message
    assert _state(fake) == before
    assert not patches.installed


def test_every_missing_target_is_named_in_the_one_error(fake):
    patches = PatchSet(
        [
            Patch("botocore.endpoint", "no_such_clock", None),
            Patch(FAKE, "function", lambda: "patched"),
            Patch("pulumi.config", "no_such_reader", None),
        ]
    )
    with pytest.raises(PatchTargetMissing) as raised:
        patches.install()
    message = str(raised.value)
    assert "botocore.endpoint.no_such_clock (distribution botocore:" in message
    assert "pulumi.config.no_such_reader (distribution pulumi:" in message
    assert f"{FAKE}.function" not in message
    assert fake.function() == "function"


def test_a_replacement_that_fails_to_build_leaves_nothing_installed(fake):
    before = _state(fake)

    def broken(_original: object) -> object:
        raise RuntimeError("cannot wrap")

    patches = PatchSet(
        [Patch(FAKE, "function", lambda: "patched"), Patch(f"{FAKE}.Owner", "own", wrap=broken)]
    )
    with pytest.raises(RuntimeError, match="cannot wrap"):
        patches.install()
    assert _state(fake) == before


def test_one_target_patched_twice_in_a_set_is_refused():
    with pytest.raises(ValueError, match=rf"{FAKE}\.function"):
        PatchSet([Patch(FAKE, "function", None), Patch(FAKE, "function", None)])


def test_a_patch_gives_exactly_one_of_replacement_and_wrap():
    with pytest.raises(ValueError, match="exactly one"):
        Patch(FAKE, "function")
    with pytest.raises(ValueError, match="exactly one"):
        Patch(FAKE, "function", None, wrap=lambda original: original)


def test_written_for_is_what_requirements_pin():
    pins: dict[str, str] = {}
    for requirements in PROJECT_DIR.glob("requirements*.txt"):
        for line in requirements.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
            if match:
                pins[match.group(1).lower()] = match.group(2)
    assert {name: pins[name] for name in WRITTEN_FOR} == WRITTEN_FOR


def _third_party_names(tree: ast.Module) -> set[str]:
    """Names a module binds by importing a third-party package (not the stdlib, not this project)."""
    own = {"localrun", "lambdas", "infra"}

    def third_party(module: str) -> bool:
        top = module.split(".", maxsplit=1)[0]
        return top not in sys.stdlib_module_names and top not in own and top != "__future__"

    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if third_party(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and third_party(node.module or ""):
            names |= {a.asname or a.name for a in node.names}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_outside_the_registry_no_local_run_module_assigns_to_a_third_party_object():
    """What `grep setattr` would check, by syntax: no setattr/delattr, and no `moto_name.attr = ...`."""
    found = []
    for path in sorted((PROJECT_DIR / "localrun").rglob("*.py")):
        if path.name == "patches.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = _third_party_names(tree)
        for node in ast.walk(tree):
            called = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None
            if called in {"setattr", "delattr"}:
                found.append(f"{path.name}:{node.lineno}: {called}(...)")
            targets = (
                node.targets
                if isinstance(node, (ast.Assign, ast.Delete))
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute) and _root(target) in imported:
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(target)} = ...")
    assert found == []
