"""An execution environment is a process of its own, isolated the way Lambda isolates one.

A probe handler (a zip built here, not the stack's) reports what it sees from inside: its environment,
what it can import, and what its AWS calls, pauses and exit do.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localrun.clock import SimClock
from localrun.lambda_.environment import (
    ExecutionEnvironment,
    FunctionExtras,
    build_runtime_dir,
    extracted_code_dir,
    make_environment_client,
)

REGION = "us-east-1"

PROBE = """
import importlib, json, os, sys, time

def handler(event, context):
    if event.get("spin"):
        while True:
            pass
    if event.get("exit") is not None:
        os._exit(event["exit"])
    if event.get("print"):
        for line in event["print"]:
            print(line)
    if event.get("pause"):
        before = context.get_remaining_time_in_millis()
        time.sleep(event["pause"])
        return {"before": before, "after": context.get_remaining_time_in_millis()}
    if event.get("bucket"):
        import boto3
        s3 = boto3.client("s3", config=__import__("botocore.config").config.Config(
            retries={"mode": "standard", "total_max_attempts": 2}))
        s3.create_bucket(Bucket=event["bucket"])
        s3.put_object(Bucket=event["bucket"], Key="k", Body=b"payload")
        return {"body": s3.get_object(Bucket=event["bucket"], Key="k")["Body"].read().decode()}
    if event.get("missing_bucket"):
        import boto3
        try:
            boto3.client("s3").head_bucket(Bucket=event["missing_bucket"])
        except Exception as err:
            return {"error": type(err).__name__, "code": err.response["Error"]["Code"]}
    importable = {}
    for name in ("boto3", "moto", "pulumi", "pytest", "localrun", "infra", "flask"):
        try:
            importlib.import_module(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    import boto3
    return {"env": dict(os.environ), "pid": os.getpid(), "importable": importable, "boto3": boto3.__file__,
            "path": sys.path}
"""


@dataclass
class ProbeFunction:
    """What an execution environment reads of moto's LambdaFunction."""

    code_bytes: bytes
    handler: str = "probe.handler"
    function_name: str = "probe-fn"
    function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:probe-fn"
    environment_vars: dict[str, str] = field(default_factory=lambda: {"ROUTE_NAME": "probe", "EMPTY": ""})
    memory_size: int = 512
    run_time: str = "python3.13"
    timeout: int = 300
    role: str = "arn:aws:iam::123456789012:role/probe-role"
    code_sha_256: str = "probe-code"


@dataclass
class ProbeRuntime:
    """The parts of LambdaRuntime an environment uses; calls go to moto with the forwarded settings."""

    work_dir: Path
    clock: SimClock = field(default_factory=SimClock)
    region: str = REGION
    logged: list[str] = field(default_factory=list)
    clients_made: list[tuple[Any, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runtime_dir = build_runtime_dir(self.work_dir / ".runtime")

    def code_dir(self, code: bytes) -> Path:
        return extracted_code_dir(self.work_dir / "code", code)

    def credentials_for(self, _function_name: str) -> dict[str, str]:
        return {"AccessKeyId": "ASIAPROBE", "SecretAccessKey": "secret", "SessionToken": "token"}

    def flush_logs(self, environment: ExecutionEnvironment) -> None:
        self.logged.extend(environment.output.drain())

    def environment_client(self, service: str, region: str, credentials: Any, retries: dict[str, Any]) -> Any:
        self.clients_made.append((service, region, credentials, retries))
        return make_environment_client(service, region, credentials, retries)

    def simulated_sleep(self, seconds: float) -> None:
        self.clock.advance(seconds, "handler pause")


def probe_zip(source: str = PROBE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", source)
    return buffer.getvalue()


@pytest.fixture
def runtime(tmp_path: Path) -> ProbeRuntime:
    return ProbeRuntime(tmp_path)


@pytest.fixture
def environment(runtime: ProbeRuntime):
    with mock_aws():
        env = ExecutionEnvironment(runtime, ProbeFunction(probe_zip()), FunctionExtras())  # type: ignore[arg-type]
        yield env
        env.stop()


def invoke(environment: ExecutionEnvironment, event: dict[str, Any]) -> Any:
    result = environment.invoke(event, "request-1", cold_start=False)
    assert result.ok, result.payload
    return result.payload


def test_the_environment_is_a_process_of_its_own(environment):
    assert invoke(environment, {})["pid"] not in (os.getpid(), None)


def test_an_environment_is_stale_once_its_functions_configuration_changes(environment):
    assert environment.stale is False
    environment.function.environment_vars = {**environment.function.environment_vars, "MODEL_VERSION": "v2"}
    assert environment.stale is True


def test_an_environment_keeps_the_variables_it_started_with_after_an_update(environment):
    environment.function.environment_vars = {"ROUTE_NAME": "changed"}
    assert invoke(environment, {})["env"]["ROUTE_NAME"] == "probe"  # a new environment would see the change


def test_the_process_has_exactly_the_functions_and_lambdas_variables(environment):
    assert invoke(environment, {})["env"] == environment.environment()


def test_the_process_carries_the_roles_credentials_and_none_of_the_hosts(environment, monkeypatch):
    seen = invoke(environment, {})["env"]
    assert (seen["AWS_ACCESS_KEY_ID"], seen["AWS_SESSION_TOKEN"]) == ("ASIAPROBE", "token")
    assert not {"VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "HOME"} & set(seen)


def test_only_the_zip_the_runtimes_boto3_and_the_standard_library_are_importable(environment, runtime):
    seen = invoke(environment, {})
    assert seen["importable"] == {
        "boto3": True,
        "moto": False,
        "pulumi": False,
        "pytest": False,
        "localrun": False,
        "infra": False,
        "flask": False,
    }
    assert seen["boto3"].startswith(str(runtime.runtime_dir))
    assert seen["path"][:2] == [str(environment.code_dir), str(runtime.runtime_dir)]


def test_aws_calls_are_made_by_the_emulator_with_the_clients_credentials_and_retries(environment, runtime):
    assert invoke(environment, {"bucket": "probe-bucket"}) == {"body": "payload"}
    assert (
        boto3.client("s3", region_name=REGION).head_object(Bucket="probe-bucket", Key="k")["ContentLength"]
        == 7
    )
    assert (
        "s3",
        REGION,
        ("ASIAPROBE", "secret", "token"),
        {"mode": "standard", "total_max_attempts": 2},
    ) in (runtime.clients_made)


def test_a_service_error_is_raised_in_the_process_as_the_modelled_client_error(environment):
    assert invoke(environment, {"missing_bucket": "no-such-bucket"}) == {
        "error": "ClientError",
        "code": "404",
    }


def test_a_pause_of_the_function_advances_the_simulated_clock_and_its_remaining_time(environment, runtime):
    seen = invoke(environment, {"pause": 120})
    assert runtime.clock.skipped_seconds == pytest.approx(120)
    assert seen["before"] - seen["after"] == pytest.approx(120_000, abs=2_000)


def test_output_becomes_log_lines_between_start_and_end_in_order(environment, runtime):
    invoke(environment, {"print": ["first", "second"]})
    invocation = runtime.logged[runtime.logged.index("START RequestId: request-1 Version: $LATEST") :]
    assert invocation[1:3] == ["first", "second"]
    assert invocation[3] == "END RequestId: request-1"
    assert invocation[4].startswith("REPORT RequestId: request-1")


def test_a_process_that_exits_fails_the_invocation_and_the_environment_is_dead(environment):
    result = environment.invoke({"exit": 3}, "request-2", cold_start=False)
    assert (result.ok, result.error_type, environment.alive) == (False, "Runtime.ExitError", False)
    assert "exit status 3" in (result.error_message or "")


def test_a_handler_module_that_cannot_be_imported_fails_every_invocation_as_lambda_reports_it(runtime):
    function = ProbeFunction(probe_zip(), handler="missing_module.handler")
    with mock_aws():
        env = ExecutionEnvironment(runtime, function, FunctionExtras())  # type: ignore[arg-type]
        try:
            result = env.invoke({}, "request-3", cold_start=True)
        finally:
            env.stop()
    assert (result.ok, result.error_type) == (False, "Runtime.ImportModuleError")
    assert "No module named 'missing_module'" in (result.error_message or "")


def test_an_error_raised_at_import_is_logged_and_fails_the_invocation(runtime):
    function = ProbeFunction(probe_zip("raise ValueError('bad setting')\n"))
    with mock_aws():
        env = ExecutionEnvironment(runtime, function, FunctionExtras())  # type: ignore[arg-type]
        try:
            result = env.invoke({}, "request-4", cold_start=True)
        finally:
            env.stop()
    assert (result.error_type, result.error_message) == ("ValueError", "bad setting")
    assert any("ValueError: bad setting" in line for line in runtime.logged)


def test_an_invocation_that_outlasts_the_timeout_in_real_seconds_is_stopped(runtime):
    function = ProbeFunction(probe_zip(), timeout=1)
    with mock_aws():
        env = ExecutionEnvironment(runtime, function, FunctionExtras())  # type: ignore[arg-type]
        result = env.invoke({"spin": True}, "request-5", cold_start=False)
        env.stop()  # a second stop changes nothing
    assert (result.ok, result.error_type, env.alive) == (False, "Sandbox.Timedout", False)
    assert env.process.returncode is not None
