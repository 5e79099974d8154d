"""Baseline (a): the naive per-record pattern, one object after another, four AWS calls each.

It reuses the handler's own pure functions and one-call adapters (normalise, GetObject, build payload,
InvokeEndpoint, results item, conditional PutItem, outcome message), so it produces the same items and
messages as the handler; only the orchestration differs: no pool, no model batching, and one
PublishBatch of one entry per object (same latency as Publish in the fakes).
"""

from __future__ import annotations

import time
from typing import Any

from lambdas.inference import adapters, domain
from lambdas.inference.contract import (
    SEQUENCER_ORDER_ATTRIBUTE,
    STATUS_FAILED,
    STATUS_MISSING,
    STATUS_REJECTED,
)
from lambdas.inference.events import normalise_event
from lambdas.inference.settings import Settings

# Like the handler's module import time (app.ENVIRONMENT_STARTED_AT), recorded on every item.
STARTED_AT = time.time_ns() // 1_000_000


def process_sequentially(event: dict[str, Any], clients: Any, settings: Settings) -> dict[str, Any]:
    """Handle an SQS event record by record; returns the SQS partial-batch response."""
    failures = []
    for record in normalise_event(event, settings.scope).records:
        try:
            if record.permanent_failures:
                raise ValueError("; ".join(record.permanent_failures))
            for ref in record.refs:
                process_object(ref, clients, settings)
        except (adapters.TransientError, ValueError):
            failures.append({"itemIdentifier": record.record_id})
    return {"batchItemFailures": failures}


def process_object(ref: domain.ObjectRef, clients: Any, settings: Settings) -> dict[str, Any]:
    """Get, invoke, put, publish one object, in sequence; returns the results item now stored."""
    meta: domain.ObjectMeta | None = None
    try:
        fetched = adapters.get_object(
            clients.s3,
            ref.bucket,
            ref.key,
            ref.version_id,
            settings.max_object_bytes,
        )
        meta = fetched.meta
        payload = domain.build_payload(ref.key, fetched.data)
        if isinstance(payload, domain.Result):
            result = payload
        else:
            # Where the stack batches, the handler sends a text as a one-input list: the same request here.
            as_list = settings.model_max_batch_size > 1 and payload.text is not None
            response = adapters.invoke_endpoint(
                clients.sagemaker_runtime,
                settings.endpoint_name,
                domain.batch_body([payload.text]) if as_list else payload.body,
                settings.content_type,
            )
            prediction = domain.parse_prediction(response)
            if as_list:
                (prediction,) = domain.split_batched_prediction(prediction, 1) or [prediction]
            result = domain.completed_result(prediction)
    except adapters.ObjectMissing as missing:
        result = domain.Result(STATUS_MISSING, missing.reason)
    except adapters.ModelRejected as rejected:
        result = domain.Result(STATUS_FAILED, rejected.reason)
    except adapters.PermanentError as unusable:
        result = domain.Result(STATUS_REJECTED, unusable.reason)
    model = domain.ModelIdentity(settings.model, settings.model_version, STARTED_AT)
    item = domain.result_item(ref, meta, result, settings.endpoint_name, domain.utc_now(), model=model)
    written = adapters.put_result(clients.dynamodb, settings.results_table, item)
    if not written.written:
        stored = written.stored or {}
        if stored.get(SEQUENCER_ORDER_ATTRIBUTE) != item.get(SEQUENCER_ORDER_ATTRIBUTE):
            return stored  # a newer result is stored: nothing to tell subscribers (as the handler does)
        item = stored  # a redelivery: publish the stored outcome again (as the handler does)
    failed = adapters.publish_batch(clients.sns, settings.topic_arn, [domain.outcome_message(item)])
    if failed:
        raise adapters.TransientError(f"outcome not published: {failed}")
    return item
