"""`python -m localrun.demo` (`make demo`): the real stack in an in-process AWS emulator, fed sample files.

Deploys `__main__.py` with `Pulumi.<stack>.yaml` into moto (see `emulator.py`), uploads
each file of `samples/` with the Content-Type its name suggests to every route whose model's
payload format has an expectation for it (`EXPECTED`; respecting the route's suffix filter):
texts to the text routes, images to the image route, JSON documents to the async documents
route, plus generated cases — an object one byte over the handler's size limit, one whose
version is deleted before the pipeline reads it, and for the async route a document five times
the serverless request limit — then runs the pipeline until every file has an outcome (an async
document's once its result writer has stored SageMaker's notification), and prints each file's
hops, status and prediction (the stand-in's label or summary), a summary per route and the
DynamoDB items. Exit status 0 only if every file was delivered as the delivery contract says
(`delivery_contract.py`: one results item, its outcome published, no DLQ message) with the
outcome listed in `EXPECTED`, and no delivery was denied.

This emulates AWS (moto + the in-process Lambda runtime + a stand-in model per task); it does
not replace `pulumi preview` or a deployment.
"""

from __future__ import annotations

import argparse
import mimetypes
import re
import sys
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from lambdas.inference.contract import (
    ENV_MAX_OBJECT_BYTES,
    ENV_MAX_PAYLOAD_BYTES,
    PAYLOAD_BINARY,
    PAYLOAD_JSON,
    PAYLOAD_TEXT,
    REASON_ASYNC_INFERENCE_FAILED,
    REASON_MALFORMED_JSON,
    REASON_MODEL_ERROR,
    REASON_NO_SUCH_VERSION,
    REASON_NOT_TEXT,
    REASON_TOO_LARGE,
    REASON_UNSUPPORTED_CONTENT_TYPE,
    SERVERLESS_MAX_PAYLOAD_BYTES,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_MISSING,
    STATUS_REJECTED,
)
from lambdas.inference.domain import kinesis_record_uri

from .delivery_contract import DEAD_LETTERED, DELIVERED, NO_OUTCOME, NOT_PUBLISHED, Fate, fates, plain
from .emulator import LocalCloud, PumpReport
from .program import PROJECT_DIR, load_stack_config, stack_config_path
from .trace import Hop, object_uri

SAMPLES_DIR = PROJECT_DIR / "samples"
OVERSIZED_NAME = "oversized.json"  # generated: one byte over the handler's limit for the route
VANISHED_NAME = "vanished.json"  # generated: its version is deleted before the pipeline reads it
# Generated for json (async) routes: a document {"inputs": "<text>"} five times the serverless InvokeEndpoint
# limit (20 MiB), which only an async endpoint takes (SageMaker reads it from S3 itself); the stand-in
# summarizer answers its first sentence.
LARGE_DOCUMENT_NAME = "large-document.json"
LARGE_DOCUMENT_BYTES = 5 * SERVERLESS_MAX_PAYLOAD_BYTES
LARGE_DOCUMENT_SUMMARY = (
    "This document is five times the 4 MiB a serverless endpoint takes, so an async endpoint reads it "
    "from S3."
)
SHOWN_SIZE_FROM_BYTES = 1024 * 1024  # a file this large shows its size (the oversized and large documents)


@dataclass(frozen=True)
class Expected:
    """The item a delivered sample must end as: status, reason, and (for completed) the stand-in's label, or
    the summarizer's summary."""

    status: str
    reason: str | None = None
    label: str | None = None
    summary: str | None = None

    def describe(self) -> str:
        summary = f'"{self.summary}"' if self.summary else None
        return " ".join(x for x in (self.status, self.reason, self.label, summary) if x)


# What each sample must end as, by the payload format of the route's model (`models.<name>.payloadFormat`):
# a sample is uploaded, with the Content-Type its name suggests, to every route whose model's format has an
# expectation for it (and whose suffix filter accepts its name). In the dev stack the json format is the async
# summarizer's: its function submits the object's S3 location, so only the model reads the document.
TEXT, BINARY, JSON = PAYLOAD_TEXT, PAYLOAD_BINARY, PAYLOAD_JSON
EXPECTED: dict[str, dict[str, Expected]] = {
    "great-service.txt": {
        TEXT: Expected(STATUS_COMPLETED, label="POSITIVE"),
        BINARY: Expected(STATUS_REJECTED, REASON_UNSUPPORTED_CONTENT_TYPE),  # text/plain is not an image
    },
    "late-delivery.txt": {TEXT: Expected(STATUS_COMPLETED, label="NEGATIVE")},
    "product-review.json": {TEXT: Expected(STATUS_COMPLETED, label="POSITIVE")},
    "café notes + ünïcode.json": {TEXT: Expected(STATUS_COMPLETED, label="POSITIVE")},
    "malformed.json": {TEXT: Expected(STATUS_REJECTED, REASON_MALFORMED_JSON)},
    "unsupported-shape.json": {
        TEXT: Expected(STATUS_FAILED, REASON_MODEL_ERROR),  # the model answers 400
        JSON: Expected(STATUS_FAILED, REASON_ASYNC_INFERENCE_FAILED),  # on SageMaker's error topic
    },
    "shift-report.json": {  # its first sentence is the stand-in summarizer's summary
        JSON: Expected(
            STATUS_COMPLETED,
            summary="The warehouse moved to its new site on Monday and every order shipped on time.",
        )
    },
    "pixel.png": {
        TEXT: Expected(STATUS_REJECTED, REASON_NOT_TEXT),
        BINARY: Expected(STATUS_COMPLETED, label="square graphic"),  # a 1 x 1 PNG
    },
    "sunset.png": {BINARY: Expected(STATUS_COMPLETED, label="landscape graphic")},  # 64 x 40 PNG
    "portrait.jpg": {BINARY: Expected(STATUS_COMPLETED, label="portrait photo")},  # 40 x 64 JPEG
    "not-an-image.jpg": {BINARY: Expected(STATUS_FAILED, REASON_MODEL_ERROR)},  # the model cannot decode it
    OVERSIZED_NAME: {
        TEXT: Expected(STATUS_REJECTED, REASON_TOO_LARGE),
        BINARY: Expected(STATUS_REJECTED, REASON_TOO_LARGE),
    },
    VANISHED_NAME: {
        TEXT: Expected(STATUS_MISSING, REASON_NO_SUCH_VERSION),
        BINARY: Expected(STATUS_MISSING, REASON_NO_SUCH_VERSION),
    },
    LARGE_DOCUMENT_NAME: {JSON: Expected(STATUS_COMPLETED, summary=LARGE_DOCUMENT_SUMMARY)},
}


@dataclass
class Upload:
    """One sample uploaded to one route."""

    route: str
    name: str
    key: str
    uri: str
    expected: Expected
    fate: Fate | None = None  # None until collected

    @property
    def verdict(self) -> str:
        return self.fate.verdict if self.fate is not None else NO_OUTCOME

    @property
    def met(self) -> bool:
        """Delivered (one item, its outcome published, in no DLQ) as the expected status, reason and label."""
        if self.fate is None or self.fate.item is None or self.verdict != DELIVERED:
            return False
        item = self.fate.item
        ok = (item.get("status"), item.get("reason")) == (self.expected.status, self.expected.reason)
        if ok and self.expected.label:
            ok = _label(item.get("prediction")) == self.expected.label
        if ok and self.expected.summary:
            ok = _summary(item.get("prediction")) == self.expected.summary
        return ok


def sample_files() -> dict[str, bytes]:
    """The shipped samples; each must have an expectation (and nothing may be expected that is missing)."""
    files = {
        p.name: p.read_bytes() for p in sorted(SAMPLES_DIR.iterdir()) if p.is_file() and p.name != "README.md"
    }
    generated = {OVERSIZED_NAME, VANISHED_NAME, LARGE_DOCUMENT_NAME}
    unexpected = sorted(set(files) - set(EXPECTED))
    missing = sorted(set(EXPECTED) - set(files) - generated)
    if unexpected or missing:
        raise SystemExit(
            f"samples/ and localrun/demo.py EXPECTED disagree: no expectation for {unexpected}, "
            f"no file for {missing}. Add the expectation (or the file)."
        )
    return files


def content_type_of(name: str) -> str:
    """The Content-Type an upload of `name` gets (as `aws s3 cp` guesses it from the extension)."""
    return mimetypes.guess_type(name)[0] or "binary/octet-stream"


def large_document() -> bytes:
    """`{"inputs": "<LARGE_DOCUMENT_SUMMARY> <filler>"}`, exactly LARGE_DOCUMENT_BYTES long."""
    head, tail = b'{"inputs": "' + LARGE_DOCUMENT_SUMMARY.encode() + b" ", b'"}'
    filler = b"Every later sentence only adds bulk. "
    room = LARGE_DOCUMENT_BYTES - len(head) - len(tail)
    return head + (filler * (room // len(filler) + 1))[:room] + tail


def upload_samples(cloud: LocalCloud, routes: Collection[str] | None = None) -> list[Upload]:
    """Upload each sample to every route (or each of `routes`) whose model's format expects it and whose
    filters accept it."""
    outputs = cloud.outputs
    bucket = outputs["bucket_name"]
    files = sample_files()
    files[LARGE_DOCUMENT_NAME] = large_document()
    s3 = cloud.s3
    uploads: list[Upload] = []
    for route, details in outputs["routes"].items():
        if details["prefix"] is None or (routes is not None and route not in routes):
            # Not asked for, or a kinesis route: it takes records, not files (see put_stream_records).
            continue
        prefix, suffix = details["prefix"], details.get("suffix") or ""
        payload_format = outputs["models"][details["model"]]["payload_format"]
        # The handler's size limit: MAX_OBJECT_BYTES, or for bytes sent as they are the endpoint's
        # InvokeEndpoint limit (MAX_PAYLOAD_BYTES).
        limit_variable = ENV_MAX_PAYLOAD_BYTES if payload_format == PAYLOAD_BINARY else ENV_MAX_OBJECT_BYTES
        limit = int(_function_environment(cloud, details["function_name"])[limit_variable])
        bodies = dict(files)
        bodies[OVERSIZED_NAME] = b'{"inputs": "' + b"x" * (limit - 13) + b'"}'  # limit + 1 bytes
        bodies[VANISHED_NAME] = b'{"inputs": "this version is deleted before it is read"}'
        for name, body in bodies.items():
            expected = EXPECTED[name].get(payload_format)
            if expected is None or not name.endswith(suffix):
                continue  # not a sample for this model, or S3 (or the EventBridge rule) would not deliver it
            key = f"{prefix}{name}"
            put = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type_of(name))
            if name == VANISHED_NAME:
                # Deleting a specific version removes it for good (no delete marker).
                s3.delete_object(Bucket=bucket, Key=key, VersionId=put.get("VersionId"))
            uploads.append(Upload(route, name, key, object_uri(bucket, key), expected))
    return uploads


# Records a producer puts on each kinesis route's stream (README, "The kinesis route"): with and without an
# `id`, plain text, and one that starts as JSON but is not. (partition key, id the handler keys it by, data,
# expected item); listed in samples/README.md too.
STREAM_RECORDS: tuple[tuple[str, str | None, bytes, Expected], ...] = (
    ("customer-7", "review-1001", b'{"id": "review-1001", "text": "Great service, fast delivery"}',
     Expected(STATUS_COMPLETED, label="POSITIVE")),
    ("customer-7", "review-1002", b'{"id": "review-1002", "text": "The parcel arrived late and damaged"}',
     Expected(STATUS_COMPLETED, label="NEGATIVE")),
    ("customer-8", None, b'{"text": "friendly staff and a great price"}',
     Expected(STATUS_COMPLETED, label="POSITIVE")),
    ("customer-8", None, b"terrible, slow and rude", Expected(STATUS_COMPLETED, label="NEGATIVE")),
    ("customer-9", None, b'{"id": "review-1005", "text": ', Expected(STATUS_REJECTED, REASON_MALFORMED_JSON)),
)  # fmt: skip


def put_stream_records(cloud: LocalCloud) -> list[Upload]:
    """PutRecords of `STREAM_RECORDS` on every kinesis route's stream, as a producer would; each record is
    an `Upload` whose uri is its results key (`kinesis://<stream>/<id>`, else `/<partition key>/<sequence
    number>` from the PutRecords answer)."""
    kinesis = cloud.client("kinesis")
    puts: list[Upload] = []
    for route, details in cloud.outputs["routes"].items():
        stream = details.get("stream_name")
        if details["via"] != "kinesis" or not stream:
            continue
        answer = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": data, "PartitionKey": key} for key, _, data, _ in STREAM_RECORDS],
        )
        for (key, record_id, _, expected), entry in zip(STREAM_RECORDS, answer["Records"], strict=True):
            if "SequenceNumber" not in entry:
                raise SystemExit(f"PutRecords refused a record of {key!r}: {entry.get('ErrorCode')}")
            uri = kinesis_record_uri(stream, key, entry["SequenceNumber"], record_id)
            cloud.trace.record([uri], f"kinesis:{stream}", f"PutRecords ({entry['ShardId']})")
            puts.append(Upload(route, record_id or key, uri, uri, expected))
    return puts


def collect_outcomes(cloud: LocalCloud, uploads: list[Upload]) -> None:
    """Attach each upload's fate: its results item, the outcomes published for it, its DLQ messages."""
    found = fates(cloud, [u.uri for u in uploads])
    for upload in uploads:
        upload.fate = found[upload.uri]


# What the emulated async endpoint records (standin_model.StandInEndpoint), as the hop's label shows it.
_ASYNC_STEPS = {
    "async inference queued": " (queued)",
    "async inference completed": " (completed)",
    "async inference failed": " ✗(failed)",
}
_NOTIFICATION_PUBLISHED = "notification published to "


def format_hops(hops: list[Hop]) -> str:
    """`s3:ingest → sns:uploads-object-events → lambda:inference-uploads → ...`, one label per step; an async
    endpoint's steps are `sagemaker:<endpoint> (queued)`, `... (completed)` (or `✗(failed)`) and the
    notification SageMaker publishes, `sns:<success or error topic>`."""
    labels: list[str] = []
    for hop in hops:
        detail = hop.detail
        if hop.step.startswith("lambda:") and detail.startswith(("ok", "error")):
            if detail.startswith("error"):
                labels[-1] += f" ✗({detail.removeprefix('error ').split(':')[0]})"
            continue
        if detail == "deleted after success":
            continue  # the SQS message's end, not a step of the object
        label = _hop_label(hop)
        if not labels or labels[-1] != label:
            labels.append(label)
    return " → ".join(labels)


def _hop_label(hop: Hop) -> str:
    step, detail = hop.step, hop.detail
    if step.startswith("sagemaker:") and detail.startswith(_NOTIFICATION_PUBLISHED):
        return _short(f"sns:{detail.removeprefix(_NOTIFICATION_PUBLISHED)}")  # SageMaker's publish
    async_step = next((shown for prefix, shown in _ASYNC_STEPS.items() if detail.startswith(prefix)), None)
    suffix = ""
    if step.startswith("sagemaker:") and async_step is not None:
        suffix = async_step
    elif step.startswith("s3:") and detail.startswith("Object"):
        suffix = f" ({detail})"  # a bucket event: ObjectCreated:Put, ObjectRemoved:Delete
    elif detail.startswith("attempt"):
        suffix = f" ({detail.split(' via')[0]})"
    elif detail.startswith("error"):
        suffix = f" ✗({detail.removeprefix('error ')})"
    elif "DENIED" in detail:
        suffix = " DENIED"
    elif "dead-letter" in detail or "destination" in detail:
        suffix = " (dead-letter)"
    elif "receive #" in detail and not detail.endswith("#1)"):
        suffix = f" ({detail.split('(')[-1].rstrip(')')})"
    elif detail.startswith("batch item failure"):
        suffix = " (batch item failure)"
    return _short(step) + suffix


def _short(step: str) -> str:
    """Drop Pulumi's auto-name suffix: `sns:uploads-object-events-d08a664` → `sns:uploads-object-events`."""
    return re.sub(r"-[0-9a-f]{7}(?=$|\.fifo$)", "", step)


def _label(prediction: Any) -> str | None:
    first = prediction[0] if isinstance(prediction, list) and prediction else prediction
    return first.get("label") if isinstance(first, dict) else None


def _summary(prediction: Any) -> str | None:
    first = prediction[0] if isinstance(prediction, list) and prediction else prediction
    return first.get("summary_text") if isinstance(first, dict) else None


def _prediction_text(prediction: Any) -> str:
    first = prediction[0] if isinstance(prediction, list) and prediction else prediction
    if isinstance(first, dict) and "label" in first:
        return f"{first['label']} {float(first.get('score', 0)):.2f}"
    summary = _summary(prediction)
    if summary is not None:
        return f'"{summary}"'
    return "" if prediction is None else str(prediction)[:40]


def _function_environment(cloud: LocalCloud, function_name: str) -> dict[str, str]:
    configuration = cloud.client("lambda").get_function_configuration(FunctionName=function_name)
    return configuration.get("Environment", {}).get("Variables", {})


def run(stack: str) -> int:
    started = time.time()
    config = load_stack_config(stack_config_path(stack))
    region = config.get("aws:region", "us-east-1")
    print(
        f"Local run of stack {stack!r}: the real __main__.py, deployed into moto (in-process AWS emulator)."
    )
    print("It emulates AWS; it does not replace `pulumi preview`. The model is a deterministic STAND-IN.\n")
    with LocalCloud(region=region) as cloud:
        program = cloud.deploy(stack=stack, config=config)
        types = Counter(
            r.type.split(":")[1].split("/")[0] for r in program.resources if r.type.startswith("aws:")
        )
        print(
            f"Deployed {sum(types.values())} resources into moto in {time.time() - started:.1f}s: "
            + ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
        )
        for what, names in sorted(cloud.mocks.not_emulated.items()):
            print(f"  not emulated: {what} ({len(names)} resource{'s' if len(names) != 1 else ''})")

        uploads = upload_samples(cloud) + put_stream_records(cloud)
        print(
            f"\nUploaded {len(uploads)} files to {len(cloud.outputs['routes'])} routes; running the pipeline:"
        )
        seen = [0]
        every = max(1, len(uploads) // 6)

        def progress(report: PumpReport) -> None:
            collect_outcomes(cloud, uploads)
            done = sum(1 for u in uploads if u.verdict in (DELIVERED, DEAD_LETTERED))
            # A line whenever another sixth of the files has an outcome (and at the end).
            if done // every > seen[0] // every or (done == len(uploads) and seen[0] != done):
                seen[0] = done
                waited = (
                    f", {cloud.clock.skipped_seconds:.0f}s simulated waiting"
                    if cloud.clock.skipped_seconds
                    else ""
                )
                print(f"  … {done}/{len(uploads)} files have an outcome (step {report.steps}{waited})")

        report = cloud.run_until_idle(on_step=progress)
        collect_outcomes(cloud, uploads)
        _print_files(cloud, uploads)
        _print_summary(cloud, uploads, report)
        _print_items(cloud)
        problems = cloud.deliveries.problems
        for problem in problems:
            print(f"PROBLEM: {problem}")
        missed = [u for u in uploads if not u.met]
        elapsed = time.time() - started
        if missed or problems:
            print(
                f"\nFAILED in {elapsed:.1f}s: {len(missed)} of {len(uploads)} files missed their expected "
                "outcome" + (f", {len(problems)} denied deliveries" if problems else "")
            )
            return 1
        print(f"\nOK in {elapsed:.1f}s: all {len(uploads)} files reached their expected outcome.")
        return 0


def _print_files(cloud: LocalCloud, uploads: list[Upload]) -> None:
    print("\nPer file (route, hops, outcome):")
    for upload in uploads:
        item = (upload.fate.item if upload.fate is not None else None) or {}
        mark = "✓" if upload.met else "✗"
        status = " ".join(str(x) for x in (item.get("status"), item.get("reason")) if x)
        prediction = _prediction_text(item.get("prediction"))
        shown = f"{status}{'  ' + prediction if prediction else ''}"
        if upload.verdict == DEAD_LETTERED:
            shown = "dead-lettered" + (f" (item stored: {shown})" if item else "")
        elif upload.verdict == NOT_PUBLISHED:
            shown += "  (outcome NOT PUBLISHED)"
        elif upload.verdict == NO_OUTCOME:
            shown = "NO OUTCOME"
        size = int(item.get("size") or 0)
        sized = f" ({size:,} bytes)" if size >= SHOWN_SIZE_FROM_BYTES else ""
        print(
            f" {mark} [{upload.route}] {upload.key}{sized}: {shown}"
            + ("" if upload.met else f"  (expected {upload.expected.describe()}, delivered)")
        )
        print(f"     {format_hops(cloud.trace.for_object(upload.uri))}")


def _print_summary(cloud: LocalCloud, uploads: list[Upload], report: PumpReport) -> None:
    statuses = [STATUS_COMPLETED, STATUS_REJECTED, STATUS_FAILED, STATUS_MISSING, "dead-lettered", "none"]
    print("\nSummary:")
    print(f"  {'route':<10} {'via':<12}" + "".join(f"{s:>14}" for s in statuses) + f"{'as expected':>14}")
    for route, details in cloud.outputs["routes"].items():
        mine = [u for u in uploads if u.route == route]
        counts = Counter(_summary_column(u) for u in mine)
        met = sum(u.met for u in mine)
        print(
            f"  {route:<10} {details['via']:<12}"
            + "".join(f"{counts.get(s, 0):>14}" for s in statuses)
            + f"{f'{met}/{len(mine)}':>14}"
        )
    invocations = cloud.runtime.results
    stats = cloud.endpoint.stats
    print(
        f"  {len(invocations)} invocations ({sum(not r.ok for r in invocations)} errors), "
        f"{stats.answered} model answers, {stats.model_errors} model errors"
        + (
            f", {stats.async_submitted} async inferences ({stats.async_completed} completed, "
            f"{stats.async_failed} failed)"
            if stats.async_submitted
            else ""
        )
        + f"; simulated waiting {report.simulated_seconds:.0f}s"
        + (
            " ("
            + ", ".join(f"{reason} {seconds:.0f}s" for reason, seconds in report.waited_by_reason.items())
            + ")"
            if report.waited_by_reason
            else ""
        )
    )


def _summary_column(upload: Upload) -> str:
    if upload.verdict == DEAD_LETTERED:
        return "dead-lettered"
    if upload.fate is None or upload.fate.item is None:
        return "none"
    return str(upload.fate.item.get("status"))


def _print_items(cloud: LocalCloud) -> None:
    print("\nDynamoDB results items:")
    shown = ("status", "reason", "prediction", "route", "size", "version_id")
    for uri, item in sorted(cloud.results().items()):
        fields = ", ".join(f"{k}={plain(item[k])}" for k in shown if item.get(k) is not None)
        print(f"  {uri}: {fields}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to deploy (default: dev)"
    )
    args = parser.parse_args(argv)
    if not stack_config_path(args.stack).exists():
        parser.error(f"no {stack_config_path(args.stack).name} in {PROJECT_DIR}")
    return run(args.stack)


if __name__ == "__main__":
    sys.exit(main())
