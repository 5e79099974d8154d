"""The Powertools layer: the release the handler is tested with, from its public SSM parameter."""

import re
from pathlib import Path

from infra.compute import POWERTOOLS_VERSION, powertools_layer_parameter
from tools.capture_mocks import GET_PARAMETER

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_layer_release_matches_the_powertools_version_the_tests_pin():
    pins = (PROJECT_DIR / "requirements-dev.txt").read_text()
    pinned = re.search(r"^aws-lambda-powertools==(\S+)$", pins, re.MULTILINE)
    assert pinned, "requirements-dev.txt must pin aws-lambda-powertools exactly"
    assert pinned.group(1) == POWERTOOLS_VERSION


def test_layer_parameter_names_the_release_for_python313_on_arm64():
    assert powertools_layer_parameter("3.37.0") == "/aws/service/powertools/python/arm64/python3.13/3.37.0"


def test_program_resolves_the_layer_from_the_release_parameter_once(dev):
    lookups = [args for token, args in dev.mocks.call_args if token == GET_PARAMETER]
    assert [args["name"] for args in lookups] == [powertools_layer_parameter()]
