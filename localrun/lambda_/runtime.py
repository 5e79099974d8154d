"""Lambda in the local run: every invocation moto routes to a function runs the real handler here.

moto would start a Docker container per invocation; instead `LambdaFunction.invoke`
is replaced, and the S3 / SNS / EventBridge deliveries (see `deliveries.py`) call
`LambdaRuntime.invoke_async`. What is emulated, and how it differs from AWS:

- **Execution environment**: created on a function's first invocation (cold start), a
  process of its own started from the code zip stored in moto — the archive the program
  deployed — with exactly the function's environment and its role's credentials; see
  `environment.py`. One environment per function (no scale-out), invocations run one
  at a time. An environment whose process exits is replaced at the next invocation, and so
  is one whose function's configuration (variables, memory, timeout, role, handler, code)
  changed since it started: it is stopped, and the next invocation cold-starts.
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

import atexit
import json
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as lambda_backend

from ..calls import CallRecorder
from ..clock import SimClock
from ..patches import Patch
from ..trace import Trace, objects_in_event
from .environment import (
    ExecutionEnvironment,
    FunctionExtras,
    InvocationResult,
    build_runtime_dir,
    extracted_code_dir,
    make_environment_client,
)

__all__ = ["FunctionExtras", "InvocationResult", "LambdaEmulationError", "LambdaRuntime"]

DEFAULT_MAX_RETRY_ATTEMPTS = 2  # Lambda's default for asynchronous invocations
DEFAULT_MAX_EVENT_AGE_SECONDS = 6 * 3600
ASYNC_RETRY_DELAYS_SECONDS = (60, 120)  # "one minute ... then two minutes" (Lambda async error handling docs)
RECURSION_LIMIT = 16  # Lambda stops a recursive loop after about 16 invocations in the same chain
HANDLER_PAUSE_REASON = "handler pause (its own backoff)"  # what a skipped handler pause is recorded as

# Environment variables that belong to a Lambda execution environment and must not
# leak in from the host process (or from another function).


class LambdaEmulationError(RuntimeError):
    """The local run was asked to do something it does not emulate."""


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


_code_root: Path | None = None
_code_root_lock = threading.Lock()


def _shared_code_root() -> Path:
    """This process's directory of extracted deployment zips, removed when it exits."""
    global _code_root  # noqa: PLW0603 - one per process
    with _code_root_lock:
        if _code_root is None:
            _code_root = Path(tempfile.mkdtemp(prefix="localrun-code-"))
            atexit.register(shutil.rmtree, _code_root, True)
        return _code_root


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
        self.environments: dict[str, ExecutionEnvironment] = {}
        self.queue: list[AsyncInvocation] = []
        self.results: list[InvocationResult] = []
        self.discarded: list[AsyncInvocation] = []
        self.work_dir = Path(tempfile.mkdtemp(prefix="localrun-lambda-"))
        self.runtime_dir = build_runtime_dir(self.work_dir / ".runtime")
        # Invocations run one at a time (`_lock`); the calls an environment makes meanwhile run on other
        # threads and may queue events or need credentials and clients, which have locks of their own.
        self._lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._cache_lock = threading.RLock()
        self._chain_depth = 0  # of the invocation running now (events it causes inherit depth + 1)
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._environment_clients: dict[tuple[Any, ...], Any] = {}

    # -- lifecycle --------------------------------------------------------------------
    def patches(self) -> list[Patch]:
        runtime = self

        def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
            return runtime._invoke_api(function, body, request_headers, response_headers)

        return [
            Patch(
                "moto.awslambda.models.LambdaFunction",
                "invoke",
                invoke,
                reason="the real handler runs in its own process here instead of moto's Docker container",
            ),
        ]

    def close(self) -> None:
        """Stop every execution environment and remove their extracted code."""
        for environment in self.environments.values():
            environment.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def stop_stale_environments(self) -> list[str]:
        """Stop the warm environments whose function's configuration changed since they started (as Lambda
        retires them after UpdateFunctionConfiguration); return the functions' names."""
        with self._lock:
            stale = [name for name, env in self.environments.items() if env.alive and env.stale]
            for name in stale:
                self.environments[name].stop()
            return stale

    def simulated_sleep(self, seconds: float) -> None:
        """A pause of the function's code: the emulator's clock skips it."""
        self.clock.advance(seconds, HANDLER_PAUSE_REASON)

    def declare(self, function_name: str, extras: FunctionExtras) -> None:
        self.extras[function_name] = extras

    def function(self, name_or_arn: str) -> LambdaFunction:
        return lambda_backend(self.account, self.region).get_function(name_or_arn)

    # -- credentials and logs ---------------------------------------------------------
    def code_dir(self, code: bytes) -> Path:
        """Where the zip `code` is extracted: once per content and process (see `extracted_code_dir`), so
        the deployments of one test process share an extraction and the bytecode compiled in it."""
        return extracted_code_dir(_shared_code_root(), code)

    def credentials_for(self, function_name: str) -> dict[str, str]:
        """Credentials of an STS AssumeRole of the function's role in moto, as Lambda obtains them."""
        with self._cache_lock:
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
        with self._cache_lock:
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

    def environment_client(
        self,
        service: str,
        region: str,
        credentials: tuple[str, str, str | None] | None,
        retries: dict[str, Any],
    ) -> Any:
        """A client that makes an environment's calls as its own client would (one per settings)."""
        key = (service, region, credentials, tuple(sorted(retries.items())))
        with self._cache_lock:
            if key not in self._environment_clients:
                self._environment_clients[key] = make_environment_client(
                    service, region, credentials, retries
                )
            return self._environment_clients[key]

    def flush_logs(self, environment: ExecutionEnvironment) -> None:
        """Write the environment's output to its log group, with the role's credentials (as Lambda does)."""
        lines = environment.output.drain()
        if not lines:
            return
        logs = self.role_client(environment.name, "logs")
        with self.recorder.acting_for_function():
            try:
                if not environment.log_stream_created:
                    logs.create_log_stream(
                        logGroupName=environment.log_group, logStreamName=environment.log_stream
                    )
                    environment.log_stream_created = True
                now_ms = int(time.time() * 1000)
                logs.put_log_events(
                    logGroupName=environment.log_group,
                    logStreamName=environment.log_stream,
                    logEvents=[{"timestamp": now_ms, "message": line} for line in lines],
                )
            except logs.exceptions.ClientError as err:
                # Lambda drops logs it cannot write; say so instead of failing the invocation.
                self.trace.record([], f"logs:{environment.log_group}", f"log lines lost: {err}")

    def log_lines(self, function_name: str) -> list[str]:
        """Every log line the function wrote (read back from moto's CloudWatch Logs)."""
        environment = self.environments.get(function_name)
        if environment is None or not environment.log_stream_created:
            return []
        logs = boto3.client("logs", region_name=self.region)
        events = logs.get_log_events(logGroupName=environment.log_group, logStreamName=environment.log_stream)
        return [e["message"] for e in events["events"]]

    # -- invoking ---------------------------------------------------------------------
    def invoke_sync(
        self, function_name: str, event: Any, *, source: str, attempt: int = 1
    ) -> InvocationResult:
        """Run one invocation now (RequestResponse), as the event source mapping and the Invoke API do."""
        with self._lock:
            function = self.function(function_name)
            name = function.function_name
            environment = self.environments.get(name)
            # After an update of the function's configuration Lambda runs no invocation in an environment of
            # the previous configuration: the next one starts a new environment.
            cold_start = environment is None or not environment.alive or environment.stale
            if cold_start:
                if environment is not None:
                    environment.stop()
                environment = ExecutionEnvironment(self, function, self.extras.get(name, FunctionExtras()))
                self.environments[name] = environment
            request_id = str(uuid.uuid4())
            self.trace.begin_invocation(name, event, source, attempt)
            result = environment.invoke(event, request_id, cold_start)
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
        with self._queue_lock:
            self.queue.append(invocation)
        return invocation.request_id

    def next_due(self) -> float | None:
        with self._queue_lock:
            return min((i.due_at for i in self.queue), default=None)

    def run_due(self, limit: int | None = None) -> bool:
        """Run queued asynchronous invocations that are due (at most `limit`); True if any ran."""
        ran = 0
        while limit is None or ran < limit:
            with self._queue_lock:
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
        with self._queue_lock:
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
