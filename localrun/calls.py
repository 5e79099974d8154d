"""Record every AWS API call made in this process, attributed to the caller's credentials.

In Lambda each function runs with its execution role's temporary credentials, so
the access key on a request says which role made it. The local run gives each
function the credentials of an STS AssumeRole of its role (in moto) and records,
through botocore event hooks, every call's service, operation, parameters, access
key and outcome. Tests map those calls to IAM actions (see `access.py`).

The hooks are put in front of botocore's BUILTIN_HANDLERS (a patch, see `patches.py`), so
every botocore session created while that patch is installed carries them (moto installs its own
request interceptor the same way) — whichever way the handler builds its clients.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .patches import Patch

# Who made a call with a function's credentials: the handler code itself, or the
# Lambda service acting for the function with its role (SQS polling by an event
# source mapping, sending a failed async event to its on-failure destination).
ACTOR_HANDLER = "handler"
ACTOR_LAMBDA_SERVICE = "lambda-service"
ACTOR_OTHER = "other"  # not a function's credentials: the deployer, the demo, a test

_PARAMS_KEY = "localrun.params"
_CALL_KEY = "localrun.call"


def call_in_context(context: dict[str, Any]) -> RecordedCall | None:
    """The call being made, from botocore's request context (set by the recorder's before-call hook)."""
    return context.get(_CALL_KEY)


@dataclass
class RecordedCall:
    """One API call as the caller made it."""

    seq: int
    service: str  # botocore service name: "s3", "sagemaker-runtime", "dynamodb", ...
    operation: str  # API operation: "GetObject", "InvokeEndpoint", ...
    params: dict[str, Any]  # the caller's parameters (before serialisation)
    region: str
    access_key: str | None
    function_name: str | None  # whose role the access key belongs to, if any
    actor: str
    error_code: str | None = None  # None: succeeded (after botocore's own retries)


class CallRecorder:
    """Collects `RecordedCall`s from every botocore client created while its patch is installed."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._function_by_key: dict[str, str] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._acting = threading.local()
        self._listeners: list[Any] = []
        self._handlers = [
            ("before-parameter-build", self._remember_params),
            ("before-call", self._record_call),
            ("after-call", self._record_outcome),
            ("after-call-error", self._record_exception),
        ]

    def patches(self) -> list[Patch]:
        # Prepend: a handler that returns a response (moto's stubber) stops later ones. A new list, not
        # an insertion, so the registry can restore the original; botocore reads the module attribute
        # whenever it creates a session.
        return [
            Patch(
                "botocore.handlers",
                "BUILTIN_HANDLERS",
                wrap=lambda builtin: [*self._handlers, *builtin],
                reason="every botocore session records its calls (and enforces function roles' IAM)",
            )
        ]

    def add_hooks(self, hooks: list[tuple[str, Any]]) -> None:
        """More botocore handlers (event name, handler) to install with the recorder's, after them.

        Call before the patch is installed. The access check (`access.AccessEnforcer`) comes this way,
        so its `before-call` handler sees the recorded call and can answer it in place of the service.
        """
        self._handlers.extend(hooks)

    def register_function_key(self, access_key: str, function_name: str) -> None:
        """Declare that `access_key` is the role credential of `function_name`."""
        self._function_by_key[access_key] = function_name

    def function_for_key(self, access_key: str | None) -> str | None:
        """The function whose role credential `access_key` is, if any."""
        return self._function_by_key.get(access_key or "")

    def on_call(self, listener: Any) -> None:
        """Call `listener(call)` after each call's outcome is known."""
        self._listeners.append(listener)

    @contextmanager
    def acting_for_function(self) -> Iterator[None]:
        """Mark calls made in this thread as the Lambda service acting with a function's role."""
        previous = getattr(self._acting, "actor", None)
        self._acting.actor = ACTOR_LAMBDA_SERVICE
        try:
            yield
        finally:
            self._acting.actor = previous

    def by_function(self, function_name: str, actor: str | None = None) -> list[RecordedCall]:
        return [
            c for c in self.calls if c.function_name == function_name and (actor is None or c.actor == actor)
        ]

    # -- botocore hooks -------------------------------------------------------------
    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS_KEY] = dict(params)

    def _record_call(self, model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> None:
        # botocore keeps the resolved credentials on the request signer; AWS identifies
        # the caller by exactly this access key.
        credentials = getattr(request_signer, "_credentials", None)
        access_key = credentials.access_key if credentials is not None else None
        function_name = self.function_for_key(access_key)
        if function_name is None:
            actor = ACTOR_OTHER
        else:
            actor = getattr(self._acting, "actor", None) or ACTOR_HANDLER
        call = RecordedCall(
            seq=next(self._seq),
            service=model.service_model.service_name,
            operation=model.name,
            params=context.get(_PARAMS_KEY, {}),
            region=context.get("client_region") or "",
            access_key=access_key,
            function_name=function_name,
            actor=actor,
        )
        context[_CALL_KEY] = call
        with self._lock:
            self.calls.append(call)

    def _record_outcome(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        call = context.get(_CALL_KEY)
        if call is None:
            return
        if http_response.status_code >= 300:
            call.error_code = (parsed.get("Error") or {}).get("Code") or str(http_response.status_code)
        self._notify(call)

    def _record_exception(self, exception: Exception, context: dict[str, Any], **_: Any) -> None:
        call = context.get(_CALL_KEY)
        if call is None:
            return
        call.error_code = type(exception).__name__
        self._notify(call)

    def _notify(self, call: RecordedCall) -> None:
        for listener in self._listeners:
            listener(call)
