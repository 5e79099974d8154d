"""`LocalCloud`: moto with the real stack deployed into it and every event path running in-process.

    with LocalCloud() as cloud:
        cloud.deploy()                      # runs __main__.py with Pulumi.dev.yaml under MotoMocks
        cloud.s3.put_object(Bucket=cloud.outputs["bucket_name"], Key="uploads/a.txt", Body=b"great")
        cloud.run_until_idle()              # deliveries, invocations, retries, SQS polling
        cloud.results()                     # the DynamoDB items

The pieces: `moto_mocks` (deploy; creators in `services/`), `services/` (per AWS service: creators,
what differs from moto, injected SNS outages), `deliveries` (how events travel), `access` (access
checks), `limits` (AWS size limits), `lambda_.runtime` (running the handler), `lambda_.sqs_poller`
(the event source mapping), `standin_model` (the SageMaker endpoint), `calls` (who called what),
`trace` (hops), `clock` (simulated waits). Each declares its patches of moto and botocore; this
module installs them as one `patches.PatchSet`. Only this module knows
how they fit together.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from lambdas.inference.contract import TABLE_PARTITION_KEY

from .access import AccessEnforcer
from .calls import CallRecorder
from .clock import SdkBackoff, SimClock
from .deliveries import Deliveries
from .lambda_.kinesis_poller import KinesisEventSourcePoller
from .lambda_.runtime import LambdaRuntime
from .lambda_.sqs_poller import SqsEventSourcePoller, shift_sqs_timers
from .limits import LimitEnforcer
from .moto_mocks import ACCOUNT_ID, MotoMocks
from .patches import PatchSet
from .program import ProgramRun, load_stack_config, run_program, stack_config_path
from .services.s3 import BucketPolicyFixes
from .services.sns import SnsFaultInjector
from .standin_model import StandInEndpoint
from .trace import Trace

# Never let anything in the local run find real credentials: moto intercepts every call, and these make
# sure a call it did not intercept could not be signed for a real account either.
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "localrun",
    "AWS_SECRET_ACCESS_KEY": "localrun",
    "AWS_SESSION_TOKEN": "localrun",
    "AWS_SECURITY_TOKEN": "localrun",
}
_UNSET_FOR_SAFETY = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL")
# A safety net, far beyond any wait the pipeline needs (3 SQS redeliveries of 6 min, async retries 3 min).
DEFAULT_MAX_SIMULATED_SECONDS = 6 * 3600


def sagemaker_caller(endpoint_name: str) -> str:
    """The recorder's caller name for the calls SageMaker makes with an endpoint's execution role."""
    return f"sagemaker:{endpoint_name}"


class EmulatorStalled(RuntimeError):
    """The pipeline kept waiting beyond the simulated-time budget (e.g. a message retried forever)."""


@dataclass
class PumpReport:
    """What one `run_until_idle` did."""

    steps: int = 0
    simulated_seconds: float = 0.0
    waited_by_reason: dict[str, float] = field(default_factory=dict)


class LocalCloud:
    """An in-process AWS (moto) running the stack's event paths; use as a context manager."""

    def __init__(self, region: str = "us-east-1", *, realtime: bool = False) -> None:
        self.region = region
        self.account = ACCOUNT_ID
        self.clock = SimClock(realtime=realtime)  # realtime: waits happen on the wall clock (local cloud)
        self.recorder = CallRecorder()
        self.access = AccessEnforcer(self.account)  # a handler call its role does not allow fails
        self.recorder.add_hooks(self.access.hooks())
        self.trace = Trace(self._read_object)
        self.trace.use_clock(self.clock.now)
        self.runtime = LambdaRuntime(self.account, region, self.clock, self.recorder, self.trace)
        self.poller = SqsEventSourcePoller(self.runtime, self.recorder, self.trace)
        self.stream_poller = KinesisEventSourcePoller(self.runtime, self.recorder, self.trace)
        self.deliveries = Deliveries(self.runtime, self.trace)
        self.endpoint = StandInEndpoint(self.clock.now)
        self.endpoint.trace = self.trace.record
        self.endpoint.role_client = self._sagemaker_role_client
        self._sagemaker_clients: dict[tuple[str, str], Any] = {}
        self.sns_faults = SnsFaultInjector(self.recorder)
        self.fixes = BucketPolicyFixes()
        self.sdk_backoff = SdkBackoff(self.clock)
        self.limits = LimitEnforcer()  # AWS size limits moto does not enforce (limits.py)
        # Every change the local run makes to moto and botocore, installed and removed together.
        self.patches = PatchSet(
            [
                *self.fixes.patches(),
                *self.sdk_backoff.patches(),
                *self.recorder.patches(),
                *self.runtime.patches(),
                *self.poller.patches(),
                *self.deliveries.patches(),
                *self.endpoint.patches(),
                *self.sns_faults.patches(),
                *self.limits.patches(),
            ]
        )
        self.program: ProgramRun | None = None
        self.mocks: MotoMocks | None = None
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.patches.resolve()  # a target an upgrade moved fails here, before anything is changed
        for name in (*_FAKE_CREDENTIALS, *_UNSET_FOR_SAFETY, "AWS_DEFAULT_REGION", "AWS_REGION"):
            self._saved_env[name] = os.environ.get(name)
        for name in _UNSET_FOR_SAFETY:
            os.environ.pop(name, None)
        os.environ.update(_FAKE_CREDENTIALS)
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = self.region
        self._mock = mock_aws()
        self._mock.start()
        self.patches.install()
        self.recorder.on_call(self.trace.on_call)
        self.clock.on_advance(lambda seconds: shift_sqs_timers(self.account, self.region, seconds))

    def close(self) -> None:
        self.patches.uninstall()
        self.runtime.close()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    # -- deploy ------------------------------------------------------------------------------
    def deploy(
        self,
        *,
        stack: str = "dev",
        config: Mapping[str, str] | None = None,
        config_file: Path | None = None,
    ) -> ProgramRun:
        """Run the real program with the stack's config, creating every resource in moto."""
        flat = (
            dict(config) if config is not None else load_stack_config(config_file or stack_config_path(stack))
        )
        region = flat.get("aws:region", self.region)
        if region != self.region:
            raise ValueError(f"the stack's aws:region is {region}; create LocalCloud(region={region!r})")
        self.mocks = MotoMocks(self.runtime, self.region)
        self.program = run_program(self.mocks, stack=stack, config=flat)
        self.endpoint.check_endpoints(self.account, self.region)  # NoStandIn: a task the run cannot serve
        self.deliveries.emit_endpoint_in_service()
        return self.program

    def redeploy(
        self,
        *,
        stack: str = "dev",
        config: Mapping[str, str] | None = None,
        config_file: Path | None = None,
    ) -> ProgramRun:
        """Run the program again with a changed config into the same moto, as `pulumi up` updates a stack.

        Unchanged resources stay as they are; the changes the stack's model updates need are applied (see
        `moto_mocks`: function configurations in place, SageMaker models and endpoint configurations
        replaced, endpoints switched to the new configuration); any other change is a `RedeployRefused`
        naming the resource and its inputs, after which moto may hold a partly applied update, as a
        failed `pulumi up` leaves a stack. A function whose configuration changed starts a new execution
        environment at its next invocation (its warm one is stopped now), as Lambda does after an update.
        """
        if self.program is None or self.mocks is None:
            raise RuntimeError("deploy() first")
        flat = (
            dict(config) if config is not None else load_stack_config(config_file or stack_config_path(stack))
        )
        mocks = MotoMocks(self.runtime, self.region, previous=self.program)
        mocks.not_emulated = self.mocks.not_emulated
        program = run_program(mocks, stack=stack, config=flat)
        mocks.finish_redeploy(program)
        self.program, self.mocks = program, mocks
        self.endpoint.check_endpoints(self.account, self.region)
        self.runtime.stop_stale_environments()
        self.deliveries.emit_endpoint_in_service(only=mocks.updated_endpoints)
        return program

    @property
    def outputs(self) -> dict[str, Any]:
        if self.program is None:
            raise RuntimeError("deploy() first")
        return self.program.outputs

    # -- drive -------------------------------------------------------------------------------
    def run_until_idle(
        self,
        *,
        max_simulated_seconds: float = DEFAULT_MAX_SIMULATED_SECONDS,
        on_step: Callable[[PumpReport], None] | None = None,
    ) -> PumpReport:
        """Run deliveries, invocations and polls until nothing is left to do, skipping idle waits."""
        report = PumpReport()
        started_skipped = self.clock.skipped_seconds
        first_wait = len(self.clock.waits)
        receivable_unreceived = False
        while True:
            progressed = self.runtime.run_due(limit=1)  # one at a time, so progress can be shown
            progressed = self.endpoint.run_due() or progressed
            progressed = self.poller.poll() or progressed
            progressed = self.stream_poller.poll() or progressed
            if progressed:
                report.steps += 1
                receivable_unreceived = False
                if on_step is not None:
                    on_step(report)
                continue
            wait, reason = self._next_wait()
            if wait is None:
                break
            if wait == 0.0:
                # A message became receivable after the poll looked: poll again. If the next poll does
                # not receive it either, the emulator has lost track of it; waiting would not help.
                if receivable_unreceived:
                    raise EmulatorStalled(
                        "an SQS message of a polled queue is receivable, but two polls in a row did not "
                        "receive it"
                    )
                receivable_unreceived = True
                continue
            if self.clock.skipped_seconds - started_skipped + wait > max_simulated_seconds:
                raise EmulatorStalled(
                    f"still waiting ({reason}) after {max_simulated_seconds:.0f} simulated seconds; "
                    "something is being retried forever"
                )
            self.clock.advance(wait, reason)
        report.simulated_seconds = self.clock.skipped_seconds - started_skipped
        report.waited_by_reason = self.clock.waited_by_reason(since=first_wait)
        return report

    def run_on_wall_clock(
        self, stop: threading.Event, wake: threading.Event, idle_seconds: float = 1.0
    ) -> None:
        """Run the pipeline in real time until `stop` is set (needs `LocalCloud(realtime=True)`).

        Runs whatever is due, then sleeps until the next due moment (an async retry, a visibility
        timeout ending) or until `wake` is set (a request arrived that may have queued work), at
        most `idle_seconds`, a safety net for work no request announced.
        """
        if not self.clock.realtime:
            raise RuntimeError("run_on_wall_clock needs LocalCloud(realtime=True)")
        while not stop.is_set():
            wake.clear()  # before looking: work queued after the look sets it again, so wait() returns
            progressed = self.runtime.run_due(limit=1)
            progressed = self.endpoint.run_due() or progressed
            progressed = self.poller.poll() or progressed
            progressed = self.stream_poller.poll() or progressed
            if progressed:
                continue
            wait, _ = self._next_wait()
            wake.wait(idle_seconds if wait is None else min(max(wait, 0.01), idle_seconds))

    def _next_wait(self) -> tuple[float | None, str]:
        """Seconds to skip until something can run (0.0: a message can be received now), None if idle."""
        visible = self.poller.seconds_until_receivable()
        if visible == 0.0:
            return 0.0, "SQS message receivable"
        candidates: list[tuple[float, str]] = []
        due = self.runtime.next_due()
        if due is not None:
            candidates.append((max(0.0, due - self.clock.now()), "Lambda async retry delay"))
        if visible is not None:
            candidates.append((visible, "SQS visibility timeout"))
        completes = self.endpoint.next_due()
        if completes is not None:
            candidates.append((max(0.0, completes - self.clock.now()), "SageMaker async inference"))
        if not candidates:
            return None, ""
        wait, reason = min(candidates)
        return wait + 0.01, reason  # land just after the deadline

    # -- look ---------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    @property
    def s3(self) -> Any:
        return self.client("s3")

    def results(self) -> dict[str, dict[str, Any]]:
        """Every results item, by partition key."""
        table = self.outputs["results_table_name"]
        deserializer = TypeDeserializer()
        items: dict[str, dict[str, Any]] = {}
        paginator = self.client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(TableName=table):
            for raw in page["Items"]:
                item = {k: deserializer.deserialize(v) for k, v in raw.items()}
                items[item[TABLE_PARTITION_KEY]] = item
        return items

    def queue_messages(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in a queue, read without consuming it (from moto's model, not ReceiveMessage)."""
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        queue = sqs_backends[self.account][self.region].get_queue(name)
        return [
            {
                "MessageId": m.id,
                "Body": m.body,
                "ReceiveCount": m.approximate_receive_count,
                "MessageAttributes": m.message_attributes,
            }
            for m in queue._messages
        ]

    def published(self, topic_arn: str) -> list[str]:
        """Every message SNS accepted on a topic, in order (from moto's model)."""
        topic = sns_backends[self.account][self.region].topics[topic_arn]
        return [message for _, message, *_ in topic.sent_notifications]

    def _sagemaker_role_client(self, role_arn: str, service: str, endpoint_name: str) -> Any:
        """A client with a model's execution role, as SageMaker assumes it for an async endpoint's calls;
        its calls are recorded (and enforced) as `sagemaker:<endpoint name>`'s."""
        key = (role_arn, service)
        if key not in self._sagemaker_clients:
            credentials = boto3.client("sts", region_name=self.region).assume_role(
                RoleArn=role_arn, RoleSessionName="SageMaker"
            )["Credentials"]
            self.recorder.register_function_key(credentials["AccessKeyId"], sagemaker_caller(endpoint_name))
            self._sagemaker_clients[key] = boto3.client(
                service,
                region_name=self.region,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        return self._sagemaker_clients[key]

    def _read_object(self, bucket: str, key: str, version_id: str | None) -> bytes | None:
        try:
            return s3_backends[self.account]["aws"].get_object(bucket, key, version_id=version_id).value
        except Exception:
            return None
