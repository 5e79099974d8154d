"""`python -m ops`: inspect dead-letter queues, redrive them, reprocess or backfill objects, read results.

Conventions of the AWS and Pulumi CLIs: subcommands, `--dry-run` before anything that changes state,
`--json` for scripts, a progress bar (on stderr, only on a terminal) on long work, standard boto3 credentials
and `AWS_ENDPOINT_URL` (e.g. the local cloud's). Exit codes: 0 done, 1 some work failed (each failure is
listed), 2 bad input (unknown route or model, outputs that are not this project's, a bad date or manifest).
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import aws
from .dead_letters import DeadLetter, Unreadable
from .inventory import InventoryError, inventory_rows, parse_manifest
from .outputs import OpsError, ResultWriter, Route, Stack, read_outputs
from .planning import Planned, Skipped, dedupe, in_window, inventory_keys, notice_effect, plan_object
from .s3_events import entry_payload
from .stream_batches import EXPIRED, collect, invocation_failure, kinesis_event
from .writer_letters import NoticeLetter

EXIT_FAILURES = 1
MOVE_TASK_POLL_SECONDS = 2.0

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )


class Context:
    def __init__(self, outputs: Path | None) -> None:
        self.outputs_path = outputs
        self._stack: Stack | None = None
        self._clients: aws.Clients | None = None

    @property
    def stack(self) -> Stack:
        if self._stack is None:
            self._stack = read_outputs(self.outputs_path)
        return self._stack

    @property
    def clients(self) -> aws.Clients:
        if self._clients is None:
            self._clients = aws.Clients(self.stack.region)
        return self._clients


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--outputs",
    "outputs",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Stack outputs as `pulumi stack output --json` prints them (default: run that command), "
    "e.g. .localcloud/outputs.json for the local cloud.",
)
@click.pass_context
def main(ctx: click.Context, outputs: Path | None) -> None:
    """Operate the ai-event-pipeline stack: dead-letter queues, redrive, reprocess and backfill, results."""
    ctx.obj = Context(outputs)


class BadInput(click.ClickException):
    exit_code = 2


def _run(fn: Any) -> Any:
    """OpsError and AWS errors become a one-line message and exit code 2 / 1, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpsError as err:
            raise BadInput(str(err)) from err
        except aws.AWS_ERRORS as err:
            stderr.print(f"[red]AWS error:[/red] {err}")
            sys.exit(EXIT_FAILURES)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# -- dlq -------------------------------------------------------------------------------------------------
def _one_dlq(route_name: str | None, model_name: str | None, required: bool) -> None:
    if route_name and model_name:
        raise OpsError("--route and --model name different DLQs: give one of them")
    if required and not (route_name or model_name):
        raise OpsError("give --route ROUTE (its DLQ) or --model MODEL (its result writer's DLQ)")


@main.command()
@click.option("--route", "route_name", help="Only this route's DLQ (default: every route).")
@click.option("--model", "model_name", help="An async model: its result writer's DLQ instead.")
@click.option("--sample", default=10, show_default=True, help="Messages decoded per DLQ (none is deleted).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_run
def dlq(obj: Context, route_name: str | None, model_name: str | None, sample: int, as_json: bool) -> None:
    """Per route DLQ: message count, oldest age, and decoded samples (objects, kind, failure reason).

    With --model: the async model's result writer DLQ, its samples decoded to the inference id, the input
    object, SageMaker's status, why the notice is there, and what a redrive would do with it now.
    """
    _one_dlq(route_name, model_name, required=False)
    if model_name:
        _writer_dlq(obj, obj.stack.writer(model_name), sample, as_json)
        return
    stack, now = obj.stack, datetime.now(UTC)
    report = []
    for route in stack.selected(route_name):
        look = aws.look(obj.clients.sqs, route, stack.bucket, sample)
        age = look.oldest_age_seconds(now)
        report.append(
            {
                "route": route.name,
                "via": route.via,
                "dlq_url": route.dlq_url,
                "messages": look.visible,
                "in_flight": look.in_flight,
                "oldest_sampled_age_seconds": round(age, 1) if age is not None else None,
                "samples": [_describe(h.decoded) for h in look.held],
            }
        )
    if as_json:
        emit_json(report)
        return
    table = Table("route", "via", "messages", "oldest (s)", "kind", "objects", "reason")
    for entry in report:
        samples = entry["samples"] or [{}]
        for index, s in enumerate(samples):
            first = index == 0
            table.add_row(
                entry["route"] if first else "",
                entry["via"] if first else "",
                str(entry["messages"]) if first else "",
                str(entry["oldest_sampled_age_seconds"] or "") if first else "",
                s.get("kind", ""),
                "\n".join(s.get("objects", [])) or s.get("refused", "") or _batch_cell(s),
                s.get("reason", s.get("skipped", "")),
            )
    stdout.print(table)


def _describe(decoded: DeadLetter | Unreadable) -> dict[str, Any]:
    if isinstance(decoded, Unreadable):
        return {"message_id": decoded.message_id, "kind": "unreadable", "skipped": decoded.why}
    described: dict[str, Any] = {
        "message_id": decoded.message_id,
        "kind": decoded.kind.value,
        "objects": list(decoded.object_uris),
        "reason": decoded.reason,
    }
    if decoded.refused_uris:
        described["refused"] = ", ".join(decoded.refused_uris)
    if decoded.batch is not None:
        batch = decoded.batch
        described.update(
            shard=batch.shard_id,
            sequence_numbers=batch.sequence_range,
            records=batch.batch_size,
            first_arrival=batch.first_arrival,
            last_arrival=batch.last_arrival,
        )
    return described


def _writer_dlq(obj: Context, writer: ResultWriter, sample: int, as_json: bool) -> None:
    stack, clients = obj.stack, obj.clients
    look = aws.look_at_writer(clients.sqs, writer, sample)
    age = look.oldest_age_seconds(datetime.now(UTC))
    samples = []
    for held in look.held:
        letter = held.decoded
        assert not isinstance(letter, DeadLetter)
        effect = _effect(clients, stack, writer, letter) if isinstance(letter, NoticeLetter) else None
        samples.append(_describe_notice(letter, effect))
    report = [
        {
            "model": writer.model,
            "function": writer.function_name,
            "dlq_url": writer.dlq_url,
            "messages": look.visible,
            "in_flight": look.in_flight,
            "oldest_sampled_age_seconds": round(age, 1) if age is not None else None,
            "samples": samples,
        }
    ]
    if as_json:
        emit_json(report)
        return
    table = Table("model", "messages", "oldest (s)", "kind", "inference id", "input", "reason", "on redrive")
    for entry in report:
        for index, s in enumerate(entry["samples"] or [{}]):
            first = index == 0
            table.add_row(
                entry["model"] if first else "",
                str(entry["messages"]) if first else "",
                str(entry["oldest_sampled_age_seconds"] or "") if first else "",
                s.get("kind", ""),
                s.get("inference_id", ""),
                s.get("input", ""),
                s.get("reason", s.get("skipped", "")),
                s.get("on_redrive", ""),
            )
    stdout.print(table)


def _effect(clients: aws.Clients, stack: Stack, writer: ResultWriter, letter: NoticeLetter) -> str:
    """What the writer would do with the notice now (from the results item of its input); informational, so
    an unreadable item is said, not raised: the notice still goes back."""
    try:
        stored = aws.item(clients.dynamodb, stack.table, letter.notice.input_location)
    except aws.AWS_ERRORS as err:
        return f"unknown: the results item could not be read ({err})"
    return notice_effect(letter.notice, stored, writer.output_uri)


def _describe_notice(decoded: NoticeLetter | Unreadable, effect: str | None) -> dict[str, Any]:
    if isinstance(decoded, Unreadable):
        return {"message_id": decoded.message_id, "kind": "unreadable", "skipped": decoded.why}
    return {
        "message_id": decoded.message_id,
        "kind": decoded.kind.value,
        "inference_id": decoded.notice.inference_id,
        "input": decoded.notice.input_location,
        "invocation_status": decoded.invocation_status,
        "topic_arn": decoded.topic_arn,
        "reason": decoded.reason,
        "on_redrive": effect,
    }


def _batch_cell(sample: dict[str, Any]) -> str:
    if "shard" not in sample:
        return ""
    return f"{sample['shard']} {sample['sequence_numbers']} ({sample['records']} records)"


# -- redrive ---------------------------------------------------------------------------------------------
@main.command()
@click.option("--route", "route_name", help="The route whose DLQ is redriven.")
@click.option("--model", "model_name", help="An async model: its result writer's DLQ is redriven.")
@click.option("--dry-run", is_flag=True, help="Decode and count; send and delete nothing.")
@click.option("--rate", type=click.IntRange(1, 500), help="At most N redeliveries per second.")
@click.option("--max", "max_messages", type=click.IntRange(min=1), help="At most M messages.")
@click.option("--keep", is_flag=True, help="Redeliver, but delete nothing from the DLQ.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_run
def redrive(  # noqa: PLR0917 - click passes each option
    obj: Context,
    route_name: str | None,
    model_name: str | None,
    dry_run: bool,
    rate: int | None,
    max_messages: int | None,
    keep: bool,
    as_json: bool,
) -> None:
    """Put every dead-lettered event of a route (--route) back through the route's own function, or every
    notice in an async model's result writer DLQ (--model) back to the writer.

    sqs route: SQS StartMessageMoveTask back to the route queue where the endpoint has it and no --max,
    --keep or --dry-run asks for message-by-message work; otherwise (and for every other kind) each message
    is decoded, redelivered (queue message to the route queue; invocation record, SNS or EventBridge dead
    letter to the function, asynchronously) and deleted only once the redelivery was accepted. Messages in
    an unexpected shape, or naming no object of the route, are skipped (with why) and stay in the DLQ.
    Safe to repeat: results are written conditionally on the S3 sequencer, so an event processed twice
    leaves one item unchanged and publishes its outcome again.

    --model: each notice goes to the result writer as the SNS event Lambda would have received (an
    asynchronous invoke) and is deleted once Lambda accepted it. The writer is idempotent: a notice whose item
    is final and its outcome published changes nothing; one whose outcome was not published is published.
    """
    _one_dlq(route_name, model_name, required=True)
    if model_name:
        _redrive_writer(obj, obj.stack.writer(model_name), dry_run, rate, max_messages, keep, as_json)
    else:
        _redrive_route(obj, obj.stack.route(str(route_name)), dry_run, rate, max_messages, keep, as_json)


def _redrive_route(  # noqa: PLR0917 - the redrive's options, passed on
    obj: Context,
    route: Route,
    dry_run: bool,
    rate: int | None,
    max_messages: int | None,
    keep: bool,
    as_json: bool,
) -> None:
    """A route's DLQ: see `redrive`."""
    stack, clients = obj.stack, obj.clients
    summary: dict[str, Any] = {"route": route.name, "dry_run": dry_run, "kept": keep}
    if route.via == "sqs" and not (dry_run or keep or max_messages):
        handle = aws.start_move_task(clients.sqs, route, rate)
        if handle is not None:
            summary.update(
                method="StartMessageMoveTask", task_handle=handle, **_await_move_task(clients, route)
            )
            _print_summary(summary, as_json)
            return
        summary["method_note"] = "StartMessageMoveTask is not available at this endpoint: moved one by one"
    summary["method"] = "receive, redeliver, delete"
    pacer = aws.Pacer(rate)

    def redeliver_one(letter: Any) -> tuple[str, str | None]:
        assert not isinstance(letter, NoticeLetter)
        if isinstance(letter, Unreadable):
            return "skipped", letter.why
        if not letter.redeliverable:
            return "skipped", letter.why_not_redeliverable
        state, why = _redeliver_letter(clients, stack, route, letter, dry_run, pacer)
        return state, f"{letter.message_id}: {why}" if state == "failed" else why

    letters = aws.each_dead_letter(clients.sqs, route, stack.bucket, max_messages)
    results = _redrive_messages(
        clients, route.dlq_url, route.name, letters, max_messages, keep, redeliver_one
    )
    summary.update(results)
    _print_summary(summary, as_json)
    if results["failures"]:
        sys.exit(EXIT_FAILURES)


def _redrive_messages(  # noqa: PLR0917 - one DLQ's messages and what to do with each
    clients: aws.Clients,
    dlq_url: str,
    label: str,
    held_letters: Iterable[Any],
    max_messages: int | None,
    keep: bool,
    redeliver_one: Callable[[Any], tuple[str, str | None]],
) -> dict[str, Any]:
    """Each held message of a DLQ through `redeliver_one` → (state, why); a redelivered one is deleted
    (unless --keep, or a why says it stays), any other released. Returns counts, skipped and failures.

    States: `redelivered`, `would redeliver` (dry run), `skipped` (why), `failed` (why: the failure line).
    """
    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    failures: list[str] = []
    release: list[dict[str, Any]] = []
    visible, _ = aws.queue_counts(clients.sqs, dlq_url)
    with progress() as bar:
        task = bar.add_task(f"redrive {label}", total=min(visible, max_messages or visible) or None)
        for held in held_letters:
            bar.advance(task)
            state, why = redeliver_one(held.decoded)
            if state == "failed":
                failures.append(str(why))
                release.append(held.message)
                continue
            if state == "skipped" or why is not None:  # a partly expired batch: redelivered, but kept
                skipped[str(why)] += 1
            if state != "skipped":
                counts[state] += 1
            if state != "redelivered" or why is not None or keep:
                release.append(held.message)
                continue
            clients.sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=held.message["ReceiptHandle"])
            counts["deleted"] += 1
    aws.release(clients.sqs, dlq_url, release)
    return {"counts": dict(counts), "skipped": dict(skipped), "failures": failures}


def _redrive_writer(  # noqa: PLR0917 - the redrive's options, passed on
    obj: Context,
    writer: ResultWriter,
    dry_run: bool,
    rate: int | None,
    max_messages: int | None,
    keep: bool,
    as_json: bool,
) -> None:
    """An async model's result writer DLQ, message by message: see `redrive`."""
    clients, stack, pacer = obj.clients, obj.stack, aws.Pacer(rate)
    summary: dict[str, Any] = {
        "model": writer.model,
        "function": writer.function_name,
        "dry_run": dry_run,
        "kept": keep,
        "method": "receive, redeliver, delete",
    }
    planned: Counter[str] = Counter()

    def redeliver_one(letter: Any) -> tuple[str, str | None]:
        if isinstance(letter, Unreadable):
            return "skipped", letter.why
        assert isinstance(letter, NoticeLetter)
        planned[_effect(clients, stack, writer, letter)] += 1
        if dry_run:
            return "would redeliver", None
        pacer.wait()
        try:
            aws.redeliver_notice(clients, writer, letter)
        except (*aws.AWS_ERRORS, RuntimeError) as err:
            return "failed", f"{letter.message_id} ({letter.notice.inference_id}): {err}"
        return "redelivered", None

    letters = aws.each_notice_letter(clients.sqs, writer, max_messages)
    results = _redrive_messages(
        clients, writer.dlq_url, writer.model, letters, max_messages, keep, redeliver_one
    )
    summary.update(planned=dict(planned), **results)
    _print_summary(summary, as_json)
    if results["failures"]:
        sys.exit(EXIT_FAILURES)


def _redeliver_letter(  # noqa: PLR0917 - the redrive's state, passed on
    clients: aws.Clients, stack: Stack, route: Route, letter: DeadLetter, dry_run: bool, pacer: aws.Pacer
) -> tuple[str, str | None]:
    """(state, why) of one redeliverable dead letter: see `_redrive_stream_batch`."""
    if letter.batch is not None:
        return _redrive_stream_batch(clients, stack, route, letter, dry_run, pacer)
    if dry_run:
        return "would redeliver", None
    pacer.wait()
    try:
        aws.redeliver(clients, route, letter)
    except (*aws.AWS_ERRORS, RuntimeError) as err:
        return "failed", str(err)
    return "redelivered", None


def _redrive_stream_batch(  # noqa: PLR0911, PLR0917 - one return per outcome
    clients: aws.Clients, stack: Stack, route: Route, letter: DeadLetter, dry_run: bool, pacer: aws.Pacer
) -> tuple[str, str | None]:
    """Re-read a dead-lettered Kinesis batch and invoke the function with it, synchronously.

    (state, why): `skipped` (nothing left to read), `failed`, `would redeliver` or `redelivered`; a why
    with a redelivery says the message stays (some of its records expired). The invocation is
    RequestResponse so the partial batch response is read: the message goes only when the whole batch
    completed (no FunctionError, no batchItemFailures).
    """
    assert letter.batch is not None
    try:
        reread = collect(letter.batch, aws.read_stream_batch(clients.kinesis, letter.batch))
    except aws.StreamUnreadable as err:
        return "skipped", f"not readable from the stream ({err})"
    except aws.AWS_ERRORS as err:
        return "failed", f"reading shard {letter.batch.shard_id}: {err}"
    if not reread.records:
        return "skipped", EXPIRED
    if dry_run:
        return "would redeliver", reread.why_kept
    pacer.wait()
    event = kinesis_event(letter.batch, reread.records, stack.region, route.role_arn)
    try:
        function_error, payload = aws.invoke_and_wait(clients, route, event)
    except (*aws.AWS_ERRORS, RuntimeError) as err:
        return "failed", str(err)
    failure = invocation_failure(function_error, payload)
    if failure is not None:
        return "failed", failure
    return "redelivered", reread.why_kept


def _await_move_task(clients: aws.Clients, route: Route) -> dict[str, Any]:
    with progress() as bar:
        task = bar.add_task(f"move task {route.name}", total=None)
        while True:
            status = aws.move_task_status(clients.sqs, route)
            bar.update(
                task,
                completed=status.get("ApproximateNumberOfMessagesMoved", 0),
                total=status.get("ApproximateNumberOfMessagesToMove"),
            )
            if status.get("Status") in aws.MOVE_TASK_DONE:
                return {
                    "status": status.get("Status"),
                    "moved": status.get("ApproximateNumberOfMessagesMoved"),
                    "failure_reason": status.get("FailureReason"),
                }
            time.sleep(MOVE_TASK_POLL_SECONDS)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            for name, count in value.items():
                stdout.print(f"{key}: {name}: {count}")
        elif isinstance(value, list):
            for line in value:
                stdout.print(f"{key}: {line}")
        else:
            stdout.print(f"{key}: {value}")


# -- reprocess -------------------------------------------------------------------------------------------
def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise OpsError(
            f"--since {value!r} is not an ISO date or time (e.g. 2025-01-31 or 2025-01-31T12:00Z)"
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list_prefix(route: Route, prefix: str | None) -> str:
    if not prefix or route.prefix.startswith(prefix):
        return route.prefix
    if prefix.startswith(route.prefix):
        return prefix
    raise OpsError(f"--prefix {prefix!r} is outside route {route.name!r}'s prefix {route.prefix!r}")


def _decompressed(raw: bytes) -> str:
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")


def _inventory_rows(clients: aws.Clients, stack: Stack, manifest: str) -> list[tuple[str, str, str | None]]:
    """The rows of a local CSV data file, or of every data file an `s3://.../manifest.json` names."""
    if not manifest.startswith("s3://"):
        path = Path(manifest)
        try:
            text = _decompressed(path.read_bytes())
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as err:
            raise OpsError(f"--manifest {path}: not a readable S3 Inventory CSV file ({err})") from err
        return list(inventory_keys(text))
    bucket, _, key = manifest.removeprefix("s3://").partition("/")
    try:
        parsed = parse_manifest(aws.object_bytes(clients.s3, bucket, key).decode("utf-8"))
        if parsed.source_bucket != stack.bucket:
            raise InventoryError(f"it inventories bucket {parsed.source_bucket!r}, not this stack's")
        rows = []
        # The data files are in the destination bucket (the manifest's own, unless it names another).
        for file_key in parsed.file_keys:
            raw = aws.object_bytes(clients.s3, parsed.destination_bucket or bucket, file_key)
            rows.extend(inventory_rows(_decompressed(raw), parsed.columns))
    except (aws.ObjectUnreadable, InventoryError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as err:
        raise OpsError(f"--manifest {manifest}: not a readable S3 Inventory CSV report ({err})") from err
    return rows


def _manifest_objects(clients: aws.Clients, stack: Stack, manifest: str) -> Iterable[Any]:
    rows = _inventory_rows(clients, stack, manifest)
    if not rows:
        raise OpsError(f"--manifest {manifest}: no `bucket,key[,version]` rows")
    for bucket, key, version in rows:
        if bucket != stack.bucket:
            raise OpsError(
                f"--manifest {manifest}: lists bucket {bucket!r}, not this stack's {stack.bucket!r}"
            )
        found = aws.head_object(clients.s3, bucket, key, version)
        if found is not None:
            yield found


@main.command()
@click.option("--route", "route_name", required=True, help="The route whose function processes the objects.")
@click.option("--prefix", help="Only keys under this prefix (within the route's).")
@click.option("--since", help="Only objects last modified at or after this ISO date/time (UTC if no zone).")
@click.option(
    "--manifest",
    help="These objects instead of a listing: an S3 Inventory report's s3://BUCKET/.../manifest.json "
    "(CSV format), or a local S3 Inventory CSV data file (optionally gzip).",
)
@click.option("--rate", type=click.IntRange(1, 1000), help="At most N events per second.")
@click.option("--dry-run", is_flag=True, help="Plan and count; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_run
def reprocess(  # noqa: PLR0917 - click passes each option
    obj: Context,
    route_name: str,
    prefix: str | None,
    since: str | None,
    manifest: str | None,
    rate: int | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send existing objects through a route's own entry (queue, topic or function), rate-limited.

    Each object goes as the S3 event that entry delivers, with its real version id, ETag and size and a
    sequencer chosen from its stored result: an unchanged model writes nothing new, a new model version
    re-scores, an object without a result is scored (backfill).
    """
    stack = obj.stack
    route = stack.route(route_name)
    if not route.reads_objects:
        raise OpsError(
            f"route {route.name!r} is a kinesis route: it scores records put on stream {route.stream_name}, "
            "not objects, so there is nothing to list or reprocess. Fix: put the records on the stream again "
            "(PutRecords; a record with the same `id` meets its own result), or redrive its dead-lettered "
            f"batches with `ops redrive --route {route.name}`."
        )
    since_at = _parse_since(since)
    clients = obj.clients
    if manifest is not None:
        objects = dedupe(_manifest_objects(clients, stack, manifest))
    else:
        objects = list(aws.current_objects(clients.s3, stack.bucket, _list_prefix(route, prefix)))
    objects = [o for o in objects if in_window(o, prefix, since_at)]
    pacer = aws.Pacer(rate)
    account = aws.account_of(route)
    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    failures: list[str] = []
    with progress() as bar:
        task = bar.add_task(f"reprocess {route.name}", total=len(objects))
        for candidate in objects:
            bar.advance(task)
            plan = plan_object(candidate, aws.item(clients.dynamodb, stack.table, candidate.uri), route)
            if isinstance(plan, Skipped):
                skipped[plan.why] += 1
                continue
            assert isinstance(plan, Planned)
            counts[plan.why] += 1
            if dry_run:
                continue
            pacer.wait()
            payload = entry_payload(route.via, plan.obj, plan.sequencer, stack.region, account)
            try:
                aws.send_to_entry(clients, route, payload)
            except (*aws.AWS_ERRORS, RuntimeError) as err:
                failures.append(f"{plan.obj.uri}: {err}")
                continue
            counts["sent"] += 1
    summary = {
        "route": route.name,
        "entry": route.entry,
        "dry_run": dry_run,
        "objects": len(objects),
        "planned": dict(counts),
        "skipped": dict(skipped),
        "failures": failures,
    }
    _print_summary(summary, as_json)
    if failures:
        sys.exit(EXIT_FAILURES)


# -- results ---------------------------------------------------------------------------------------------
RESULT_COLUMNS = ("pk", "status", "reason", "route", "model_version", "processed_at")


def select_results(
    items: Iterable[dict[str, Any]], status: str | None, route: str | None, prefix: str | None, bucket: str
) -> list[dict[str, Any]]:
    """Items matching every filter given, by key (pure)."""
    chosen = [
        item
        for item in items
        if (status is None or item.get("status") == status)
        and (route is None or item.get("route") == route)
        and (prefix is None or str(item.get("pk", "")).startswith(f"s3://{bucket}/{prefix}"))
    ]
    return sorted(chosen, key=lambda item: str(item.get("pk")))


@main.command()
@click.option("--status", type=click.Choice(["completed", "failed", "rejected", "missing"]))
@click.option("--route", "route_name", help="Only results written by this route.")
@click.option("--prefix", help="Only objects whose key starts with this.")
@click.option("--json", "as_json", is_flag=True, help="Every attribute, as JSON.")
@click.pass_obj
@_run
def results(
    obj: Context, status: str | None, route_name: str | None, prefix: str | None, as_json: bool
) -> None:
    """What the results table holds, filtered by status, route or key prefix."""
    stack = obj.stack
    if route_name:
        stack.route(route_name)
    chosen = select_results(
        aws.items(obj.clients.dynamodb, stack.table), status, route_name, prefix, stack.bucket
    )
    if as_json:
        emit_json(chosen)
        return
    table = Table(*RESULT_COLUMNS, title=f"{len(chosen)} results")
    for item in chosen:
        table.add_row(*("" if item.get(c) is None else str(item[c]) for c in RESULT_COLUMNS))
    stdout.print(table)
