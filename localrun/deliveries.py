"""How events travel between services in the local run: moto's delivery, with its gaps bridged.

moto already delivers S3 notifications to SNS/SQS/Lambda/EventBridge, SNS messages to
subscriptions (with filter policies) and EventBridge events to rule targets. This
module changes exactly these points of moto, each for a stated reason:

1. S3 notification records (`_get_s3_event`): moto omits `versionId`, `sequencer`,
   `userIdentity`, `requestParameters`, `responseElements` and the bucket owner;
   the handler needs the first two (ordering, versioned reads). Added, AWS-shaped;
   one sequencer per object version, increasing, shared by every destination.
2. S3 → EventBridge (`_send_event_bridge_message`): moto sends a fixed id and
   sequencer, `eTag` instead of `etag`, a numeric `time`, `reason` "ObjectCreated",
   to rules on every bus, and its rules cannot target Lambda. Replaced with the
   documented event (detail `reason` "PutObject") put on the default bus only.
   The key is sent as stored (not URL-encoded), as in AWS's documented example.
3. EventBridge rule targets (`Rule.send_to_targets`): Lambda and SNS targets added
   (moto raises NotImplementedError for them, and ignores DISABLED state). A target
   the caller may not invoke (missing resource policy, missing function) is not
   retried, as in EventBridge: the event goes to the target's dead-letter queue
   with EventBridge's error attributes. Accepted Lambda invocations are
   asynchronous, so their failures follow Lambda's async retry rules, not the
   target's retry policy — as in AWS. Other targets are left to moto.
4. SNS → Lambda (`Subscription.publish`): moto builds a placeholder event
   (`TopicArn` "arn:aws:sns:EXAMPLE", fixed attributes) and invokes synchronously.
   Replaced with the real record shape and an asynchronous invocation.
5. S3 → Lambda (`_invoke_awslambda`): moto invokes synchronously inside PutObject;
   here it is an asynchronous invocation, as S3 makes it. And moto announces an
   `ObjectTagging:Put` event for every PutObject (it tags each new object with an
   empty tag set); S3 does not, so that event is dropped for untagged objects.
6. SageMaker's "Endpoint State Change" event: moto emits none; the local run puts the
   IN_SERVICE event on the default bus once deployment has finished (see
   `emit_endpoint_in_service`), so the rule forwarding it to the notifications topic runs.
7. Access checks moto does not make, made where AWS makes them: the function's
   resource policy for S3/SNS/EventBridge invokes, the topic/queue policy for
   EventBridge → SNS and SNS → SQS, and the KMS key policy when a service writes
   to an encrypted topic or queue. A denied delivery is recorded as a problem and
   a hop, never silently dropped.

Not emulated: SNS's own delivery retries and a subscription's redrive DLQ (a denied
SNS → Lambda delivery is recorded as a problem instead), and EventBridge's retry policy
(Lambda accepts asynchronous invocations, so in the local run only non-retryable
failures — permission, missing function — occur, and those go straight to the DLQ).

Each point lives with its service: 1, 2, 5 in `services/s3.py`, 3 in `services/events.py`, 4 in
`services/sns.py`, 6 in `services/sagemaker.py`; 7 is `access.AccessGuard`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .access import AccessGuard
from .lambda_.runtime import LambdaRuntime
from .patches import Patch
from .services import events, s3, sagemaker, sns
from .trace import Trace, objects_in_event


class Deliveries:
    """Installs the delivery changes listed in the module docstring; `problems` lists every denial.

    Each service's part lives with the service (`services/s3.py` `S3Deliveries`, `services/events.py`
    `EventBridgeDeliveries`, `services/sns.py` `SnsDeliveries`, `services/sagemaker.py`
    `emit_endpoint_in_service`); this holds what they share: the guard, the trace and the problems.
    """

    def __init__(self, runtime: LambdaRuntime, trace: Trace) -> None:
        self.runtime = runtime
        self.trace = trace
        self.guard = AccessGuard(runtime)
        self.account = runtime.account
        self.region = runtime.region
        self.problems: list[str] = []
        self.s3_notifications: list[dict[str, Any]] = []  # every S3 notification event S3 sent, in order
        self.service_events: list[dict[str, Any]] = []  # events the local run emitted for AWS services
        self.s3 = s3.S3Deliveries(self)
        self.events = events.EventBridgeDeliveries(self)
        self.sns = sns.SnsDeliveries(self)

    def patches(self) -> list[Patch]:
        return [*self.s3.patches(), *self.events.patches(), *self.sns.patches()]

    def emit_endpoint_in_service(self, only: Collection[str] | None = None) -> None:
        """SageMaker's "Endpoint State Change" (IN_SERVICE) events, once deployment has finished (of the
        endpoints in `only`, when given: those a redeploy updated)."""
        sagemaker.emit_endpoint_in_service(self, only)

    def never_failing(self, deliver: Callable[..., None]) -> Callable[..., None]:
        """A delivery is asynchronous in AWS: its failure never fails the request that caused it."""

        def deliver_or_record(*args: Any, **kwargs: Any) -> None:
            try:
                deliver(*args, **kwargs)
            except Exception as err:  # recorded as a problem, never swallowed silently
                uris = [u for a in args if isinstance(a, (dict, str)) for u in objects_in_event(a)]
                self.problem(uris, getattr(deliver, "__name__", "delivery"), f"delivery failed: {err!r}")

        return deliver_or_record

    def problem(self, uris: list[str], step: str, message: str) -> None:
        self.problems.append(f"{step}: {message}")
        self.trace.record(uris, step, f"DENIED: {message}")
