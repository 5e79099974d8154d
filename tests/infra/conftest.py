"""The real program, run once per session for the dev stack and once for a production-shaped config."""

from __future__ import annotations

import pytest
from stack_graph import DEV_CONFIG, PRODLIKE_CONFIG, StackGraph

from localrun.program import run_program
from tools.capture_mocks import CaptureMocks


@pytest.fixture(scope="session")
def dev() -> StackGraph:
    mocks = CaptureMocks(region="us-east-1")
    return StackGraph(run_program(mocks, stack="dev", config_file=DEV_CONFIG), mocks)


@pytest.fixture(scope="session")
def prod() -> StackGraph:
    mocks = CaptureMocks(region="eu-west-1")
    return StackGraph(run_program(mocks, stack="prod", config_file=PRODLIKE_CONFIG), mocks)
