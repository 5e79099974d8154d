"""Entry point of every inference function (contract.HANDLER): any S3 event shape in, one ordered,
idempotent result per object out. All per-container state lives in this module's globals.

Import (the cold start) reads settings, creates the Logger and a botocore session; the clients (about 0.7x
`import boto3`) and the processing modules wait for the first invocation. Tests and benchmarks may assign
`clients`, `SETTINGS`, `sleep` and `ENVIRONMENT_STARTED_AT` before invoking the handler.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import botocore.session
from aws_lambda_powertools import Logger
from botocore.config import Config

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .pipeline import Clients, ObjectOutcome

# When this execution environment started (epoch ms), recorded on every result it writes
# (contract.ENVIRONMENT_STARTED_AT_ATTRIBUTE).
ENVIRONMENT_STARTED_AT: int = time.time_ns() // 1_000_000

SETTINGS: Settings = load_settings(os.environ)


# The route names the service in every log line, unless the deployment sets POWERTOOLS_SERVICE_NAME.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or f"inference-{SETTINGS.route}")


@dataclass(frozen=True)
class ClientTimeouts:
    """Connect/read timeouts (seconds) and total attempts for one AWS client."""

    connect: float
    read: float
    attempts: int

    def worst_case_seconds(self) -> float:
        """Longest a call can take, every attempt timing out, with botocore standard-mode backoff between
        attempts: at most min(2**i, 20) s plus up to 5 s more when the service asks to retry later."""
        backoff = sum(min(2**retry, 20) + 5 for retry in range(self.attempts - 1))
        return self.attempts * (self.connect + self.read) + backoff


# One object's chain (get → invoke → [put of a large result] → put → publish) must fit the function timeout:
# see contract.HANDLER_MIN_TIMEOUT_SECONDS, which tests check against these numbers. SageMaker's own limit
# for an invocation is 60 s, so its read timeout is 60 s with one retry; the other calls are quick. S3 makes
# two calls in a chain with a large result, so it gets two attempts (a third would take the chain over the
# minimum timeout); a fault that outlasts them is retried by the trigger, as any transient one.
CLIENT_TIMEOUTS = {
    "s3": ClientTimeouts(connect=2, read=5, attempts=2),
    "sagemaker-runtime": ClientTimeouts(connect=2, read=60, attempts=2),
    "dynamodb": ClientTimeouts(connect=2, read=3, attempts=3),
    "sns": ClientTimeouts(connect=2, read=3, attempts=3),
}

# A throttled InvokeEndpoint is retried only while the remaining time still holds, after the pause, a
# worst-case InvokeEndpoint, writes and publish, so retries never make an object's chain outlast the timeout.
MODEL_RETRY_RESERVE_SECONDS = sum(
    CLIENT_TIMEOUTS[service].worst_case_seconds()
    for service in ("sagemaker-runtime", "s3", "dynamodb", "sns")
)

# How the pipeline waits between throttled model calls (assignable, like `clients`).
sleep: Callable[[float], None] = time.sleep

# Credentials and region are resolved now, by the default chain (Lambda's role credentials are environment
# variables); clients created later from this session reuse them.
_session = botocore.session.Session()
_session.get_credentials()
_REGION = _session.get_config_variable("region") or os.environ.get("AWS_REGION")

clients: Clients | None = None
_sqs_processor: Any = None


class EventNotProcessedError(RuntimeError):
    """Raised for async triggers (S3, SNS, EventBridge) so Lambda retries the event, then sends it to the
    on-failure destination; objects already written are unaffected by the retry (conditional writes)."""


def create_clients() -> Clients:
    """Create the four AWS clients with explicit timeouts, standard retries and a pool for every worker."""
    from .pipeline import Clients  # noqa: PLC0415 - see the module docstring on lazy imports

    def client(service: str) -> Any:
        timeouts = CLIENT_TIMEOUTS[service]
        config = Config(
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            retries={"mode": "standard", "total_max_attempts": timeouts.attempts},
            max_pool_connections=max(10, SETTINGS.max_workers),
        )
        return _session.create_client(service, region_name=_REGION, config=config)

    return Clients(
        s3=client("s3"),
        sagemaker_runtime=client("sagemaker-runtime"),
        dynamodb=client("dynamodb"),
        sns=client("sns"),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Normalise the event, process its objects, and report failures the way the trigger expects."""
    from . import events, pipeline  # noqa: PLC0415 - imported on first use to keep the cold import small

    global clients  # noqa: PLW0603 - created once per container, on first use
    if clients is None:
        clients = create_clients()

    route = SETTINGS.route
    normalised = events.normalise_event(event, SETTINGS.scope)
    if normalised.problem:
        logger.error("unrecognisable event", extra={"route": route, "problem": normalised.problem})
        raise EventNotProcessedError(f"unrecognisable event: {normalised.problem}")
    for record in normalised.records:
        for skip in record.skips:
            logger.info(
                f"skipped: {skip.reason}",
                extra={"route": route, "object_uri": skip.object_uri, "record_id": record.record_id},
            )
        for problem in record.problems:
            logger.error(
                f"unrecognisable record (permanent failure): {problem}",
                extra={"route": route, "record_id": record.record_id, "source": normalised.source.value},
            )
        for refusal in record.refusals:
            logger.error(
                f"refused (permanent failure): {refusal.reason}",
                extra={
                    "route": route,
                    "object_uri": refusal.object_uri,
                    "record_id": record.record_id,
                    "source": normalised.source.value,
                },
            )

    refs = [ref for record in normalised.records for ref in record.refs]
    deadline = pipeline.Deadline(
        remaining=lambda: context.get_remaining_time_in_millis() / 1000,
        reserve=MODEL_RETRY_RESERVE_SECONDS,
    )
    if SETTINGS.submits_async:
        from . import async_submit  # noqa: PLC0415 - only async routes need it

        outcomes = async_submit.process(
            refs, clients, SETTINGS, logger, environment_started_at=ENVIRONMENT_STARTED_AT
        )
    else:
        outcomes = pipeline.process(
            refs,
            clients,
            SETTINGS,
            logger,
            deadline=deadline,
            sleep=sleep,
            environment_started_at=ENVIRONMENT_STARTED_AT,
        )
    failures = _record_failures(normalised.records, outcomes)
    logger.info(
        "event processed",
        extra={
            "route": route,
            "source": normalised.source.value,
            "records": len(normalised.records),
            "objects": len(outcomes),
            "dispositions": dict(Counter(outcome.disposition for outcome in outcomes)),
            "failed_records": len(failures),
        },
    )
    if normalised.source is events.Source.KINESIS:
        return _stream_batch_response(normalised.records, failures)
    if normalised.source.is_batch:
        return _sqs_batch_response(event, failures, context)
    if failures:
        raise EventNotProcessedError(f"{len(failures)} record(s) to retry: " + "; ".join(failures.values()))
    return {"objects": [_summary(outcome) for outcome in outcomes]}


def _record_failures(records: Any, outcomes: list[ObjectOutcome]) -> dict[str, str]:
    """Why each failing record fails: any unrecognisable or refused part, or any object to retry."""
    failures: dict[str, str] = {}
    remaining = iter(outcomes)
    for record in records:
        own = [next(remaining) for _ in record.refs]
        reasons = list(record.permanent_failures) + [f"{o.ref.uri}: {o.error}" for o in own if o.failed]
        if reasons:
            failures[record.record_id] = ", ".join(reasons)
    return failures


def _sqs_batch_response(event: dict[str, Any], failures: dict[str, str], context: Any) -> dict[str, Any]:
    """SQS partial batch response: exactly the failed records are redelivered (then go to the DLQ)."""
    from aws_lambda_powertools.utilities.batch import (  # noqa: PLC0415 - only SQS routes need it
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    global _sqs_processor  # noqa: PLW0603 - one processor per container, like a module-level one
    if _sqs_processor is None:
        # An all-failed batch is reported record by record rather than raised: same redelivery, clearer.
        _sqs_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: Any) -> None:
        reason = failures.get(record.message_id)
        if reason is not None:
            raise RecordNotProcessedError(reason)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=_sqs_processor, context=context
    )


def _stream_batch_response(records: Any, failures: dict[str, str]) -> dict[str, Any]:
    """Kinesis partial batch response: the sequence number of the first record to retry, in shard order."""
    # Lambda retries every record from the lowest sequence number reported (Lambda Developer Guide,
    # "Configuring partial batch response with Kinesis Data Streams and Lambda",
    # https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html).
    first = next((record.record_id for record in records if record.record_id in failures), None)
    if first is None:
        return {"batchItemFailures": []}
    logger.warning(
        "stream batch: retrying from the first failed record",
        extra={"route": SETTINGS.route, "sequence_number": first, "failed_records": len(failures)},
    )
    return {"batchItemFailures": [{"itemIdentifier": first}]}


class RecordNotProcessedError(RuntimeError):
    """One SQS record must be redelivered (reported in batchItemFailures)."""


def _summary(outcome: ObjectOutcome) -> dict[str, Any]:
    result = outcome.result
    return {
        "object_uri": outcome.ref.uri,
        "disposition": outcome.disposition,
        "status": result.status if result else None,
        "reason": result.reason if result else None,
    }
