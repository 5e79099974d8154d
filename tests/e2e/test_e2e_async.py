"""An async model end to end in the local run: a `documents/` route on an async summarizer (the stand-in
answers InvokeEndpointAsync after a simulated delay, into S3 and SageMaker's success or error topic), its
result writer subscribed to both topics, and the outcome on the notifications topic.

One deployment for the module: the dev stack's documents route and summarizer alone, to keep it quick."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_cloud_helpers import deployed, dev_routes_only, upload

from lambdas.inference.contract import SERVERLESS_MAX_PAYLOAD_BYTES
from localrun import access
from localrun.delivery_contract import DEAD_LETTERED, DELIVERED, fate_of
from localrun.demo import LARGE_DOCUMENT_NAME, collect_outcomes, format_hops, upload_samples
from localrun.emulator import LocalCloud, sagemaker_caller
from localrun.services.sns import SnsFaults
from localrun.standin_model import EndpointFaults

POISON = "POISON-PILL"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed(dev_routes_only("documents")) as c:
        c.endpoint.faults = EndpointFaults(crash_on_text=POISON)
        yield c


def document(sentences: int, first: str = "The pipeline summarised this document.") -> str:
    filler = " ".join(f"Sentence number {n} adds nothing new." for n in range(sentences))
    return json.dumps({"inputs": f"{first} {filler}"})


def outcomes_for(cloud: LocalCloud, uri: str) -> list[dict]:
    """The outcome messages of one object (the topic also carries endpoint-state sentences)."""
    found = []
    for message in cloud.published(cloud.outputs["notifications_topic_arn"]):
        try:
            document = json.loads(message)
        except ValueError:
            continue
        if isinstance(document, dict) and document.get("pk") == uri:
            found.append(document)
    return found


def test_a_document_larger_than_the_serverless_limit_completes_through_the_async_route(cloud):
    body = document(160_000)
    assert len(body) > 6 * 1024 * 1024 > SERVERLESS_MAX_PAYLOAD_BYTES
    uri = upload(cloud, "documents", "large.json", body)
    report = cloud.run_until_idle()
    item = cloud.results()[uri]
    assert item["status"] == "completed"
    assert item["prediction"] == [{"summary_text": "The pipeline summarised this document."}]
    assert "SageMaker async inference" in report.waited_by_reason


def test_a_failing_inference_ends_failed_with_sagemakers_reason(cloud):
    uri = upload(cloud, "documents", "poison.json", document(2, first=f"{POISON} here."))
    cloud.run_until_idle()
    item = cloud.results()[uri]
    assert item["status"] == "failed"
    assert "Received client error (400) from model" in item["detail"]


def test_a_duplicate_completion_notification_changes_nothing_in_the_table(cloud):
    uri = upload(cloud, "documents", "twice.json", document(3))
    cloud.run_until_idle()
    before = cloud.results()[uri]
    (notice,) = [
        m
        for m in cloud.published(cloud.outputs["models"]["summarizer"]["success_topic_arn"])
        if json.loads(m)["requestParameters"]["inputLocation"] == uri
    ]
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["models"]["summarizer"]["success_topic_arn"], Message=notice
    )
    cloud.run_until_idle()
    assert cloud.results()[uri] == before


def test_the_outcome_topic_receives_one_final_outcome_per_file(cloud):
    uri = upload(cloud, "documents", "once.json", document(3))
    cloud.run_until_idle()
    finals = [m for m in outcomes_for(cloud, uri) if m.get("status") in ("completed", "failed")]
    assert len(finals) == 1


def test_the_submitting_function_reads_no_object(cloud):
    function = cloud.outputs["routes"]["documents"]["function_name"]
    calls = [c for c in cloud.recorder.calls if c.function_name == function]
    assert {c.operation for c in calls} >= {"InvokeEndpointAsync"}
    assert not [c for c in calls if c.operation == "GetObject"]


def test_a_duplicate_completion_notification_publishes_no_second_outcome(cloud):
    uri = upload(cloud, "documents", "twice-published.json", document(3))
    cloud.run_until_idle()
    success_topic = cloud.outputs["models"]["summarizer"]["success_topic_arn"]
    (notice,) = [
        m
        for m in cloud.published(success_topic)
        if json.loads(m)["requestParameters"]["inputLocation"] == uri
    ]
    cloud.client("sns").publish(TopicArn=success_topic, Message=notice)
    cloud.run_until_idle()
    finals = [m for m in outcomes_for(cloud, uri) if m.get("status") in ("completed", "failed")]
    assert len(finals) == 1


def test_a_result_writer_that_cannot_publish_leaves_the_notice_in_its_dlq(cloud):
    writer = cloud.outputs["models"]["summarizer"]["result_writer_function_name"]
    cloud.sns_faults.faults = SnsFaults(publish_batch_down_for=frozenset({writer}))
    try:
        uri = upload(cloud, "documents", "writer-cannot-publish.json", document(2))
        cloud.run_until_idle()
    finally:
        cloud.sns_faults.faults = SnsFaults()
    dlq = cloud.outputs["models"]["summarizer"]["result_writer_dlq_url"]
    assert [m for m in cloud.queue_messages(dlq) if uri in m["Body"]]
    assert cloud.results()[uri]["status"] == "completed"  # stored; its outcome waits for a redrive


def test_an_inference_that_outlasts_its_invocation_timeout_ends_failed_at_the_timeout(cloud):
    cloud.endpoint.faults = EndpointFaults(crash_on_text=POISON, async_processing_seconds=4000)
    try:
        uri = upload(cloud, "documents", "endless.json", document(2))
        report = cloud.run_until_idle()
    finally:
        cloud.endpoint.faults = EndpointFaults(crash_on_text=POISON)
    item = cloud.results()[uri]
    assert (item["status"], item["reason"]) == ("failed", "async_inference_failed")
    assert "InvocationTimeoutSeconds" in item["detail"]
    # The default timeout (900 s), simulated; the pump counts a waiting step from when it began.
    assert report.waited_by_reason["SageMaker async inference"] > 890


def test_a_submission_sagemaker_refuses_every_time_ends_in_the_routes_dlq(cloud):
    cloud.endpoint.faults = EndpointFaults(async_unavailable=True)
    try:
        uri = upload(cloud, "documents", "never-accepted.json", document(2))
        cloud.run_until_idle()
    finally:
        cloud.endpoint.faults = EndpointFaults(crash_on_text=POISON)
    dlq = cloud.outputs["routes"]["documents"]["dlq_url"]
    assert [m for m in cloud.queue_messages(dlq) if uri.split("/", 3)[3] in m["Body"]]
    assert cloud.results()[uri]["status"] == "in_progress"  # its DLQ message is what redrive replays


# -- least privilege, both ways, for the three roles an async model adds or uses ----------------------------
def _roles(cloud: LocalCloud) -> dict[str, tuple[str, str, dict[str, str]]]:
    """role -> (caller name in the recorder, role ARN, what AWS uses that the local run does not call)."""
    model = cloud.outputs["models"]["summarizer"]
    route = cloud.outputs["routes"]["documents"]
    (sagemaker_model,) = cloud.program.of_type("aws:sagemaker/model:Model")
    return {
        "submitting function": (
            route["function_name"],
            route["role_arn"],
            access.USED_BY_AWS_ON_FUNCTIONS_BEHALF,
        ),
        "result writer": (
            model["result_writer_function_name"],
            model["result_writer_role_arn"],
            access.USED_BY_AWS_ON_FUNCTIONS_BEHALF,
        ),
        "SageMaker": (
            sagemaker_caller(model["endpoint_name"]),
            sagemaker_model.inputs["executionRoleArn"],
            access.USED_BY_SAGEMAKER_OUTSIDE_REQUESTS,
        ),
    }


@pytest.mark.parametrize("role", ["submitting function", "result writer", "SageMaker"])
def test_every_call_made_with_an_async_role_is_allowed_and_every_grant_is_needed(cloud, role):
    caller, role_arn, used_by_aws = _roles(cloud)[role]
    calls = cloud.recorder.by_function(caller)
    documents = access.declared_role_policies(cloud.program, role_arn)
    assert calls, role
    denials, needed = access.check_calls(
        calls, documents, access.PermissionMapper(cloud.account, cloud.region)
    )
    assert [str(d) for d in denials] == []
    assert [(g.sid, g.action) for g in access.unexercised_grants(documents, needed, used_by_aws)] == []
    assert [str(d) for d in cloud.access.denials_for(caller)] == []


def test_the_demos_documents_reach_their_outcomes_and_show_the_async_hops(cloud):
    # The demo's uploads for this route (`make demo` makes the same ones on the dev stack's documents route).
    uploads = upload_samples(cloud, routes=["documents"])
    cloud.run_until_idle()
    collect_outcomes(cloud, uploads)
    assert {u.name: u.met for u in uploads} == {
        "shift-report.json": True,
        "unsupported-shape.json": True,
        LARGE_DOCUMENT_NAME: True,
    }
    (large,) = [u for u in uploads if u.name == LARGE_DOCUMENT_NAME]
    assert large.fate is not None and large.fate.item is not None
    assert large.fate.item["size"] > SERVERLESS_MAX_PAYLOAD_BYTES
    endpoint = cloud.outputs["models"]["summarizer"]["endpoint_name"]
    assert format_hops(cloud.trace.for_object(large.uri)) == " → ".join(
        [
            "s3:ingest (ObjectCreated:Put)",
            "lambda:inference-documents",
            "dynamodb:results",
            f"sagemaker:{endpoint} (queued)",
            "sns:notifications",  # the in_progress outcome
            f"sagemaker:{endpoint} (completed)",
            "sns:model-summarizer-success",
            "lambda:result-writer-summarizer",
            "dynamodb:results",
            "sns:notifications",  # the final outcome
            "dynamodb:results",  # marked published
        ]
    )
    (failing,) = [u for u in uploads if u.name == "unsupported-shape.json"]
    hops = format_hops(cloud.trace.for_object(failing.uri))
    assert f"sagemaker:{endpoint} ✗(failed) → sns:model-summarizer-error → lambda:result-writer" in hops


def test_a_notice_the_result_writer_cannot_store_leaves_its_document_dead_lettered(cloud):
    uri = upload(cloud, "documents", "unreadable-output.json", document(2))
    cloud.run_until_idle()
    assert fate_of(cloud, uri).verdict == DELIVERED
    success_topic = cloud.outputs["models"]["summarizer"]["success_topic_arn"]
    (notice,) = [
        json.loads(m)
        for m in cloud.published(success_topic)
        if json.loads(m)["requestParameters"]["inputLocation"] == uri
    ]
    # An output the writer may read (under the model's output prefix) but that is not there: every attempt
    # fails, and after Lambda's two retries the notification is in the result writer's DLQ.
    location = notice["responseParameters"]["outputLocation"]
    notice["responseParameters"]["outputLocation"] = location.replace(".out", "-gone.out")
    cloud.client("sns").publish(TopicArn=success_topic, Message=json.dumps(notice))
    cloud.run_until_idle()
    dlq = cloud.outputs["models"]["summarizer"]["result_writer_dlq_url"]
    assert len([m for m in cloud.queue_messages(dlq) if uri in m["Body"]]) == 1
    assert fate_of(cloud, uri).verdict == DEAD_LETTERED
