"""SNS failures injected for tests (the demo injects none): PublishBatch refused for chosen callers.

`SnsFaults.publish_batch_down_for` names functions whose `PublishBatch` calls SNS answers
with `InternalError` (HTTP 500), as during an SNS outage, until the test replaces the
faults. The caller is identified as AWS identifies it, by the access key on the request
(each function calls with its role's credentials, see `calls.py`). The patch sits on
moto's response handler, not its backend, because only the handler sees the request's
credentials; raised there, the error goes back over moto's HTTP layer, so botocore
retries it as it would a real 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.sns.exceptions import InternalError
from moto.sns.responses import SNSResponse

from .calls import CallRecorder
from .patches import Patch


@dataclass(frozen=True)
class SnsFaults:
    """Which callers SNS refuses: PublishBatch made with these functions' roles fails."""

    publish_batch_down_for: frozenset[str] = frozenset()


class SnsFaultInjector:
    """Answers moto's SNS `PublishBatch` with an outage for the callers named in `faults`."""

    def __init__(self, recorder: CallRecorder) -> None:
        self.recorder = recorder
        self.faults = SnsFaults()
        self.refused = 0  # PublishBatch requests answered with the injected outage
        self._lock = threading.Lock()

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.sns.responses.SNSResponse",
                "publish_batch",
                wrap=self._wrap_publish_batch,
                reason="PublishBatch refused for the callers named in the faults",
            )
        ]

    def _wrap_publish_batch(self, original: Callable[[SNSResponse], Any]) -> Callable[[SNSResponse], Any]:
        injector = self

        def publish_batch(response: SNSResponse) -> Any:
            function_name = injector.recorder.function_for_key(response.get_access_key())
            if function_name in injector.faults.publish_batch_down_for:
                with injector._lock:
                    injector.refused += 1
                raise InternalError(f"injected SNS outage for {function_name}")
            return original(response)

        return publish_batch
