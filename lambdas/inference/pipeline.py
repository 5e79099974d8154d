"""Process object references concurrently, each in isolation: GetObject → InvokeEndpoint (text inputs
optionally batched) → PutObject of a result too large for its item → conditional PutItem → PublishBatch.

Stateless: clients, settings, logger, deadline, sleep and randomness are passed in, so the app, the local run,
the tests and the benchmarks inject their own (fakes need only the client methods adapters.py calls).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import adapters
from .contract import (
    ENV_MAX_PAYLOAD_BYTES,
    HF_DECODED_CONTENT_TYPES,
    PAYLOAD_BINARY,
    PAYLOAD_JSON,
    REASON_MODEL_ERROR,
    STATUS_FAILED,
    STATUS_MISSING,
    STATUS_REJECTED,
)
from .domain import (
    BATCH_ENVELOPE_BYTES,
    ModelIdentity,
    ObjectMeta,
    ObjectRef,
    Payload,
    Result,
    batch_body,
    binary_content_type,
    binary_payload,
    build_json_payload,
    build_payload,
    completed_result,
    full_jitter_delay,
    large_result_key,
    leaves_room,
    needs_large_result,
    outcome_message,
    parse_prediction,
    prediction_document,
    publish_chunks,
    record_payload,
    request_bytes,
    result_item,
    same_event,
    split_batched_prediction,
    stored_elsewhere,
    text_payload,
    text_request_bytes,
    too_large,
    unsupported_content_type,
    utc_now,
)
from .settings import Settings

# Dispositions of an object after one invocation.
WRITTEN = "written"  # this event's result is now stored (and published)
UNCHANGED = "unchanged"  # the table already held this event's result or a newer one: success
TRANSIENT = "transient"  # nothing conclusive happened: the trigger must deliver the event again

# A guard that holds even when the remaining time never shrinks (a stand-in context): with a real clock the
# deadline ends the retries of a throttled call long before this many.
MAX_THROTTLED_RETRIES = 100


@dataclass(frozen=True)
class Clients:
    """The four low-level AWS clients the pipeline calls (boto3 clients or in-process fakes)."""

    s3: Any
    sagemaker_runtime: Any
    dynamodb: Any
    sns: Any


@dataclass(frozen=True)
class Deadline:
    """The invocation's time limit, which throttled retries and resent inputs of the model stage must fit."""

    remaining: Callable[[], float]  # seconds until the function times out (from Lambda's context)
    reserve: float  # seconds that one more InvokeEndpoint, then the write and the publish, may take at worst

    def has_room_after(self, delay: float) -> bool:
        """Whether a retry after waiting `delay` seconds still finishes, worst case, before the timeout."""
        return leaves_room(self.remaining(), delay, self.reserve)


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
    *,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    environment_started_at: int = 0,
) -> list[ObjectOutcome]:
    """One outcome per reference, in order; never raises for one object. Without a `deadline`, throttled
    calls are not retried and split inputs are resent unchecked."""
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
            deadline=deadline,
            sleep=sleep,
            jitter=jitter,
            model=ModelIdentity(settings.model, settings.model_version, environment_started_at),
        )
        outcomes = run.run()
    return [outcomes[position] for position in positions]


@dataclass(frozen=True)
class _Prepared:
    ref: ObjectRef
    meta: ObjectMeta | None
    payload: Payload | None = None  # to send to the model
    result: Result | None = None  # concluded without the model (missing, rejected)

    @classmethod
    def of(cls, ref: ObjectRef, meta: ObjectMeta | None, built: Payload | Result) -> _Prepared:
        """The object with its model request, or with the Result that concluded it without the model."""
        if isinstance(built, Result):
            return cls(ref, meta, result=built)
        return cls(ref, meta, payload=built)


def _unreadable(err: adapters.PermanentError, limit: int, variable: str) -> Result:
    """The outcome of an object S3 would not (or was not asked to) give: missing, or rejected saying why."""
    if isinstance(err, adapters.ObjectMissing):
        return Result(STATUS_MISSING, err.reason)
    if isinstance(err, adapters.ObjectTooLarge):
        return too_large(err.meta.size if err.meta is not None else None, limit, variable)
    if isinstance(err, adapters.UnsupportedContentType):
        return unsupported_content_type(err.content_type)
    return Result(STATUS_REJECTED, err.reason)


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
        deadline: Deadline | None,
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
        model: ModelIdentity,
    ) -> None:
        self.refs = refs
        self.model = model
        self.deadline = deadline
        self.sleep = sleep
        self.jitter = jitter
        self.clients = clients
        self.settings = settings
        self.log = log
        self.now = now
        self.pool = pool
        # Objects admitted but not past the model hold their payload in memory: bound how many at once (no
        # more than the threads can read, or a chunk needs) and how many bytes (the memory budget).
        self.window = max(settings.max_workers, settings.model_max_batch_size)
        self.budget = settings.max_in_flight_bytes
        self.batching = settings.model_max_batch_size > 1
        self.next_index = 0
        self.before_write = 0
        self.in_flight_bytes = 0
        self.costs: dict[int, int] = {}
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
        # In event order: a large object waiting for room is not overtaken by the small ones behind it, so it
        # cannot starve. One larger than the whole budget goes alone once nothing else is in flight.
        while self.next_index < len(self.refs) and self.before_write < self.window:
            index = self.next_index
            cost = self._cost(self.refs[index])
            if self.in_flight_bytes and self.in_flight_bytes + cost > self.budget:
                return
            self.next_index += 1
            self.before_write += 1
            self.in_flight_bytes += cost
            self.costs[index] = cost
            self.fetching += 1
            self._submit(lambda value, i=index: self._on_fetched(i, value), self._fetch, self.refs[index])

    def _cost(self, ref: ObjectRef) -> int:
        """Bytes an object may hold in memory until it is past the model: its size from the event; unknown,
        the most that may be read; over the limit, none (it is refused without being read)."""
        limit = self.settings.read_limit
        if ref.size is None:
            return limit
        return ref.size if ref.size <= limit else 0

    def _release(self, indexes: Sequence[int]) -> None:
        """These objects are past the model (or concluded without it): their bytes leave the budget."""
        self.before_write -= len(indexes)
        self.in_flight_bytes -= sum(self.costs.pop(index, 0) for index in indexes)

    # --- stage 1: read and prepare ----------------------------------------------------------------------
    def _fetch(self, ref: ObjectRef) -> _Prepared:
        settings = self.settings
        limit, variable = settings.read_limit, settings.read_limit_variable
        if ref.size is not None and ref.size > limit:
            what = "object" if ref.data is None else "record"
            return _Prepared(ref, None, result=too_large(ref.size, limit, variable, what))
        if ref.data is not None:
            return self._prepare_record(ref)
        # A binary object with no configured content type is sent with its own: S3's answer decides, before
        # the body is read, whether the model can decode it.
        content_types = None
        if settings.payload_format == PAYLOAD_BINARY and settings.binary_content_type is None:
            content_types = HF_DECODED_CONTENT_TYPES
        try:
            try:
                fetched = adapters.get_object(
                    self.clients.s3, ref.bucket, ref.key, ref.version_id, limit, content_types
                )
            except adapters.ObjectMissing:
                if not ref.fallback_key:
                    raise
                as_given = replace(ref, key=ref.fallback_key, fallback_key=None)
                try:
                    fetched = adapters.get_object(
                        self.clients.s3, ref.bucket, as_given.key, ref.version_id, limit, content_types
                    )
                except adapters.ObjectMissing:
                    raise  # neither exists: "missing" names the decoded key
                except adapters.PermanentError:
                    ref = as_given  # it exists under the key as given
                    raise
                ref = as_given
        except adapters.PermanentError as err:
            return _Prepared(ref, err.meta, result=_unreadable(err, limit, variable))
        return _Prepared.of(ref, fetched.meta, self._build(ref, fetched))

    def _prepare_record(self, ref: ObjectRef) -> _Prepared:
        settings = self.settings
        built = record_payload(
            ref.data or b"", settings.payload_format, settings.json_input_field, settings.json_request_key
        )
        return _Prepared.of(ref, ObjectMeta(size=ref.size), self._within_request_limit(built))

    def _build(self, ref: ObjectRef, fetched: adapters.FetchedObject) -> Payload | Result:
        """The model request for an object read, in the route's payload format, within InvokeEndpoint's
        limit; or the Result that concludes the object without the model."""
        settings = self.settings
        if settings.payload_format == PAYLOAD_BINARY:
            # The bytes are the request: read_limit (MAX_PAYLOAD_BYTES) has already bounded them.
            content_type = binary_content_type(settings.binary_content_type, fetched.content_type)
            if isinstance(content_type, Result):
                return content_type
            return binary_payload(fetched.data, content_type)
        if settings.payload_format == PAYLOAD_JSON:
            built = build_json_payload(fetched.data, settings.json_input_field, settings.json_request_key)
        else:
            built = build_payload(ref.key, fetched.data)
        return self._within_request_limit(built)

    def _within_request_limit(self, built: Payload | Result) -> Payload | Result:
        if isinstance(built, Payload):
            # Escaping can make a request larger than its object (a control character is 6 bytes in JSON).
            size = request_bytes(built, self.batching)
            limit = self.settings.max_payload_bytes
            if size > limit:
                return too_large(size, limit, ENV_MAX_PAYLOAD_BYTES, "the model request")
        return built

    def _on_fetched(self, index: int, value: Any) -> None:
        self.fetching -= 1
        if isinstance(value, Exception):
            self._release([index])
            self._fail(index, self.refs[index], value)
            return
        self.prepared[index] = value
        if value.result is not None:
            self._release([index])
            self._write(index, value.result)
        elif self.batching and value.payload.text is not None:
            self._add_to_chunk(index)
        else:
            self._invoke_alone(index, resend=False)

    # --- stage 2: the model -----------------------------------------------------------------------------
    def _add_to_chunk(self, index: int) -> None:
        size = text_request_bytes(self.prepared[index].payload.text)
        if self.chunk and BATCH_ENVELOPE_BYTES + self.chunk_bytes + size > self.settings.max_payload_bytes:
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
        self._submit(
            lambda value: self._on_model(indexes, value), self._invoke_texts, texts, self._uris(indexes)
        )

    def _invoke_alone(self, index: int, *, resend: bool) -> None:
        payload = self.prepared[index].payload
        call: Callable[..., Any] = self._invoke_one
        request: Any = payload
        if self.batching and payload.text is not None:
            # With batching on, a text isolated from its chunk still goes as a one-input list: its stored
            # prediction must not depend on whether its chunk was split.
            call, request = self._invoke_texts, [payload.text]
        self._submit(lambda value: self._on_model([index], value), call, request, self._uris([index]), resend)

    def _invoke_one(self, payload: Payload, uris: list[str], resend: bool = False) -> list[Result]:
        try:
            response = self._call_model(payload.body, uris, resend, payload.content_type)
        except adapters.ModelRejected:
            return [Result(STATUS_FAILED, REASON_MODEL_ERROR)]
        return [completed_result(parse_prediction(response))]

    def _invoke_texts(
        self, texts: list[str], uris: list[str], resend: bool = False
    ) -> list[Result] | _SplitChunk:
        try:
            response = self._call_model(batch_body(texts), uris, resend)
        except (adapters.ModelRejected, adapters.ModelFailed) as err:
            if len(texts) > 1:
                # The model itself failed the request (a 4xx or a 5xx of its container), maybe because of
                # one input: alone, each input gets its own outcome and only a bad one is failed or retried.
                # Throttling is not input-specific, so _call_model retries a throttled chunk whole instead.
                return _SplitChunk(f"model failed the batched request ({err})")
            if isinstance(err, adapters.ModelRejected):
                return [Result(STATUS_FAILED, REASON_MODEL_ERROR)]
            raise
        predictions = split_batched_prediction(parse_prediction(response), len(texts))
        if predictions is not None:
            return [completed_result(prediction) for prediction in predictions]
        if len(texts) > 1:
            # Not a list of one prediction per input: this chunk's answer cannot be mapped back, so each
            # input goes alone, as a one-input list, and keeps the shape of every other batched text.
            return _SplitChunk(f"batched response is not a list of {len(texts)} predictions")
        # Not even a one-input list gets a list of one: the model does not batch, so the text is scored as a
        # string, as with batching off (every text of such a model ends here: the shape stays the model's).
        return self._invoke_one(text_payload(texts[0]), uris, resend=True)

    def _call_model(
        self, body: bytes, uris: list[str], resend: bool, content_type: str | None = None
    ) -> bytes:
        """InvokeEndpoint (with the route's content type unless the payload has its own); a throttled call is
        retried whole, after a jittered pause, while time allows."""
        if resend and self.deadline is not None and not self.deadline.has_room_after(0):
            # An input sent again (its chunk split, or its model not batching) is one more call in its chain:
            # like a throttled retry, it starts only if its worst case, the write and the publish still fit.
            raise adapters.TransientError("no time left in this invocation to send the input again")
        # botocore has already retried a ThrottlingException (standard mode) before it reaches this loop; the
        # loop absorbs what outlasts that, up to the invocation's deadline, instead of failing the objects.
        attempt = 0
        while True:
            try:
                return adapters.invoke_endpoint(
                    self.clients.sagemaker_runtime,
                    self.settings.endpoint_name,
                    body,
                    content_type or self.settings.content_type,
                )
            except adapters.ModelThrottled as err:
                delay = full_jitter_delay(attempt, self.jitter())
                if (
                    self.deadline is None
                    or attempt >= MAX_THROTTLED_RETRIES
                    or not self.deadline.has_room_after(delay)
                ):
                    raise adapters.ModelThrottled(
                        f"{err} (gave up after {attempt + 1} attempt(s) within this invocation)"
                    ) from err
                self.log.info(
                    "model throttled: retrying after a pause",
                    extra={
                        "route": self.settings.route,
                        "object_uris": uris,
                        "attempt": attempt + 1,
                        "delay_seconds": round(delay, 3),
                        "error": str(err),
                    },
                )
                self.sleep(delay)
                attempt += 1

    def _uris(self, indexes: list[int]) -> list[str]:
        return [self.prepared[index].ref.uri for index in indexes]

    def _on_model(self, indexes: list[int], value: Any) -> None:
        if isinstance(value, _SplitChunk):
            for index in indexes:
                self._info("batched request split: sending the input alone", index, why=value.why)
                self._invoke_alone(index, resend=True)
            return
        self._release(indexes)
        if isinstance(value, Exception):
            for index in indexes:
                self._fail(index, self.prepared.pop(index).ref, value)
            return
        for index, result in zip(indexes, value, strict=True):
            self._write(index, result)

    # --- stage 3: a large result to S3, then the conditional write ---------------------------------------
    def _write(self, index: int, result: Result) -> None:
        prepared = self.prepared.pop(index)
        if not needs_large_result(result):
            self._put_item(index, prepared, result)
            return
        # Written before the item, so no item ever points to a result that is not there; if the item then
        # turns out older than the stored one, the S3 object is left unreferenced (nothing reads it).
        key = large_result_key(
            self.settings.large_results_prefix, prepared.ref, prepared.meta, self.settings.model_version
        )
        self._submit(
            lambda value: self._on_large_result_written(index, prepared, result, value),
            adapters.put_large_result,
            self.clients.s3,
            self.settings.bucket,
            key,
            prediction_document(result.prediction),
        )

    def _on_large_result_written(self, index: int, prepared: _Prepared, result: Result, value: Any) -> None:
        if isinstance(value, Exception):
            self._fail(index, prepared.ref, value)
            return
        self._put_item(index, prepared, stored_elsewhere(result, value))

    def _put_item(self, index: int, prepared: _Prepared, result: Result) -> None:
        ref = prepared.ref
        item = result_item(
            ref, prepared.meta, result, self.settings.endpoint_name, self.now(), model=self.model
        )
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
        if same_event(stored, item):
            # This event's result is already stored (a redelivery, or a later deployment's re-score). Its
            # outcome may never have been published (that is why events are redelivered after a write), so
            # publish the stored one again.
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
