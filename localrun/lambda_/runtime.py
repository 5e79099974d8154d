"""In-process Lambda runtime: every invocation moto routes to a function runs the real handler here.

moto would start a Docker container per invocation; instead `LambdaFunction.invoke`
is replaced, and the S3 / SNS / EventBridge deliveries (see `deliveries.py`) call
`LambdaRuntime.invoke_async`. What is emulated, and how it differs from AWS:

- **Execution environment** ("container"): created on a function's first invocation
  (cold start) from the code zip stored in moto — the archive the program deployed —
  extracted to a temp dir and imported as a private copy of its package, so each
  function has its own module state, like a separate process. While it imports and
  while it runs, `os.environ` holds the function's declared environment, Lambda's
  runtime variables and the credentials of an STS AssumeRole of the function's role
  (so every AWS call it makes carries that role's access key), and stdout/stderr go
  to the function's log group in moto, written with the role's credentials.
  Differences: one environment per function (no scale-out), invocations run one at
  a time, timeouts are checked after the fact (a run longer than the function's
  timeout is reported as `Task timed out`, but its side effects already happened),
  and memory is not limited.
  A handler module's `sleep` (the handler's own backoff) advances the emulator's clock.
- **Asynchronous invocations** (S3, SNS, EventBridge, `InvocationType=Event`) queue
  here and run when the emulator pumps. A function error is retried up to the
  function's `MaximumRetryAttempts` (default 2) after 1 and then 2 minutes of
  emulator time; past `MaximumEventAgeInSeconds`, or when retries are spent, the
  invocation record goes to the on-failure destination (SQS or SNS, sent with the
  function's role as Lambda does), else it is discarded (the stack declares no
  function dead-letter queue: its async routes use on-failure destinations).
  On-success destinations get the success record.
- **Recursive loop detection**: moto has no PutFunctionRecursionConfig; the declared
  setting is kept here. Lambda stops an invocation once the same event chain has
  looped through functions 16 times when the setting is `Terminate`; the local run
  tracks a chain depth through the asynchronous deliveries (S3, SNS, EventBridge)
  that a running handler causes and does the same (not through SQS).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as lambda_backend

from ..calls import CallRecorder
from ..clock import SimClock
from ..patches import Patch, PatchSet
from ..trace import Trace, objects_in_event

DEFAULT_MAX_RETRY_ATTEMPTS = 2  # Lambda's default for asynchronous invocations
DEFAULT_MAX_EVENT_AGE_SECONDS = 6 * 3600
ASYNC_RETRY_DELAYS_SECONDS = (60, 120)  # "one minute ... then two minutes" (Lambda async error handling docs)
RECURSION_LIMIT = 16  # Lambda stops a recursive loop after about 16 invocations in the same chain
HANDLER_PAUSE_REASON = "handler pause (its own backoff)"  # what a skipped handler pause is recorded as

# Environment variables that belong to a Lambda execution environment and must not
# leak in from the host process (or from another function).
_LAMBDA_SCOPED_PREFIXES = ("AWS_", "POWERTOOLS_", "_X_AMZN_", "_HANDLER", "LAMBDA_")


class LambdaEmulationError(RuntimeError):
    """The local run was asked to do something it does not emulate."""


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


@dataclass
class LambdaContext:
    """The `context` argument Lambda passes to a Python handler."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # emulator-clock time when the function times out
    now: Callable[[], float] = time.time  # the emulator's clock (simulated SDK backoff counts too)
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.now()) * 1000))


@dataclass
class AsyncInvocation:
    """An event in a function's asynchronous invocation queue."""

    request_id: str
    function_name: str
    event: Any
    source: str  # what delivered it, e.g. "sns:object-events-1a2b3c4"
    enqueued_at: float
    due_at: float
    chain_depth: int = 0
    attempts: int = 0
    last_result: InvocationResult | None = None


class _LogSink(io.TextIOBase):
    """stdout/stderr of an execution environment: lines become log events."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        self.lines.extend(line for line in complete if line)
        return len(text)

    def drain(self) -> list[str]:
        if self._partial:
            self.lines.append(self._partial)
            self._partial = ""
        lines, self.lines = self.lines, []
        return lines


class FunctionContainer:
    """One warm execution environment of a function: its code, credentials and module state."""

    def __init__(self, runtime: LambdaRuntime, function: LambdaFunction, extras: FunctionExtras) -> None:
        self.runtime = runtime
        self.function = function
        self.extras = extras
        self.name: str = function.function_name
        self.log_group = extras.log_group or f"/aws/lambda/{self.name}"
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.sink = _LogSink()
        self.credentials = runtime.credentials_for(self.name)
        self.code_dir = runtime.work_dir / self.name
        self.session: boto3.session.Session | None = None
        self.handler: Callable[[Any, Any], Any] | None = None
        self.init_error: tuple[str, str] | None = None
        self.log_stream_created = False
        self._load()

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
                "AWS_SECURITY_TOKEN": self.credentials["SessionToken"],
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                "_HANDLER": self.function.handler or "",
            }
        )
        if self.extras.log_format == "JSON":
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        return env

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Make the process look like this execution environment (env, default session, stdout)."""
        saved_env = dict(os.environ)
        saved_out, saved_err = sys.stdout, sys.stderr
        default_session = PatchSet([default_session_patch(self.session)])
        for key in list(os.environ):
            if key.startswith(_LAMBDA_SCOPED_PREFIXES) or key in self.runtime.declared_variable_names:
                del os.environ[key]
        os.environ.update(self.environment())
        default_session.install()
        sys.stdout = sys.stderr = self.sink
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved_out, saved_err
            if boto3.DEFAULT_SESSION is not None:
                self.session = boto3.DEFAULT_SESSION  # created lazily by the handler's first boto3.client()
            default_session.uninstall()
            os.environ.clear()
            os.environ.update(saved_env)

    # -- code -------------------------------------------------------------------------
    def _load(self) -> None:
        """Extract the deployed zip and import the handler module as this environment's own copy."""
        handler_path = self.function.handler or ""
        module_name, _, attribute = handler_path.rpartition(".")
        if not module_name:
            self.init_error = (
                "Runtime.MalformedHandlerName",
                f"Bad handler '{handler_path}': not enough values",
            )
            return
        shutil.rmtree(self.code_dir, ignore_errors=True)
        self.code_dir.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(self.function.code_bytes)) as archive:
            archive.extractall(self.code_dir)
        with self.active():
            try:
                module = _import_private_copy(module_name, self.code_dir)
                self.handler = getattr(module, attribute)
                if callable(getattr(module, "sleep", None)):
                    # The handler pauses through its module's `sleep` (its throttling backoff, bounded by
                    # the context's remaining time); here the pause advances the emulator's clock instead,
                    # as SdkBackoff does for botocore's. Pauses in parallel threads add up here, where in
                    # Lambda they overlap, so the local run gives up on throttling sooner, never later.
                    module.sleep = self.runtime.simulated_sleep
            except AttributeError:
                self.init_error = (
                    "Runtime.HandlerNotFound",
                    f"Handler '{attribute}' missing on module '{module_name}'",
                )
            except ImportError as err:
                self.init_error = (
                    "Runtime.ImportModuleError",
                    f"Unable to import module '{module_name}': {err}",
                )
            except Exception as err:
                self.init_error = (type(err).__name__, str(err))
                print(traceback.format_exc())
        self.runtime.flush_logs(self)

    def invoke(self, event: Any, request_id: str, cold_start: bool) -> InvocationResult:
        clock = self.runtime.clock
        started = clock.now()
        if self.init_error or self.handler is None:
            error_type, message = self.init_error or ("Runtime.Unknown", "handler not loaded")
            return self._failure(
                request_id=request_id,
                started=started,
                cold_start=cold_start,
                error_type=error_type,
                message=message,
                stack=[],
            )
        context = LambdaContext(
            function_name=self.name,
            function_version="$LATEST",
            invoked_function_arn=self.function.function_arn,
            memory_limit_in_mb=int(self.function.memory_size),
            aws_request_id=request_id,
            log_group_name=self.log_group,
            log_stream_name=self.log_stream,
            deadline=started + float(self.function.timeout),
            now=clock.now,
        )
        # Lambda hands the handler a freshly deserialised event.
        event = json.loads(json.dumps(event))
        with self.active():
            print(f"START RequestId: {request_id} Version: $LATEST")
            try:
                returned = self.handler(event, context)
                payload = json.loads(json.dumps(returned)) if returned is not None else None
                error = None
            except Exception as err:
                print(traceback.format_exc())
                error = (type(err).__name__, str(err), traceback.format_tb(err.__traceback__))
            duration_ms = (clock.now() - started) * 1000
            print(f"END RequestId: {request_id}")
            print(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms")
        self.runtime.flush_logs(self)
        if error is None and duration_ms > float(self.function.timeout) * 1000:
            error = (
                "Sandbox.Timedout",
                f"Task timed out after {float(self.function.timeout):.2f} seconds",
                [],
            )
        if error is not None:
            return self._failure(
                request_id=request_id,
                started=started,
                cold_start=cold_start,
                error_type=error[0],
                message=error[1],
                stack=error[2],
            )
        return InvocationResult(request_id, self.name, True, payload, duration_ms, cold_start)

    def _failure(
        self,
        *,
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


_IMPORT_LOCK = threading.RLock()


def _import_private_copy(module_name: str, code_dir: Path) -> Any:
    """Import `module_name` from `code_dir`, sharing no modules or loggers with the host or other functions.

    Each execution environment gets its own copies of the code's modules. Named loggers
    are process-global in Python, and Powertools reuses an already configured logger of
    the same service name — so loggers that another environment bound to its stdout are
    hidden while this one imports, and this one's loggers are taken out afterwards.
    """
    top = module_name.split(".", maxsplit=1)[0]

    def owned(name: str) -> bool:
        return name == top or name.startswith(top + ".")

    registry = logging.Logger.manager.loggerDict
    with _IMPORT_LOCK:
        host_modules = {name: sys.modules.pop(name) for name in list(sys.modules) if owned(name)}
        other_environments = {
            name: registry.pop(name) for name in list(registry) if _writes_to_sink(registry[name])
        }
        sys.path.insert(0, str(code_dir))
        importlib.invalidate_caches()
        try:
            return importlib.import_module(module_name)
        finally:
            for name in [n for n in sys.modules if owned(n)]:
                del sys.modules[name]  # the environment keeps its own references
            for name in [n for n in registry if _writes_to_sink(registry[n])]:
                del registry[name]  # likewise for its loggers
            registry.update(other_environments)
            sys.path.remove(str(code_dir))
            sys.modules.update(host_modules)


def default_session_patch(session: boto3.session.Session | None) -> Patch:
    """While an execution environment is active, boto3's default session is its own."""
    return Patch("boto3", "DEFAULT_SESSION", session, reason="the execution environment's default session")


def _shared_loaders(create_loader: Callable[..., Any]) -> Callable[..., Any]:
    """Every botocore session (each environment creates its own) would parse the same API model files
    again; in one process they can share the read-only parsed models."""
    shared: dict[Any, Any] = {}

    def create_shared_loader(search_path_string: Any = None) -> Any:
        if search_path_string not in shared:
            shared[search_path_string] = create_loader(search_path_string)
        return shared[search_path_string]

    return create_shared_loader


def _writes_to_sink(logger: Any) -> bool:
    return any(isinstance(getattr(h, "stream", None), _LogSink) for h in getattr(logger, "handlers", []))


class LambdaRuntime:
    """Runs invocations for every function in moto's Lambda backend of one account/region."""

    def __init__(
        self, account: str, region: str, clock: SimClock, recorder: CallRecorder, trace: Trace
    ) -> None:
        self.account = account
        self.region = region
        self.clock = clock
        self.recorder = recorder
        self.trace = trace
        self.extras: dict[str, FunctionExtras] = {}
        self.containers: dict[str, FunctionContainer] = {}
        self.queue: list[AsyncInvocation] = []
        self.results: list[InvocationResult] = []
        self.discarded: list[AsyncInvocation] = []
        self.declared_variable_names: set[str] = set()
        self.work_dir = Path(tempfile.mkdtemp(prefix="localrun-lambda-"))
        self._lock = threading.RLock()
        self._chain_depth = 0  # of the invocation running now (events it causes inherit depth + 1)
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    # -- lifecycle --------------------------------------------------------------------
    def patches(self) -> list[Patch]:
        runtime = self

        def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
            return runtime._invoke_api(function, body, request_headers, response_headers)

        return [
            Patch(
                "botocore.session",
                "create_loader",
                wrap=_shared_loaders,
                reason="every environment's botocore session shares the parsed API models",
            ),
            Patch(
                "moto.awslambda.models.LambdaFunction",
                "invoke",
                invoke,
                reason="the real handler runs in-process instead of moto's Docker container",
            ),
        ]

    def close(self) -> None:
        """Remove the extracted code of every execution environment."""
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def simulated_sleep(self, seconds: float) -> None:
        """A pause of the function's code: the emulator's clock skips it."""
        self.clock.advance(seconds, HANDLER_PAUSE_REASON)

    def declare(self, function_name: str, extras: FunctionExtras) -> None:
        self.extras[function_name] = extras

    def function(self, name_or_arn: str) -> LambdaFunction:
        return lambda_backend(self.account, self.region).get_function(name_or_arn)

    # -- credentials and logs ---------------------------------------------------------
    def credentials_for(self, function_name: str) -> dict[str, str]:
        """Credentials of an STS AssumeRole of the function's role in moto, as Lambda obtains them."""
        with self._lock:
            if function_name not in self._credentials:
                role_arn = self.function(function_name).role
                sts = boto3.client("sts", region_name=self.region)
                credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=function_name[:64])[
                    "Credentials"
                ]
                self.recorder.register_function_key(credentials["AccessKeyId"], function_name)
                self._credentials[function_name] = credentials
            return self._credentials[function_name]

    def role_client(self, function_name: str, service: str) -> Any:
        """A client with the function's role, for calls Lambda makes on the function's behalf."""
        with self._lock:
            if (function_name, service) not in self._clients:
                c = self.credentials_for(function_name)
                self._clients[(function_name, service)] = boto3.client(
                    service,
                    region_name=self.region,
                    aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"],
                    aws_session_token=c["SessionToken"],
                )
            return self._clients[(function_name, service)]

    def flush_logs(self, container: FunctionContainer) -> None:
        """Write the environment's output to its log group, with the role's credentials (as Lambda does)."""
        lines = container.sink.drain()
        if not lines:
            return
        logs = self.role_client(container.name, "logs")
        with self.recorder.acting_for_function():
            try:
                if not container.log_stream_created:
                    logs.create_log_stream(
                        logGroupName=container.log_group, logStreamName=container.log_stream
                    )
                    container.log_stream_created = True
                now_ms = int(time.time() * 1000)
                logs.put_log_events(
                    logGroupName=container.log_group,
                    logStreamName=container.log_stream,
                    logEvents=[{"timestamp": now_ms, "message": line} for line in lines],
                )
            except logs.exceptions.ClientError as err:
                # Lambda drops logs it cannot write; say so instead of failing the invocation.
                self.trace.record([], f"logs:{container.log_group}", f"log lines lost: {err}")

    def log_lines(self, function_name: str) -> list[str]:
        """Every log line the function wrote (read back from moto's CloudWatch Logs)."""
        container = self.containers.get(function_name)
        if container is None or not container.log_stream_created:
            return []
        logs = boto3.client("logs", region_name=self.region)
        events = logs.get_log_events(logGroupName=container.log_group, logStreamName=container.log_stream)
        return [e["message"] for e in events["events"]]

    # -- invoking ---------------------------------------------------------------------
    def invoke_sync(
        self, function_name: str, event: Any, *, source: str, attempt: int = 1
    ) -> InvocationResult:
        """Run one invocation now (RequestResponse), as the event source mapping and the Invoke API do."""
        with self._lock:
            function = self.function(function_name)
            name = function.function_name
            cold_start = name not in self.containers
            if cold_start:
                self.containers[name] = FunctionContainer(
                    self, function, self.extras.get(name, FunctionExtras())
                )
            request_id = str(uuid.uuid4())
            self.trace.begin_invocation(name, event, source, attempt)
            result = self.containers[name].invoke(event, request_id, cold_start)
            self.trace.end_invocation(
                "ok" if result.ok else f"error {result.error_type}: {result.error_message}"
            )
            self.results.append(result)
            return result

    def invoke_async(self, function_name: str, event: Any, *, source: str) -> str:
        """Queue an event for asynchronous invocation (InvocationType=Event); return its request id."""
        now = self.clock.now()
        invocation = AsyncInvocation(
            request_id=str(uuid.uuid4()),
            function_name=self.function(function_name).function_name,
            event=event,
            source=source,
            enqueued_at=now,
            due_at=now,
            chain_depth=self._chain_depth + 1,
        )
        with self._lock:
            self.queue.append(invocation)
        return invocation.request_id

    def next_due(self) -> float | None:
        with self._lock:
            return min((i.due_at for i in self.queue), default=None)

    def run_due(self, limit: int | None = None) -> bool:
        """Run queued asynchronous invocations that are due (at most `limit`); True if any ran."""
        ran = 0
        while limit is None or ran < limit:
            with self._lock:
                now = self.clock.now()
                due = [i for i in self.queue if i.due_at <= now]
                if not due:
                    break
                invocation = min(due, key=lambda i: (i.due_at, i.enqueued_at))
                self.queue.remove(invocation)
            self._run_async(invocation)
            ran += 1
        return ran > 0

    def _run_async(self, invocation: AsyncInvocation) -> None:
        extras = self.extras.get(invocation.function_name, FunctionExtras())
        if invocation.chain_depth > RECURSION_LIMIT and extras.recursive_loop == "Terminate":
            self.trace.record(
                self.trace_objects(invocation),
                f"lambda:{invocation.function_name}",
                f"recursive loop detected after {RECURSION_LIMIT} invocations: stopped",
            )
            self._fail_permanently(invocation, "RecursiveInvocationException")
            return
        invocation.attempts += 1
        previous_depth, self._chain_depth = self._chain_depth, invocation.chain_depth
        try:
            result = self.invoke_sync(
                invocation.function_name,
                invocation.event,
                source=invocation.source,
                attempt=invocation.attempts,
            )
        finally:
            self._chain_depth = previous_depth
        invocation.last_result = result
        config = self._event_invoke_config(invocation.function_name)
        if result.ok:
            destination = config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")
            if destination:
                self._send_record(invocation, destination, "Success")
            return
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS))
        if invocation.attempts > max_retries:
            self._fail_permanently(invocation, "RetriesExhausted")
            return
        delay = ASYNC_RETRY_DELAYS_SECONDS[min(invocation.attempts, len(ASYNC_RETRY_DELAYS_SECONDS)) - 1]
        retry_at = self.clock.now() + delay
        if retry_at - invocation.enqueued_at > max_age:
            self._fail_permanently(invocation, "EventAgeExceeded")
            return
        invocation.due_at = retry_at
        with self._lock:
            self.queue.append(invocation)

    def _event_invoke_config(self, function_name: str) -> dict[str, Any]:
        configs = self.function(function_name).event_invoke_config
        return dict(configs[-1].config) if configs else {}

    def _fail_permanently(self, invocation: AsyncInvocation, condition: str) -> None:
        config = self._event_invoke_config(invocation.function_name)
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            self._send_record(invocation, destination, condition)
        else:
            self.discarded.append(invocation)
            self.trace.record(
                self.trace_objects(invocation),
                f"lambda:{invocation.function_name}",
                f"event discarded ({condition}, no on-failure destination)",
            )

    @staticmethod
    def trace_objects(invocation: AsyncInvocation) -> list[str]:
        return objects_in_event(invocation.event)

    def invocation_record(self, invocation: AsyncInvocation, condition: str) -> dict[str, Any]:
        """The record Lambda sends to an asynchronous invocation's destination."""
        result = invocation.last_result
        function = self.function(invocation.function_name)
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self.clock.now(), UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{function.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": invocation.attempts,
            },
            "requestPayload": invocation.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": result.payload if result else None,
        }
        if result is not None and not result.ok:
            record["responseContext"]["functionError"] = "Unhandled"
        return record

    def _send_record(self, invocation: AsyncInvocation, destination: str, condition: str) -> None:
        body = json.dumps(self.invocation_record(invocation, condition))
        step = self._deliver_as_function(invocation.function_name, destination, body)
        label = (
            "on-success destination" if condition == "Success" else f"on-failure destination ({condition})"
        )
        self.trace.record(self.trace_objects(invocation), step, label)

    def _deliver_as_function(self, function_name: str, target_arn: str, body: str) -> str:
        """Send `body` to an SQS queue or SNS topic with the function's role, as Lambda does."""
        service = target_arn.split(":")[2]
        with self.recorder.acting_for_function():
            if service == "sqs":
                self.role_client(function_name, "sqs").send_message(
                    QueueUrl=queue_url_from_arn(target_arn), MessageBody=body
                )
            elif service == "sns":
                self.role_client(function_name, "sns").publish(TopicArn=target_arn, Message=body)
            else:
                raise LambdaEmulationError(
                    f"destination {target_arn}: the local run sends asynchronous invocation records "
                    "to SQS and SNS only"
                )
        return f"{service}:{target_arn.rsplit(':', 1)[-1]}"

    # -- moto's Invoke API --------------------------------------------------------------
    def _invoke_api(
        self, function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any
    ) -> Any:
        """moto's `LambdaFunction.invoke`: the Invoke API and any moto path we did not redirect."""
        headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        event = json.loads(body) if isinstance(body, (str, bytes)) and body else (body or {})
        if invocation_type == "DryRun":
            return ""
        if invocation_type == "Event":
            self.invoke_async(function.function_name, event, source="lambda:Invoke")
            return ""
        result = self.invoke_sync(function.function_name, event, source="lambda:Invoke")
        if not result.ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(result.payload).encode("utf-8")


def queue_url_from_arn(queue_arn: str) -> str:
    """The queue URL moto (and AWS) use for a queue ARN, without a GetQueueUrl call."""
    _, _, _, region, account, name = queue_arn.split(":")
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
