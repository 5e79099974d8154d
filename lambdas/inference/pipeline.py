"""Process object references concurrently, each in isolation: GetObject → InvokeEndpoint (text inputs
optionally batched) → conditional PutItem → PublishBatch of the outcomes.

Stateless: clients, settings and logger are passed in, so the app, the local run and the benchmarks inject
their own. The only client methods used (fakes need nothing else; errors are botocore's ClientError and
BotoCoreError, as real clients raise them):
  s3.get_object(Bucket, Key[, VersionId]) -> {"Body": .read(n)/.close(), "ContentLength", "ETag", "VersionId"}
  sagemaker_runtime.invoke_endpoint(EndpointName, Body, ContentType, Accept) -> {"Body": .read()}
  dynamodb.put_item(TableName, Item, ConditionExpression, ExpressionAttributeNames,
                    [ExpressionAttributeValues,] ReturnValuesOnConditionCheckFailure="ALL_OLD")
  sns.publish_batch(TopicArn, PublishBatchRequestEntries)  (at most 10 entries) -> {"Successful", "Failed"}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import adapters
from .contract import (
    REASON_MODEL_ERROR,
    REASON_TOO_LARGE,
    SEQUENCER_ORDER_ATTRIBUTE,
    STATUS_FAILED,
    STATUS_MISSING,
    STATUS_REJECTED,
)
from .domain import (
    ObjectMeta,
    ObjectRef,
    Payload,
    Result,
    batch_body,
    build_payload,
    completed_result,
    outcome_message,
    parse_prediction,
    publish_chunks,
    result_item,
    split_batched_prediction,
    text_request_bytes,
    utc_now,
)
from .settings import Settings

# SageMaker serverless endpoints accept request bodies up to 4 MB (real-time: 6 MB); a batched request
# stays under the smaller limit.
MODEL_MAX_REQUEST_BYTES = 4_000_000

# Dispositions of an object after one invocation.
WRITTEN = "written"  # this event's result is now stored (and published)
UNCHANGED = "unchanged"  # the table already held this event's result or a newer one: success
TRANSIENT = "transient"  # nothing conclusive happened: the trigger must deliver the event again


@dataclass(frozen=True)
class Clients:
    """The four low-level AWS clients the pipeline calls (boto3 clients or in-process fakes)."""

    s3: Any
    sagemaker_runtime: Any
    dynamodb: Any
    sns: Any


@dataclass(frozen=True)
class ObjectOutcome:
    """How one object reference ended in this invocation."""

    ref: ObjectRef  # the object actually read (its key may be an EventBridge fallback key)
    disposition: str
    result: Result | None = None  # what this event concluded, when it got that far
    error: str | None = None  # why the object must be retried
    published: bool = False

    @property
    def failed(self) -> bool:
        """True when the object must be retried by the trigger."""
        return self.disposition == TRANSIENT


def process(
    refs: Sequence[ObjectRef],
    clients: Clients,
    settings: Settings,
    logger: Any = None,
    now: Callable[[], datetime] = utc_now,
) -> list[ObjectOutcome]:
    """Process every reference and return one outcome per reference, in order; never raises for one object."""
    if not refs:
        return []
    distinct: dict[ObjectRef, int] = {}
    # The same event delivered twice in one batch is processed once; both references share the outcome.
    positions = [distinct.setdefault(ref, len(distinct)) for ref in refs]
    with ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="inference") as pool:
        run = _Run(
            refs=list(distinct),
            clients=clients,
            settings=settings,
            log=logger or logging.getLogger(__name__),
            now=now,
            pool=pool,
        )
        outcomes = run.run()
    return [outcomes[position] for position in positions]


@dataclass(frozen=True)
class _Prepared:
    ref: ObjectRef
    meta: ObjectMeta | None
    payload: Payload | None = None  # to send to the model
    result: Result | None = None  # concluded without the model (missing, rejected)


@dataclass(frozen=True)
class _SplitChunk:
    why: str


class _Run:
    """One invocation's work: a main-thread loop dispatching stages to the pool as futures complete."""

    def __init__(
        self,
        *,
        refs: list[ObjectRef],
        clients: Clients,
        settings: Settings,
        log: Any,
        now: Callable[[], datetime],
        pool: ThreadPoolExecutor,
    ) -> None:
        self.refs = refs
        self.clients = clients
        self.settings = settings
        self.log = log
        self.now = now
        self.pool = pool
        # Objects admitted but not past the model hold their payload in memory: bound how many at once.
        self.window = max(settings.max_workers, settings.model_max_batch_size)
        self.batching = settings.model_max_batch_size > 1
        self.next_index = 0
        self.before_write = 0
        self.fetching = 0
        self.pending: dict[Future, Callable[[Any], None]] = {}
        self.prepared: dict[int, _Prepared] = {}
        self.chunk: list[int] = []
        self.chunk_bytes = 0
        self.outcomes: dict[int, ObjectOutcome] = {}
        self.to_publish: list[tuple[int, dict[str, Any]]] = []

    # --- the loop ---------------------------------------------------------------------------------------
    def run(self) -> dict[int, ObjectOutcome]:
        self._admit()
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in done:
                then = self.pending.pop(future)
                try:
                    value = future.result()
                except Exception as err:  # the continuation fails the object
                    value = err
                then(value)
            self._admit()
            if self.chunk and not self.fetching:
                self._flush_chunk()
        self._publish()
        return self.outcomes

    def _submit(self, then: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        self.pending[self.pool.submit(fn, *args)] = then

    def _admit(self) -> None:
        while self.next_index < len(self.refs) and self.before_write < self.window:
            index = self.next_index
            self.next_index += 1
            self.before_write += 1
            self.fetching += 1
            self._submit(lambda value, i=index: self._on_fetched(i, value), self._fetch, self.refs[index])

    # --- stage 1: read and prepare ----------------------------------------------------------------------
    def _fetch(self, ref: ObjectRef) -> _Prepared:
        limit = self.settings.max_object_bytes
        try:
            if ref.size is not None and ref.size > limit:
                # The event already says it is too large: no need to touch the object.
                raise adapters.ObjectTooLarge(REASON_TOO_LARGE, f"event size {ref.size} > limit {limit}")
            try:
                fetched = adapters.get_object(self.clients.s3, ref.bucket, ref.key, ref.version_id, limit)
            except adapters.ObjectMissing:
                if not ref.fallback_key:
                    raise
                as_given = replace(ref, key=ref.fallback_key, fallback_key=None)
                try:
                    fetched = adapters.get_object(
                        self.clients.s3, ref.bucket, as_given.key, ref.version_id, limit
                    )
                except adapters.ObjectMissing:
                    raise  # neither exists: "missing" names the decoded key
                except adapters.PermanentError:
                    ref = as_given  # it exists under the key as given
                    raise
                ref = as_given
        except adapters.ObjectMissing as err:
            return _Prepared(ref, err.meta, result=Result(STATUS_MISSING, err.reason))
        except adapters.PermanentError as err:
            return _Prepared(ref, err.meta, result=Result(STATUS_REJECTED, err.reason))
        built = build_payload(ref.key, fetched.data)
        if isinstance(built, Result):
            return _Prepared(ref, fetched.meta, result=built)
        return _Prepared(ref, fetched.meta, payload=built)

    def _on_fetched(self, index: int, value: Any) -> None:
        self.fetching -= 1
        if isinstance(value, Exception):
            self.before_write -= 1
            self._fail(index, self.refs[index], value)
            return
        self.prepared[index] = value
        if value.result is not None:
            self.before_write -= 1
            self._write(index, value.result)
        elif self.batching and value.payload.text is not None:
            self._add_to_chunk(index)
        else:
            self._invoke_alone(index)

    # --- stage 2: the model -----------------------------------------------------------------------------
    def _add_to_chunk(self, index: int) -> None:
        size = text_request_bytes(self.prepared[index].payload.text)
        if self.chunk and self.chunk_bytes + size > MODEL_MAX_REQUEST_BYTES:
            self._flush_chunk()
        self.chunk.append(index)
        self.chunk_bytes += size
        if len(self.chunk) >= self.settings.model_max_batch_size:
            self._flush_chunk()

    def _flush_chunk(self) -> None:
        # Even a chunk of one goes as a list: every batched text's prediction is then its element of the
        # answer, the same shape whatever its chunk's size (a model may answer one string differently).
        indexes, self.chunk, self.chunk_bytes = self.chunk, [], 0
        texts = [self.prepared[index].payload.text for index in indexes]
        self._submit(lambda value: self._on_model(indexes, value), self._invoke_many, texts)

    def _invoke_alone(self, index: int) -> None:
        payload = self.prepared[index].payload
        self._submit(lambda value: self._on_model([index], value), self._invoke_one, payload)

    def _invoke_one(self, payload: Payload) -> list[Result]:
        try:
            response = adapters.invoke_endpoint(
                self.clients.sagemaker_runtime,
                self.settings.endpoint_name,
                payload.body,
                self.settings.content_type,
            )
        except adapters.ModelRejected:
            return [Result(STATUS_FAILED, REASON_MODEL_ERROR)]
        return [completed_result(parse_prediction(response))]

    def _invoke_many(self, texts: list[str]) -> list[Result] | _SplitChunk:
        try:
            response = adapters.invoke_endpoint(
                self.clients.sagemaker_runtime,
                self.settings.endpoint_name,
                batch_body(texts),
                self.settings.content_type,
            )
        except adapters.ModelRejected as err:
            # One bad input rejects the whole request; alone, each input gets its own answer.
            return _SplitChunk(f"model rejected the batched request ({err})")
        predictions = split_batched_prediction(parse_prediction(response), len(texts))
        if predictions is None:
            # The model does not answer a list with a list of the same length: its batching cannot be
            # trusted, so each input is sent alone (correct, at the cost of one call per object).
            return _SplitChunk(f"batched response is not a list of {len(texts)} predictions")
        return [completed_result(prediction) for prediction in predictions]

    def _on_model(self, indexes: list[int], value: Any) -> None:
        if isinstance(value, _SplitChunk):
            for index in indexes:
                self._info("batched request split: sending the input alone", index, why=value.why)
                self._invoke_alone(index)
            return
        self.before_write -= len(indexes)
        if isinstance(value, Exception):
            for index in indexes:
                self._fail(index, self.prepared.pop(index).ref, value)
            return
        for index, result in zip(indexes, value, strict=True):
            self._write(index, result)

    # --- stage 3: the conditional write -----------------------------------------------------------------
    def _write(self, index: int, result: Result) -> None:
        prepared = self.prepared.pop(index)
        ref = prepared.ref
        item = result_item(ref, prepared.meta, result, self.settings.endpoint_name, self.now())
        self._submit(
            lambda value: self._on_written(index, ref, result, item, value),
            adapters.put_result,
            self.clients.dynamodb,
            self.settings.results_table,
            item,
        )

    def _on_written(self, index: int, ref: ObjectRef, result: Result, item: dict, value: Any) -> None:
        if isinstance(value, Exception):
            self._fail(index, ref, value)
            return
        if value.written:
            self.outcomes[index] = ObjectOutcome(ref, WRITTEN, result)
            self.to_publish.append((index, item))
            return
        self.outcomes[index] = ObjectOutcome(ref, UNCHANGED, result)
        stored = value.stored or {}
        if stored.get(SEQUENCER_ORDER_ATTRIBUTE) == item.get(SEQUENCER_ORDER_ATTRIBUTE):
            # This event's result is already stored (a redelivery). Its outcome may never have been
            # published (that is why events are redelivered after a write), so publish the stored one again.
            self.to_publish.append((index, stored))
        else:
            self._info("a newer result is already stored; this older event changes nothing", index, ref=ref)

    # --- stage 4: publish outcomes ----------------------------------------------------------------------
    def _publish(self) -> None:
        if not self.to_publish:
            return
        messages = [outcome_message(item) for _, item in self.to_publish]
        futures = {}
        for chunk in publish_chunks([message.size for message in messages]):
            batch = [messages[position] for position in chunk]
            future = self.pool.submit(
                adapters.publish_batch, self.clients.sns, self.settings.topic_arn, batch
            )
            futures[future] = chunk
        for future, chunk in futures.items():
            try:
                failures = {chunk[position]: error for position, error in future.result().items()}
            except Exception as err:  # every entry of the chunk is unpublished
                failures = dict.fromkeys(chunk, str(err))
            for position in chunk:
                index, item = self.to_publish[position]
                outcome = self.outcomes[index]
                if position in failures:
                    # The item is written but nobody was told: retry the event. Its write will then meet the
                    # stored item, count as a redelivery and publish again, so the outcome is not lost.
                    error = adapters.TransientError(f"outcome not published: {failures[position]}")
                    self._fail(index, outcome.ref, error)
                else:
                    self.outcomes[index] = replace(outcome, published=True)
                    self._info(
                        "object processed", index, ref=outcome.ref, item=item, disposition=outcome.disposition
                    )

    # --- outcomes and logging ---------------------------------------------------------------------------
    def _fail(self, index: int, ref: ObjectRef, err: Exception) -> None:
        fields = {"object_uri": ref.uri, "route": ref.route, "error": str(err)}
        if isinstance(err, adapters.TransientError):
            self.log.warning("object will be retried: transient failure", extra=fields)
        else:
            self.log.exception("object will be retried: unexpected error", exc_info=err, extra=fields)
        self.outcomes[index] = ObjectOutcome(ref, TRANSIENT, error=str(err) or type(err).__name__)

    def _info(self, message: str, index: int, ref: ObjectRef | None = None, **fields: Any) -> None:
        ref = ref or self.prepared.get(index, _Prepared(self.refs[index], None)).ref
        extra: dict[str, Any] = {"object_uri": ref.uri, "route": ref.route}
        item = fields.pop("item", None)
        if item is not None:
            extra.update(status=item.get("status"), reason=item.get("reason"))
        extra.update(fields)
        self.log.info(message, extra=extra)
