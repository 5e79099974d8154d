"""Entry point of an async model's result writer (contract.RESULT_WRITER_HANDLER): SageMaker's success and
error notifications in (through SNS), the final results item and its outcome out.

Per SNS record: parse SageMaker's notice (domain.parse_async_notice) → read the output, when the inference
completed, from the model's output prefix only (ASYNC_OUTPUT_URI), at most ASYNC_OUTPUT_INLINE_MAX_BYTES into
the item, else its URI → UpdateItem conditioned on the item being `in_progress` for this inference id →
Publish the outcome on the notifications topic, as every route does → mark the item `outcome_published_at`
(conditioned on the inference id). A notice for an unknown or superseded inference id changes nothing and is
logged; a duplicate notice of an inference already written and published changes nothing; one whose outcome
is not marked published (the publish or the mark failed) publishes the stored outcome and marks it. So each
inference's final outcome is published once, and at least once if the function stops between its publish and
its mark. A transient failure fails the invocation: Lambda retries it twice, then the DLQ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from aws_lambda_powertools import Logger
from botocore.config import Config

from . import adapters
from .contract import (
    ASYNC_OUTPUT_INLINE_MAX_BYTES,
    ENV_ASYNC_OUTPUT_URI,
    ENV_MODEL_NAME,
    ENV_NOTIFICATIONS_TOPIC_ARN,
    ENV_RESULTS_TABLE,
    INFERENCE_ID_ATTRIBUTE,
    OUTCOME_PUBLISHED_ATTRIBUTE,
    OUTPUT_LOCATION_ATTRIBUTE,
    RESULT_DETAIL_ATTRIBUTE,
    STATUS_IN_PROGRESS,
)
from .domain import (
    PREDICTION_URI,
    AsyncNotice,
    async_final_result,
    is_within,
    iso_utc,
    outcome_message,
    parse_async_notice,
    utc_now,
)


@dataclass(frozen=True)
class WriterSettings:
    results_table: str
    topic_arn: str
    output_uri: str  # s3://<bucket>/<async prefix><model>/output/
    model_name: str


def load_writer_settings(env: Mapping[str, str]) -> WriterSettings:
    missing = [
        n for n in (ENV_RESULTS_TABLE, ENV_NOTIFICATIONS_TOPIC_ARN, ENV_ASYNC_OUTPUT_URI) if not env.get(n)
    ]
    if missing:
        raise RuntimeError(f"missing required environment variable(s): {', '.join(missing)}")
    return WriterSettings(
        results_table=env[ENV_RESULTS_TABLE],
        topic_arn=env[ENV_NOTIFICATIONS_TOPIC_ARN],
        output_uri=env[ENV_ASYNC_OUTPUT_URI],
        model_name=env.get(ENV_MODEL_NAME, ""),
    )


SETTINGS = load_writer_settings(os.environ)
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or f"result-writer-{SETTINGS.model_name}")
_session = botocore.session.Session()
_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3})
clients: dict[str, Any] | None = None  # tests may assign {"s3", "dynamodb", "sns"}


class NoticeNotProcessedError(RuntimeError):
    """Raised so Lambda retries the SNS delivery, then sends it to the writer's DLQ."""


def final_attributes(notice: AsyncNotice, output: bytes | None, size: int | None) -> dict[str, Any]:
    """The attributes the final write sets (None: removed) for a notice and the output read."""
    result = async_final_result(notice, output, size)
    return {
        "status": result.status,
        "reason": result.reason,
        "prediction": None if result.prediction_uri else result.prediction,
        PREDICTION_URI: result.prediction_uri,
        RESULT_DETAIL_ATTRIBUTE: result.detail,
        OUTPUT_LOCATION_ATTRIBUTE: notice.output_location,
        "processed_at": iso_utc(utc_now()),
    }


def write_notice(
    notice: AsyncNotice, s3: Any, dynamodb: Any, settings: WriterSettings
) -> dict[str, Any] | None:
    """Write the final item of one notice; returns the item whose outcome to publish, or None."""
    fields = {"object_uri": notice.input_location, "inference_id": notice.inference_id}
    output, size = None, None
    if notice.succeeded and notice.output_location:
        if not is_within(notice.output_location, settings.output_uri):
            logger.error(
                "output outside the model's output prefix: ignored",
                extra={**fields, "output": notice.output_location},
            )
            return None
        output, size = adapters.read_async_output(s3, notice.output_location, ASYNC_OUTPUT_INLINE_MAX_BYTES)
    final = final_attributes(notice, output, size)
    written = adapters.complete_async_result(
        dynamodb, settings.results_table, notice.input_location, notice.inference_id, final
    )
    if written.written:
        logger.info("async result written", extra={**fields, "status": final["status"]})
        return written.stored
    return _to_republish(written.stored, notice, fields)


def _to_republish(
    stored: dict[str, Any] | None, notice: AsyncNotice, fields: dict[str, str]
) -> dict[str, Any] | None:
    """What a notice whose write changed nothing publishes: a stored outcome not yet marked published, or
    nothing."""
    if stored is None:
        logger.warning("notice for an unknown inference id: nothing changed", extra=fields)
        return None
    if stored.get(INFERENCE_ID_ATTRIBUTE) != notice.inference_id:
        logger.warning(
            "notice for a superseded inference id: nothing changed",
            extra={**fields, "stored_inference_id": stored.get(INFERENCE_ID_ATTRIBUTE)},
        )
        return None
    if stored.get("status") == STATUS_IN_PROGRESS:
        return None  # unreachable: the condition held for it
    if stored.get(OUTCOME_PUBLISHED_ATTRIBUTE):
        logger.info(
            "duplicate notice: the result and its outcome are stored already; nothing changed", extra=fields
        )
        return None
    logger.info(
        "duplicate notice: the stored outcome was not marked published; it is published now", extra=fields
    )
    return stored


def _clients() -> dict[str, Any]:
    global clients  # noqa: PLW0603 - created once per container
    if clients is None:
        region = _session.get_config_variable("region") or os.environ.get("AWS_REGION")
        clients = {
            name: _session.create_client(name, region_name=region, config=_CONFIG)
            for name in ("s3", "dynamodb", "sns")
        }
    return clients


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One invocation per SNS delivery (one record); each notice written, its outcome published."""
    c = _clients()
    failures: list[str] = []
    published = 0
    for record in event.get("Records") or []:
        message = (record.get("Sns") or {}).get("Message", "")
        notice = parse_async_notice(message)
        if isinstance(notice, str):
            logger.error(f"not a SageMaker async notice (dropped): {notice}")
            continue
        try:
            item = write_notice(notice, c["s3"], c["dynamodb"], SETTINGS)
            if item is not None:
                failed = adapters.publish_batch(c["sns"], SETTINGS.topic_arn, [outcome_message(item)])
                if failed:
                    raise adapters.TransientError(f"outcome not published: {failed[0]}")
                published += 1
                adapters.mark_outcome_published(
                    c["dynamodb"],
                    SETTINGS.results_table,
                    notice.input_location,
                    notice.inference_id,
                    iso_utc(utc_now()),
                )
        except adapters.TransientError as err:
            logger.warning(
                "notice will be retried: transient failure",
                extra={"inference_id": notice.inference_id, "error": str(err)},
            )
            failures.append(f"{notice.inference_id}: {err}")
    if failures:
        raise NoticeNotProcessedError("; ".join(failures))
    return {"published": published}
