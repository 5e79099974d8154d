"""The function's deployment zip: our handler package at the paths the handler string imports, plus the
vendored Powertools release and its one dependency at the archive root."""

from __future__ import annotations

import os
from pathlib import Path

import aws_lambda_powertools
import typing_extensions
from stack_graph import FUNCTION

from infra.compute import PROJECT_ROOT, function_code_files
from lambdas.inference import contract

# Top-level names the vendored distributions install (aws-lambda-powertools, typing_extensions).
VENDORED_TOP_LEVEL = ("aws_lambda_powertools/", "typing_extensions.py")


def _python_files(root: Path, relative_to: Path) -> set[str]:
    paths = set()
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for file in files:
            if file.endswith(".py"):
                paths.add((Path(directory) / file).relative_to(relative_to).as_posix())
    return paths


def expected_own_paths() -> set[str]:
    """Walk lambdas/inference independently of the code under test."""
    return {"lambdas/__init__.py"} | _python_files(PROJECT_ROOT / "lambdas" / "inference", PROJECT_ROOT)


def expected_vendored_paths() -> set[str]:
    """Walk the installed packages' directories (the code under test reads the distributions' metadata)."""
    package = Path(aws_lambda_powertools.__file__).parent
    return _python_files(package, package.parent) | {Path(typing_extensions.__file__).name}


def own_files() -> dict[str, Path]:
    return {name: path for name, path in function_code_files().items() if name.startswith("lambdas/")}


def vendored_entries() -> dict[str, Path]:
    return {name: path for name, path in function_code_files().items() if not name.startswith("lambdas/")}


def test_archive_holds_the_lambdas_package_and_every_inference_module():
    files = own_files()
    assert set(files) == expected_own_paths()
    for name, path in files.items():
        assert path == PROJECT_ROOT / name and path.is_file(), name


def test_archive_holds_exactly_our_package_and_the_vendored_distributions_python_files():
    assert set(function_code_files()) == expected_own_paths() | expected_vendored_paths()


def test_vendored_files_sit_at_the_archive_root_where_lambda_imports_them():
    for name, path in vendored_entries().items():
        assert name.startswith(VENDORED_TOP_LEVEL), name
        assert path.is_file() and path.as_posix().endswith(f"/{name}"), (name, path)


def test_archive_holds_no_caches_tests_metadata_or_site_packages_paths():
    for name in function_code_files():
        parts = name.split("/")
        assert parts[0] != "tests" and "tests" not in parts[:-1], name
        assert "__pycache__" not in parts and not name.endswith(".pyc"), name
        assert not any(part.endswith(".dist-info") for part in parts), name
        assert "site-packages" not in name, name
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
    expected = {name: str(path) for name, path in function_code_files().items()}
    for function in dev.of_type(FUNCTION):
        archive = function.inputs["code"]
        assert {name: asset.path for name, asset in archive.assets.items()} == expected, function.key
