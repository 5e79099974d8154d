"""One execution environment of a function, in its own process, as Lambda isolates it.

`ExecutionEnvironment` extracts the deployed zip (the archive moto stores) and starts
`bootstrap.py` in a new interpreter (`python -I -S`) with exactly the environment Lambda
gives the function: its declared variables, Lambda's runtime variables and the credentials
of an STS AssumeRole of its role. Importable there: the zip, the runtime's boto3 (a
directory of links to this venv's boto3 and its dependencies, as Lambda's runtime ships
boto3) and the standard library. The process's stdout and stderr are its log stream.

The process makes no network call. Its botocore hands every AWS call over the control
channel, and the environment makes it here with the credentials and retry settings the
function's client resolved, so the call recorder, the access enforcer, the size limits and
moto see it as they see any call; the response or error goes back and botocore in the
process returns or raises it. The context's remaining time and, with the simulated clock,
`time.sleep` are answered from the emulator's clock.

Differences from Lambda: an environment runs one invocation at a time and there is at most
one per function (no scale-out); memory is not limited; functions deployed with the same zip share one
extraction of it (`LambdaRuntime.code_dir`), where Python may write bytecode (Lambda's task root is
read-only); a run longer than the function's
timeout on the simulated clock is reported as `Task timed out` after the fact (its side
effects happened), while one that outlasts the timeout in real seconds is stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.response import StreamingBody

from .bootstrap import END_OF_OUTPUT

if TYPE_CHECKING:
    from moto.awslambda.models import LambdaFunction

    from .runtime import LambdaRuntime

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# What Lambda's Python runtime provides besides the standard library: boto3 and what it needs.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")
INIT_TIMEOUT_SECONDS = 60  # real seconds for the cold start (Lambda allows 10; a loaded CI machine is slower)
STOP_GRACE_SECONDS = 5
CALL_WORKERS = 64  # concurrent AWS calls one environment may have in flight (the handler's pool is ≤ 32)


@dataclass
class FunctionExtras:
    """What the program declared about a function that moto does not keep."""

    log_group: str | None = None
    log_format: str | None = None
    recursive_loop: str = "Terminate"  # AWS default for new functions


@dataclass
class InvocationResult:
    """The outcome of one invocation, as Lambda reports it."""

    request_id: str
    function_name: str
    ok: bool
    payload: Any  # the handler's return value, or Lambda's error object
    duration_ms: float
    cold_start: bool
    error_type: str | None = None
    error_message: str | None = None


def build_runtime_dir(target: Path) -> Path:
    """A directory holding links to exactly the runtime's packages (boto3 and its dependencies)."""
    target.mkdir(parents=True, exist_ok=True)
    for distribution_name in RUNTIME_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(distribution_name)
        tops = {
            Path(str(file)).parts[0]
            for file in distribution.files or []
            if not Path(str(file)).parts[0].endswith((".dist-info", ".egg-info"))
            and Path(str(file)).parts[0] not in ("..", "__pycache__")
        }
        for top in tops:
            link = target / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))
    return target


@dataclass(frozen=True)
class _ForwardedCall:
    """An AWS call as the environment's botocore would have made it (see bootstrap.CallForwarder)."""

    service: str
    operation: str
    params: dict[str, Any]
    credentials: tuple[str, str, str | None] | None
    region: str | None
    retries: dict[str, Any]


class _LogStream:
    """Reads the environment's stdout/stderr: lines become log events; end markers say output is complete."""

    def __init__(self, sock: socket.socket) -> None:
        self.lines: list[str] = []
        self._ended: set[str] = set()
        self._condition = threading.Condition()
        self._socket = sock
        self._reader = threading.Thread(target=self._read, name="environment-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self._socket.makefile("r", encoding="utf-8", errors="replace") as stream:
            for raw in stream:
                line = raw.rstrip("\n")
                with self._condition:
                    if line.startswith(END_OF_OUTPUT):
                        self._ended.add(line[len(END_OF_OUTPUT) :])
                        self._condition.notify_all()
                    elif line:
                        self.lines.append(line)
        with self._condition:
            self._ended.add("*")  # closed: nothing more will come
            self._condition.notify_all()

    def wait_for_end(self, tag: str, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: tag in self._ended or "*" in self._ended, timeout)

    def add(self, line: str) -> None:
        with self._condition:
            self.lines.append(line)

    def close(self, timeout: float) -> None:
        """Once the process has ended: let the reader take the last lines, then close the socket."""
        self._reader.join(timeout)
        self._socket.close()

    def drain(self) -> list[str]:
        with self._condition:
            lines, self.lines = self.lines, []
            return lines


def extracted_code_dir(root: Path, code: bytes) -> Path:
    """The directory under `root` holding the zip `code` extracted: once per content, shared by the
    environments of every function deployed with it (the stack's functions ship one package). Extracted
    beside it and renamed, so environments starting at once never see a partial tree."""
    directory = root / hashlib.sha256(code).hexdigest()[:16]
    if not directory.exists():
        partial = root / f"{directory.name}.{os.getpid()}.{threading.get_ident()}.partial"
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)
        try:
            partial.rename(directory)
        except OSError:  # another environment's extraction won
            shutil.rmtree(partial, ignore_errors=True)
    return directory


class ExecutionEnvironment:
    """One warm execution environment of a function: a process with its code, credentials and state."""

    def __init__(self, runtime: LambdaRuntime, function: LambdaFunction, extras: FunctionExtras) -> None:
        self.runtime = runtime
        self.function = function
        self.extras = extras
        self.name: str = function.function_name
        self.log_group = extras.log_group or f"/aws/lambda/{self.name}"
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{os.urandom(16).hex()}"
        self.log_stream_created = False
        self.credentials = runtime.credentials_for(self.name)
        self.code_dir = runtime.code_dir(function.code_bytes)
        self.init_error: tuple[str, str] | None = None
        self.alive = True
        self.configuration = configuration_of(function)  # what it was started with
        self._stopped = False
        self._messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._send_lock = threading.Lock()
        self._calls = ThreadPoolExecutor(CALL_WORKERS, thread_name_prefix=f"calls-{self.name[:20]}")
        self._start()

    # -- environment ------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The process environment Lambda gives this function."""
        env = {str(k): str(v) for k, v in (self.function.environment_vars or {}).items()}
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.function.run_time}",
                "AWS_REGION": self.runtime.region,
                "AWS_DEFAULT_REGION": self.runtime.region,
                "AWS_ACCESS_KEY_ID": self.credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": self.credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": self.credentials["SessionToken"],
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                "LAMBDA_RUNTIME_DIR": str(self.runtime.runtime_dir),
                "_HANDLER": self.function.handler or "",
                # Lambda sets en_US.UTF-8; a host without that locale would make Python coerce it and
                # add LC_CTYPE to the environment (PEP 538). C.UTF-8 exists everywhere.
                "LANG": "C.UTF-8",
                "TZ": ":UTC",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
            }
        )
        if self.extras.log_format == "JSON":
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        return env

    # -- process ----------------------------------------------------------------------
    def _start(self) -> None:
        """Start the process in the extracted zip; wait for its cold start (the handler's import)."""
        control, child_control = socket.socketpair()
        log, child_log = socket.socketpair()
        clock = "wall" if self.runtime.clock.realtime else "simulated"
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap
            [sys.executable, "-I", "-S", str(BOOTSTRAP), str(child_control.fileno()), clock],
            env=self.environment(),
            cwd=self.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=child_log.fileno(),
            stderr=child_log.fileno(),
            pass_fds=(child_control.fileno(),),
        )
        child_control.close()
        child_log.close()
        self._control = control  # kept to shut the channel down: closing alone does not wake a blocked read
        self._connection = Connection(os.dup(control.fileno()))
        self.output = _LogStream(log)
        threading.Thread(target=self._read_control, name=f"environment-{self.name[:20]}", daemon=True).start()
        message = self._next_message(INIT_TIMEOUT_SECONDS)
        self.output.wait_for_end("init", STOP_GRACE_SECONDS)
        if message is None:
            self.init_error = ("Sandbox.Timedout", f"INIT did not finish within {INIT_TIMEOUT_SECONDS} s")
            self.stop()
        elif message[0] == "exited":
            self.init_error = ("Runtime.ExitError", f"Runtime exited with error: exit status {message[1]}")
            self.alive = False
        else:
            self.init_error = message[1]
        self.runtime.flush_logs(self)

    @property
    def stale(self) -> bool:
        """Whether the function's configuration changed since this environment started."""
        return configuration_of(self.function) != self.configuration

    def stop(self) -> None:
        """End the process, as Lambda's shutdown does (a process that does not exit is killed); idempotent."""
        self.alive = False
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError):  # already gone
            self._send("stop")
        self._control.shutdown(socket.SHUT_RDWR)
        self._control.close()
        self._connection.close()
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close(STOP_GRACE_SECONDS)
        self._calls.shutdown(wait=False, cancel_futures=True)

    def _next_message(self, timeout: float) -> Any:
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def _send(self, *message: Any) -> None:
        with self._send_lock:
            self._connection.send(message)

    def _read_control(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                self._messages.put(("exited", self.process.wait()))
                return
            kind = message[0]
            if kind == "now":
                self._send("reply", message[1], "ok", self.runtime.clock.now())
            elif kind in ("call", "sleep"):
                self._calls.submit(self._answer, message)
            else:  # "ready", "done"
                self._messages.put(message)

    def _answer(self, message: Any) -> None:
        kind, request_id, *args = message
        try:
            if kind == "sleep":
                self.runtime.simulated_sleep(float(args[0]))
                value: Any = None
            else:
                value = self._call(_ForwardedCall(*args))
            reply: tuple[str, Any] = ("ok", value)
        except BotoCoreError as err:
            reply = ("raise", err)
        except Exception as err:
            reply = ("raise", RuntimeError(f"local run could not make the call: {type(err).__name__}: {err}"))
        with contextlib.suppress(OSError):  # the process is gone
            self._send("reply", request_id, *reply)

    def _call(self, call: _ForwardedCall) -> tuple[int, dict[str, Any], list[str]]:
        """Make the function's call with its credentials; return the HTTP status, parsed response and
        the names of streaming bodies (read here, streamed again in the process)."""
        client = self.runtime.environment_client(
            call.service, call.region or self.runtime.region, call.credentials, call.retries
        )
        method = {api: name for name, api in client.meta.method_to_api_mapping.items()}[call.operation]
        try:
            parsed = getattr(client, method)(**call.params)
        except ClientError as err:
            parsed = err.response
        status = int((parsed.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 200)
        if "Error" in parsed and status < 300:
            status = 400
        streamed = [name for name, value in parsed.items() if isinstance(value, StreamingBody)]
        for name in streamed:
            parsed[name] = parsed[name].read()
        return status, parsed, streamed

    # -- invoking ---------------------------------------------------------------------
    def invoke(self, event: Any, request_id: str, cold_start: bool) -> InvocationResult:
        clock = self.runtime.clock
        started = clock.now()
        if self.init_error or not self.alive:
            error_type, message = self.init_error or ("Runtime.ExitError", "the environment has exited")
            return self._failure(request_id, started, cold_start, error_type, message, [])
        timeout = float(self.function.timeout)
        fields = {
            "function_name": self.name,
            "function_version": "$LATEST",
            "invoked_function_arn": self.function.function_arn,
            "memory_limit_in_mb": int(self.function.memory_size),
            "aws_request_id": request_id,
            "log_group_name": self.log_group,
            "log_stream_name": self.log_stream,
            "deadline": started + timeout,
        }
        self.output.add(f"START RequestId: {request_id} Version: $LATEST")
        # Lambda hands the handler a freshly deserialised event.
        self._send("invoke", request_id, json.dumps(event), fields)
        message = self._next_message(timeout)
        if message is None:
            self.stop()
            error: tuple[str, str, list[str]] | None = (
                "Sandbox.Timedout",
                f"Task timed out after {timeout:.2f} seconds (real time)",
                [],
            )
            payload = None
        elif message[0] == "exited":
            self.alive = False
            error = ("Runtime.ExitError", f"Runtime exited with error: exit status {message[1]}", [])
            payload = None
        else:
            self.output.wait_for_end(request_id, STOP_GRACE_SECONDS)
            outcome = message[2]
            if outcome[0] == "ok":
                error, payload = None, json.loads(outcome[1])
            else:
                error, payload = (outcome[1], outcome[2], outcome[3]), None
        duration_ms = (clock.now() - started) * 1000
        self.output.add(f"END RequestId: {request_id}")
        self.output.add(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms")
        self.runtime.flush_logs(self)
        if error is None and duration_ms > timeout * 1000:
            error = ("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds", [])
        if error is not None:
            return self._failure(request_id, started, cold_start, error[0], error[1], error[2])
        return InvocationResult(request_id, self.name, True, payload, duration_ms, cold_start)

    def _failure(  # noqa: PLR0917 - the fields of Lambda's error object
        self,
        request_id: str,
        started: float,
        cold_start: bool,
        error_type: str,
        message: str,
        stack: list[str],
    ) -> InvocationResult:
        payload = {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": stack,
        }
        return InvocationResult(
            request_id,
            self.name,
            False,
            payload,
            (self.runtime.clock.now() - started) * 1000,
            cold_start,
            error_type,
            message,
        )


def configuration_of(function: LambdaFunction) -> tuple[Any, ...]:
    """What an execution environment is started from: a change to any of it needs a new environment."""
    return (
        tuple(sorted((function.environment_vars or {}).items())),
        function.memory_size,
        function.timeout,
        function.role,
        function.handler,
        function.run_time,
        function.code_sha_256,
    )


def make_environment_client(
    service: str, region: str, credentials: tuple[str, str, str | None] | None, retries: dict[str, Any]
) -> Any:
    """A client making calls as the function's client would: its credentials, region and retry settings."""
    access_key, secret_key, token = credentials or (None, None, None)
    config = Config(retries=retries or None)
    if credentials is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
        config=config,
    )
