"""The function's deployment zip: exactly our handler package, at the paths the handler string imports."""

from __future__ import annotations

import os
from pathlib import Path

from stack_graph import FUNCTION

from infra.compute import PROJECT_ROOT, function_code_files
from lambdas.inference import contract


def expected_archive_paths() -> set[str]:
    """Walk lambdas/inference independently of the code under test."""
    paths = {"lambdas/__init__.py"}
    for directory, subdirectories, files in os.walk(PROJECT_ROOT / "lambdas" / "inference"):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for file in files:
            if file.endswith(".py"):
                paths.add((Path(directory) / file).relative_to(PROJECT_ROOT).as_posix())
    return paths


def test_archive_holds_the_lambdas_package_and_every_inference_module():
    files = function_code_files()
    assert set(files) == expected_archive_paths()
    assert all(path.is_file() and path.is_relative_to(PROJECT_ROOT) for path in files.values())


def test_archive_holds_no_caches_tests_or_dependencies():
    for name in function_code_files():
        assert name.startswith("lambdas/"), name
        assert "__pycache__" not in name and "site-packages" not in name, name
        assert name.endswith(".py"), name


def test_handler_string_points_at_a_module_in_the_archive():
    module_path, _, function_name = contract.HANDLER.rpartition(".")
    assert f"{module_path.replace('.', '/')}.py" in function_code_files()
    assert function_name == "handler"


def test_archive_paths_do_not_depend_on_the_working_directory(monkeypatch, tmp_path):
    before = function_code_files()
    monkeypatch.chdir(tmp_path)
    assert function_code_files() == before


def test_every_function_deploys_the_same_archive(dev):
    archives = [f.inputs["code"] for f in dev.of_type(FUNCTION)]
    expected = {name: str(path) for name, path in function_code_files().items()}
    for archive in archives:
        assert {name: asset.path for name, asset in archive.assets.items()} == expected
