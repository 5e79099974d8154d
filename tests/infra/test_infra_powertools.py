"""Powertools travels in the function zip: the release the handler is tested with, nothing resolved at
deploy time."""

import re
from pathlib import Path

import pytest
from stack_graph import FUNCTION

from infra import compute
from infra.compute import POWERTOOLS_VERSION, function_code_files, vendored_files

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_packaged_release_is_the_one_requirements_pin_for_deploys():
    pins = (PROJECT_DIR / "requirements.txt").read_text()
    pinned = re.search(r"^aws-lambda-powertools==(\S+)$", pins, re.MULTILINE)
    assert pinned, "requirements.txt (deploy time) must pin aws-lambda-powertools exactly"
    assert pinned.group(1) == POWERTOOLS_VERSION


def test_zip_carries_powertools_and_typing_extensions_at_its_root():
    files = function_code_files()
    assert "aws_lambda_powertools/logging/logger.py" in files
    assert "aws_lambda_powertools/utilities/batch/__init__.py" in files
    assert "aws_lambda_powertools/utilities/data_classes/s3_event.py" in files
    assert "typing_extensions.py" in files


def test_vendored_files_are_python_modules_only():
    for name in vendored_files("aws-lambda-powertools", POWERTOOLS_VERSION):
        assert name.endswith(".py") and "__pycache__" not in name and ".dist-info" not in name, name


def test_another_installed_powertools_version_stops_the_program_naming_the_fix(monkeypatch):
    monkeypatch.setitem(compute.VENDORED_DISTRIBUTIONS, "aws-lambda-powertools", "0.0.1")
    with pytest.raises(RuntimeError, match=r"tested with 0\.0\.1; run `make install`"):
        function_code_files()


def test_missing_distribution_stops_the_program_naming_the_fix():
    with pytest.raises(RuntimeError, match=r"not-a-distribution is not installed .* `make install`"):
        vendored_files("not-a-distribution", None)


def test_functions_use_no_layers_and_the_program_looks_up_no_parameter(dev):
    for function in dev.of_type(FUNCTION):
        assert not function.inputs.get("layers"), function.name
    assert "aws:ssm/getParameter:getParameter" not in dev.mocks.calls
