"""The normaliser (and, for two create events, the whole handler) against real AWS sample events.

The samples live in ../shared/aws-events (third-party test data, never copied into this project); these
tests skip when that directory is absent, as in a user's clone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from conftest import function_env, load_app
from inference_fakes import LambdaContext

from lambdas.inference import contract
from lambdas.inference.domain import RouteScope, sequencer_order
from lambdas.inference.events import Source, normalise_event

SHARED_EVENTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "aws-events"
NOT_EVENTS = {"sam-cli/event-mapping.json"}  # sam-cli's placeholder defaults, used to render its templates

pytestmark = [
    pytest.mark.shared_events,
    pytest.mark.skipif(not SHARED_EVENTS.is_dir(), reason=f"AWS sample events not found at {SHARED_EVENTS}"),
]


@dataclass(frozen=True)
class Expect:
    """How a sample must normalise: refs as (bucket, key, version_id, sequencer)."""

    source: Source
    refs: list[tuple] = field(default_factory=list)
    skips: int = 0
    problem_records: int = 0
    event_problem: bool = False


UNRECOGNISED = Expect(Source.UNKNOWN, event_problem=True)

EXPECTED: dict[str, Expect] = {
    # --- create events: one reference per object ----------------------------------------------------
    "powertools/s3Event.json": Expect(
        Source.S3,
        [
            (
                "lambda-artifacts-deafc19498e3f2df",
                "b21b84d653bb07b05b1e6b33684dc11b",
                None,
                "0C0F6F405D6ED209E1",
            )
        ],
    ),
    "powertools/s3EventDecodedKey.json": Expect(
        Source.S3, [("sourcebucket", "Happy Face.jpg", "version", "Happy Sequencer")]
    ),
    "powertools/s3SqsEvent.json": Expect(
        Source.SQS, [("xxx", "test.pdf", "yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV", "00643717F9F8B85354")]
    ),
    "powertools/s3EventBridgeNotificationObjectCreatedEvent.json": Expect(
        Source.EVENTBRIDGE, [("example-bucket", "IMG_m7fzo3.jpg", None, "006408CAD69598B05E")]
    ),
    "lambda-go/s3-event.json": Expect(
        Source.S3, [("sourcebucket", "Happy Face.jpg", "version", "Happy Sequencer")]
    ),
    "lambda-go/s3-event-with-decoded.json": Expect(
        Source.S3, [("sourcebucket", "Happy Face.jpg", "version", "Happy Sequencer")]
    ),
    "sam-cli/S3Put.json": Expect(Source.S3, [("example-bucket", "test/key", None, "0A1B2C3D4E5F678901")]),
    "java-libs/s3_event.json": Expect(
        Source.S3, [("example-bucket", "test/key", None, "0A1B2C3D4E5F678901")]
    ),
    "lambda-dotnet/s3-event.json": Expect(
        Source.S3,
        [
            ("sourcebucket", "HappyFace.jpg", None, "0A1B2C3D4E5F678901"),
            ("sourcebucket", "New File.jpg", None, "0A1B2C3D4E5F678901"),
        ],
    ),
    "lambda-dotnet/cloudwatchevents-s3objectcreated.json": Expect(
        Source.EVENTBRIDGE,
        [("DOC-EXAMPLE-BUCKET1", "example-key", "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "617f08299329d189")],
    ),
    # --- S3 events that are not new objects: acknowledged and skipped ------------------------------
    "powertools/s3EventDeleteObject.json": Expect(Source.S3, skips=1),
    "powertools/s3EventGlacier.json": Expect(Source.S3, skips=1),
    "powertools/s3EventBridgeNotificationObjectDeletedEvent.json": Expect(Source.EVENTBRIDGE, skips=1),
    "powertools/s3EventBridgeNotificationObjectExpiredEvent.json": Expect(Source.EVENTBRIDGE, skips=1),
    "powertools/s3EventBridgeNotificationObjectRestoreCompletedEvent.json": Expect(
        Source.EVENTBRIDGE, skips=1
    ),
    "lambda-go/s3-glacier-event.json": Expect(Source.S3, skips=1),
    "lambda-go/s3-restore-event.json": Expect(Source.S3, skips=1),
    "lambda-go/s3-lifecycle-event.json": Expect(Source.S3, skips=1),
    "lambda-go/s3-intelligenttier-event.json": Expect(Source.S3, skips=1),
    "lambda-go/s3-replication-event.json": Expect(Source.S3, skips=1),
    "sam-cli/S3Delete.json": Expect(Source.S3, skips=1),
    "lambda-dotnet/cloudwatchevents-s3objectdeleted.json": Expect(Source.EVENTBRIDGE, skips=1),
    "lambda-dotnet/cloudwatchevents-s3objectrestore.json": Expect(Source.EVENTBRIDGE, skips=1),
    # --- routes' envelopes carrying something other than an S3 notification: record problems ------
    "powertools/snsEvent.json": Expect(Source.SNS, problem_records=1),
    "powertools/snsSqsEvent.json": Expect(Source.SQS, problem_records=1),
    "powertools/snsSqsFifoEvent.json": Expect(Source.SQS, problem_records=1),
    "powertools/sqsEvent.json": Expect(Source.SQS, problem_records=2),
    "powertools/sqsDlqTriggerEvent.json": Expect(Source.SQS, problem_records=1),
    "powertools/eventBridgeEvent.json": Expect(Source.EVENTBRIDGE, problem_records=1),
    "lambda-go/sns-event.json": Expect(Source.SNS, problem_records=1),
    "lambda-go/sqs-event.json": Expect(Source.SQS, problem_records=1),
    "sam-cli/Sns.json": Expect(Source.SNS, problem_records=1),
    "sam-cli/Sqs.json": Expect(Source.SQS, problem_records=1),
    "sam-cli/ScheduledEvent.json": Expect(Source.EVENTBRIDGE, problem_records=1),
    "java-libs/sns_event.json": Expect(Source.SNS, problem_records=1),
    "java-libs/sqs_event_nobody.json": Expect(Source.SQS, problem_records=1),
    "java-libs/sqs_event_product.json": Expect(Source.SQS, problem_records=1),
    "java-libs/cloudwatch_event.json": Expect(Source.EVENTBRIDGE, problem_records=1),
    "lambda-dotnet/sns-event.json": Expect(Source.SNS, problem_records=1),
    "lambda-dotnet/sqs-event.json": Expect(Source.SQS, problem_records=1),
    # --- not S3 notifications at all: the whole event is unrecognisable ----------------------------
    "powertools/s3BatchOperationEventSchemaV1.json": UNRECOGNISED,
    "powertools/s3BatchOperationEventSchemaV2.json": UNRECOGNISED,
    "powertools/s3ObjectEventIAMUser.json": UNRECOGNISED,
    "powertools/s3ObjectEventTempCredentials.json": UNRECOGNISED,
    "powertools/kinesisStreamEvent.json": UNRECOGNISED,
    "powertools/kinesisStreamEventOneRecord.json": UNRECOGNISED,
    "lambda-go/s3-object-lambda-event-get-object-iam.json": UNRECOGNISED,
    "lambda-go/kinesis-event.json": UNRECOGNISED,
    "sam-cli/Kinesis.json": UNRECOGNISED,
    "java-libs/kinesis_event.json": UNRECOGNISED,
}


def load_sample(name: str) -> dict:
    """A sample event; sam-cli templates are rendered with their documented defaults."""
    text = (SHARED_EVENTS / name).read_text(encoding="utf-8-sig")  # two samples start with a BOM
    if name.startswith("sam-cli/"):
        text = render_sam_template(Path(name).stem, text)
    return json.loads(text)


def render_sam_template(filename: str, text: str) -> str:
    """Fill `{{{tag}}}` placeholders with the defaults event-mapping.json gives that template's tags."""
    mapping = json.loads((SHARED_EVENTS / "sam-cli" / "event-mapping.json").read_text(encoding="utf-8"))
    [tags] = [
        event.get("tags", {})
        for service in mapping.values()
        for event in service.values()
        if event.get("filename") == filename
    ]
    defaults = {
        tag.replace("-", "_"): quote_plus(str(spec["default"]))
        if spec.get("encoding") == "url"
        else str(spec["default"])
        for tag, spec in tags.items()
        if "default" in spec
    }
    return re.sub(r"\{\{\{(\w+)\}\}\}", lambda match: defaults.get(match.group(1), match.group(1)), text)


def test_every_shared_sample_has_an_expected_classification():
    samples = {path.relative_to(SHARED_EVENTS).as_posix() for path in SHARED_EVENTS.glob("*/*.json")}
    assert samples - NOT_EVENTS == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_sample_normalises_as_expected(name):
    expected = EXPECTED[name]
    # The function serving the sample's bucket; samples without a reference never reach the route check.
    scope = RouteScope("uploads", expected.refs[0][0] if expected.refs else "any-bucket")
    normalised = normalise_event(load_sample(name), scope)
    refs = [
        (r.bucket, r.key, r.version_id, r.sequencer) for record in normalised.records for r in record.refs
    ]
    assert normalised.source is expected.source
    assert refs == expected.refs
    assert sum(len(record.skips) for record in normalised.records) == expected.skips
    assert sum(1 for record in normalised.records if record.problems) == expected.problem_records
    assert bool(normalised.problem) is expected.event_problem


def test_a_placeholder_sequencer_in_a_sample_cannot_order_writes():
    # AWS's Go and Powertools samples carry "Happy Sequencer": kept for provenance, not used for ordering.
    scope = RouteScope("uploads", "sourcebucket")
    ref = normalise_event(load_sample("lambda-go/s3-event.json"), scope).records[0].refs[0]
    assert sequencer_order(ref.sequencer) is None


def test_a_shared_direct_s3_event_is_processed_end_to_end(world, handler_clients):
    world.s3.create_bucket(Bucket="sourcebucket")
    world.s3.put_object(Bucket="sourcebucket", Key="HappyFace.jpg", Body=b"a happy face")
    world.s3.put_object(Bucket="sourcebucket", Key="New File.jpg", Body=b"a new file")
    world.queue_model_results({"label": "ok"}, {"label": "ok"})
    app = load_app(
        function_env(
            **{
                contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn,
                contract.ENV_BUCKET_NAME: "sourcebucket",
            }
        )
    )
    app.clients = handler_clients

    app.handler(load_sample("lambda-dotnet/s3-event.json"), LambdaContext())

    statuses = {item["pk"]["S"]: item["status"]["S"] for item in world.items()}
    assert statuses == {
        "s3://sourcebucket/HappyFace.jpg": "completed",
        "s3://sourcebucket/New File.jpg": "completed",
    }


def test_a_shared_sqs_event_for_a_vanished_version_records_it_missing(world, handler_clients):
    world.s3.create_bucket(Bucket="xxx")
    world.s3.put_bucket_versioning(Bucket="xxx", VersioningConfiguration={"Status": "Enabled"})
    world.s3.put_object(Bucket="xxx", Key="test.pdf", Body=b"another version")
    # The sample's object is 104681 bytes: allow that, so the vanished version is what decides.
    app = load_app(
        function_env(
            **{
                contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn,
                contract.ENV_MAX_OBJECT_BYTES: "200000",
                contract.ENV_BUCKET_NAME: "xxx",
            }
        )
    )
    app.clients = handler_clients

    response = app.handler(load_sample("powertools/s3SqsEvent.json"), LambdaContext())

    assert response == {"batchItemFailures": []}
    [item] = world.items()
    assert (item["pk"]["S"], item["status"]["S"], item["reason"]["S"]) == (
        "s3://xxx/test.pdf",
        contract.STATUS_MISSING,
        contract.REASON_NO_SUCH_VERSION,
    )


def test_a_shared_create_event_for_another_bucket_is_refused_not_read():
    record = normalise_event(
        load_sample("powertools/s3SqsEvent.json"), RouteScope("uploads", "not-xxx")
    ).records[0]
    assert (record.refs, [r.object_uri for r in record.refusals]) == ((), ["s3://xxx/test.pdf"])
