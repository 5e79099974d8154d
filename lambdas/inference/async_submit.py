"""An async route's objects: the conditional `in_progress` write, then InvokeEndpointAsync with the object's
own S3 location (the function never reads it), then the outcome published like every route's.

Per object: InferenceId = domain.async_inference_id (deterministic per event and model version) → PutItem
`in_progress` under the results contract's conditional write (adapters.put_result) → InvokeEndpointAsync →
PublishBatch. The item is written before the submission, so SageMaker's notification always finds it, even
when the inference completes at once. A redelivered event meets its own `in_progress` item and submits the
same InferenceId again (the first attempt may have failed before it submitted); one whose item is final
already republishes the stored outcome, unless the result writer marked it published; an older event
changes nothing. Stateless, like pipeline.py; the
client methods used: dynamodb.put_item, sagemaker_runtime.invoke_endpoint_async, sns.publish_batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from . import adapters
from .contract import (
    ENV_MAX_PAYLOAD_BYTES,
    INFERENCE_ID_ATTRIBUTE,
    OUTCOME_PUBLISHED_ATTRIBUTE,
    STATUS_IN_PROGRESS,
)
from .domain import (
    ModelIdentity,
    ObjectMeta,
    ObjectRef,
    Result,
    async_inference_id,
    in_progress_item,
    outcome_message,
    publish_chunks,
    result_item,
    same_event,
    too_large,
    utc_now,
)
from .pipeline import TRANSIENT, UNCHANGED, WRITTEN, Clients, ObjectOutcome
from .settings import Settings


def process(
    refs: Sequence[ObjectRef],
    clients: Clients,
    settings: Settings,
    logger: Any = None,
    now: Callable[[], datetime] = utc_now,
    *,
    environment_started_at: int = 0,
) -> list[ObjectOutcome]:
    """Submit every reference; one outcome per reference, in order; never raises for one object."""
    log = logger or logging.getLogger(__name__)
    model = ModelIdentity(settings.model, settings.model_version, environment_started_at)
    distinct = list(dict.fromkeys(refs))
    with ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="submit") as pool:
        submitted = list(pool.map(lambda ref: _submit(ref, clients, settings, log, now, model), distinct))
    outcomes = dict(zip(distinct, _publish(submitted, clients, settings, log), strict=True))
    return [outcomes[ref] for ref in refs]


def _submit(  # noqa: PLR0917 - one object and what it is processed with
    ref: ObjectRef,
    clients: Clients,
    settings: Settings,
    log: Any,
    now: Callable[[], datetime],
    model: ModelIdentity,
) -> tuple[ObjectOutcome, dict[str, Any] | None]:
    """(outcome, item to publish or None) of one object."""
    inference_id = async_inference_id(ref, settings.model_version)
    # SageMaker takes at most MAX_PAYLOAD_BYTES (1 GB) from S3: a larger object is rejected here, not there.
    oversized = ref.size is not None and ref.size > settings.max_payload_bytes
    if oversized:
        result = too_large(ref.size, settings.max_payload_bytes, ENV_MAX_PAYLOAD_BYTES)
        item = result_item(ref, ObjectMeta(size=ref.size), result, settings.endpoint_name, now(), model=model)
    else:
        item = in_progress_item(ref, settings.endpoint_name, now(), inference_id, model=model)
        result = Result(STATUS_IN_PROGRESS, item["reason"])
    fields = {"object_uri": ref.uri, "route": ref.route, "inference_id": inference_id}
    try:
        written = adapters.put_result(clients.dynamodb, settings.results_table, item)
        stored = written.stored or {}
        if not written.written and not same_event(stored, item):
            log.info("a newer result is already stored; this older event changes nothing", extra=fields)
            return ObjectOutcome(ref, UNCHANGED, result), None
        if not written.written and (
            stored.get("status") != STATUS_IN_PROGRESS or stored.get(INFERENCE_ID_ATTRIBUTE) != inference_id
        ):
            # This event's outcome is stored already (final, or another model version's submission); a final
            # one the result writer marked published is not published again.
            republish = None if stored.get(OUTCOME_PUBLISHED_ATTRIBUTE) else stored
            return ObjectOutcome(ref, UNCHANGED, result), republish
        if oversized:
            log.info("rejected: larger than the async endpoint takes", extra=fields)
            return ObjectOutcome(ref, WRITTEN if written.written else UNCHANGED, result), item
        adapters.invoke_endpoint_async(
            clients.sagemaker_runtime,
            settings.endpoint_name,
            ref.uri,
            settings.content_type,
            inference_id,
            settings.async_invocation_timeout_seconds or 900,
        )
    except adapters.TransientError as err:
        log.warning("object will be retried: transient failure", extra={**fields, "error": str(err)})
        return ObjectOutcome(ref, TRANSIENT, error=str(err)), None
    log.info("submitted to the async endpoint", extra=fields)
    return ObjectOutcome(ref, WRITTEN if written.written else UNCHANGED, result), item


def _publish(
    submitted: list[tuple[ObjectOutcome, dict[str, Any] | None]],
    clients: Clients,
    settings: Settings,
    log: Any,
) -> list[ObjectOutcome]:
    outcomes = [outcome for outcome, _ in submitted]
    pending = [(index, item) for index, (_, item) in enumerate(submitted) if item is not None]
    messages = [outcome_message(item) for _, item in pending]
    for chunk in publish_chunks([m.size for m in messages]):
        try:
            failures = adapters.publish_batch(clients.sns, settings.topic_arn, [messages[p] for p in chunk])
        except adapters.TransientError as err:
            failures = dict.fromkeys(range(len(chunk)), str(err))
        for position, message_index in enumerate(chunk):
            index = pending[message_index][0]
            outcome = outcomes[index]
            if position in failures:
                # Submitted but nobody told: the retried event meets its item and publishes again.
                error = f"outcome not published: {failures[position]}"
                log.warning(
                    "object will be retried: transient failure",
                    extra={"object_uri": outcome.ref.uri, "error": error},
                )
                outcomes[index] = ObjectOutcome(outcome.ref, TRANSIENT, error=error)
            else:
                outcomes[index] = ObjectOutcome(
                    outcome.ref, outcome.disposition, outcome.result, published=True
                )
    return outcomes
