"""The runtime inside one execution environment's own process: the local run's stand-in for Lambda's
runtime interface client.

Started by `environment.py` as `python -I -S bootstrap.py <control-fd> <clock>`: isolated mode and no
`site`, so nothing of the host's interpreter leaks in. The process has exactly the environment Lambda
gives the function (its variables, the runtime's, its role's credentials); `sys.path` is the deployed
zip (`LAMBDA_TASK_ROOT`), then the runtime's boto3 (`LAMBDA_RUNTIME_DIR`), then the standard library,
as in Lambda; stdout and stderr are the environment's log stream.

It imports the handler (the cold start), then runs each invocation the emulator sends over the control
channel. Every AWS call the handler makes is answered by the emulator: a `before-call` hook sends the
operation, its parameters, the credentials botocore resolved and the client's retry settings, and the
emulator makes that call with them (recorded, access-checked and size-checked there) and sends back the
response or the error, which botocore here returns or raises as usual. With the simulated clock, the
context's remaining time and `time.sleep` follow the emulator's clock.

Only the standard library and the runtime's botocore are imported here, and `../patches.py` by path.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import itertools
import json
import os
import queue
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

# Marks the end of an invocation's output on the log stream, so the emulator knows it has every line.
END_OF_OUTPUT = "\x1e"


class Channel:
    """Messages to and from the emulator: requests from any thread, each waiting for its own reply."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.SimpleQueue[Any]] = {}
        self.invocations: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="runtime-channel", daemon=True).start()

    def send(self, *message: Any) -> None:
        with self._send_lock:
            self._connection.send(message)

    def request(self, kind: str, *args: Any) -> Any:
        """Ask the emulator and wait for its answer: ("ok", value) or ("raise", exception)."""
        request_id = next(self._ids)
        reply: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._waiting[request_id] = reply
        self.send(kind, request_id, *args)
        outcome, value = reply.get()
        if outcome == "raise":
            raise value
        return value

    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                os._exit(0)  # the emulator is gone: so is this environment
            if message[0] == "stop":
                os._exit(0)  # Lambda's shutdown: nothing after it runs
            if message[0] == "reply":
                _, request_id, outcome, value = message
                self._waiting.pop(request_id).put((outcome, value))
            else:
                self.invocations.put(message)


class LambdaContext:
    """The `context` argument Lambda passes to a Python handler."""

    def __init__(self, channel: Channel, fields: dict[str, Any]) -> None:
        self._channel = channel
        self._deadline: float = fields["deadline"]
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields["function_version"]
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = fields["memory_limit_in_mb"]
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._channel.request("now")) * 1000))


class CallForwarder:
    """botocore handlers that hand every API call to the emulator instead of sending it."""

    _PARAMS = "localrun.bootstrap.params"

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def handlers(self) -> list[tuple[str, Any]]:
        return [("before-parameter-build", self._remember_params), ("before-call", self._forward)]

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[self._PARAMS] = {name: _readable(value) for name, value in params.items()}

    def _forward(self, model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse  # noqa: PLC0415 - botocore is imported by now
        from botocore.response import StreamingBody  # noqa: PLC0415

        credentials = getattr(request_signer, "_credentials", None)
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
        config = context.get("client_config")
        status, parsed, streamed = self._channel.request(
            "call",
            model.service_model.service_name,
            model.name,
            context.get(self._PARAMS, {}),
            (frozen.access_key, frozen.secret_key, frozen.token) if frozen is not None else None,
            context.get("client_region"),
            dict(config.retries or {}) if config is not None else {},
        )
        for name in streamed:  # response bodies the emulator read, streamed again here
            parsed[name] = StreamingBody(io.BytesIO(parsed[name]), len(parsed[name]))
        headers = (parsed.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        return AWSResponse("", status, headers, None), parsed


def _readable(value: Any) -> Any:
    """A parameter as bytes when it is a file-like body, which cannot cross the channel."""
    read = getattr(value, "read", None)
    return read() if callable(read) else value


def _load_patches() -> Any:
    """The local run's patch registry, loaded by path: this process has no localrun on its sys.path."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "patches.py")
    spec = importlib.util.spec_from_file_location("_localrun_patches", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def main() -> None:
    control_fd, clock = int(sys.argv[1]), sys.argv[2]
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    task_root, runtime_dir = os.environ["LAMBDA_TASK_ROOT"], os.environ["LAMBDA_RUNTIME_DIR"]
    sys.path[:0] = [task_root, runtime_dir]
    os.chdir(task_root)
    channel = Channel(Connection(control_fd))

    import botocore.handlers  # noqa: PLC0415 - importable only once sys.path holds the runtime

    patches = _load_patches()
    forwarder = CallForwarder(channel)
    installed = [
        patches.Patch(
            botocore.handlers,
            "BUILTIN_HANDLERS",
            wrap=lambda builtin: [*forwarder.handlers(), *builtin],
            reason="every AWS call of this environment is made by the emulator, with its credentials",
        )
    ]
    if clock == "simulated":
        installed.append(
            patches.Patch(
                time,
                "sleep",
                lambda seconds: channel.request("sleep", seconds),
                reason="a pause of the function's code advances the emulator's simulated clock",
            )
        )
    patches.PatchSet(installed).install()

    module_name, _, attribute = os.environ.get("_HANDLER", "").rpartition(".")
    handler = None
    init_error = None
    if not module_name:
        init_error = ("Runtime.MalformedHandlerName", f"Bad handler '{os.environ.get('_HANDLER', '')}'")
    else:
        try:
            handler = getattr(importlib.import_module(module_name), attribute)
        except AttributeError:
            init_error = (
                "Runtime.HandlerNotFound",
                f"Handler '{attribute}' missing on module '{module_name}'",
            )
        except ImportError as err:
            init_error = ("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {err}")
        except Exception as err:
            init_error = (type(err).__name__, str(err))
            print(traceback.format_exc())
    _end_of_output("init")
    channel.send("ready", init_error)
    if handler is None:
        return

    while True:
        _, request_id, event_json, fields = channel.invocations.get()
        try:
            returned = handler(json.loads(event_json), LambdaContext(channel, fields))
            outcome: Any = ("ok", json.dumps(returned))
        except Exception as err:
            print(traceback.format_exc())
            outcome = ("error", type(err).__name__, str(err), traceback.format_tb(err.__traceback__))
        _end_of_output(request_id)
        channel.send("done", request_id, outcome)


def _end_of_output(tag: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, f"{END_OF_OUTPUT}{tag}\n".encode())


if __name__ == "__main__":
    main()
