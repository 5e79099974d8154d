"""Least privilege, both ways, for every route's function role, as the stack declares it.

A scenario drives every path a function has: a normal upload, an object whose version
vanished before it was read (NoSuchVersion needs s3:ListBucket), a replayed S3 event
without versionId (plain GetObject), and for async routes an event that fails every
retry (the on-failure destination is written with the role), and an answer too large for a results
item, written to S3 under the large-results prefix: on the text routes a JSON document of 10,000 texts,
sent to the text classifier as it is (its answer, one label per text, is ~350 KB); on the images route
an image, whose route in this test's config uses an image-feature-extraction model (ViT-base hidden
states, ~1.1 MB) instead of the dev stack's image classifier, whose top-5 answer is never large. Every AWS
call made with
a function's credentials — by the handler, or by Lambda for it (SQS polling, logs,
destinations) — is mapped to IAM actions on real ARNs and evaluated with moto's IAM
policy evaluator against the role's declared policy documents; and every grant must be
needed by some call or be on access.USED_BY_AWS_ON_FUNCTIONS_BEHALF.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_cloud_helpers import (
    deployed,
    dev_async_model_routes,
    dev_config,
    dev_routes,
    payload_format,
    replayed_s3_event,
    route,
    text_payload,
    upload,
    upload_input,
)

from lambdas.inference.contract import PAYLOAD_BINARY
from localrun import access
from localrun.calls import ACTOR_HANDLER, ACTOR_LAMBDA_SERVICE
from localrun.emulator import LocalCloud
from localrun.standin_model import EndpointFaults


def route_via(name: str) -> str:
    return next(r["via"] for r in dev_routes() if r["name"] == name)


# Routes whose function reads objects (a kinesis route's role is checked both ways in test_e2e_kinesis.py,
# an async model's route, its result writer and SageMaker's role in test_e2e_async.py).
ROUTES = [
    r["name"] for r in dev_routes() if r["via"] != "kinesis" and r["name"] not in dev_async_model_routes()
]
ASYNC_ROUTES = [r for r in ROUTES if route_via(r) in ("sns", "lambda", "eventbridge")]
LARGE_BATCH = json.dumps({"inputs": ["great"] * 10_000})  # sent as it is: not a lone {"inputs": "<text>"}


def _config() -> dict[str, str]:
    """The dev stack, with the images route's model one whose every answer is too large for an item."""
    config = dev_config()
    models = json.loads(config["ai-event-pipeline:models"])
    embedder = json.loads(json.dumps(models["image-classifier"]))
    embedder["environment"] = {
        "HF_MODEL_ID": "google/vit-base-patch16-224-in21k",
        "HF_TASK": "image-feature-extraction",
    }
    models["image-embedder"] = embedder
    del models["image-classifier"]
    routes = [{**r, "model": "image-embedder"} if r["name"] == "images" else r for r in dev_routes()]
    return {
        **config,
        "ai-event-pipeline:models": json.dumps(models),
        "ai-event-pipeline:routes": json.dumps(routes),
    }


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with deployed(_config()) as cloud:
        bucket = cloud.outputs["bucket_name"]
        allowed: dict[str, str] = {}
        for name in ROUTES:
            allowed[name] = upload_input(cloud, name, "allowed", "great").split("/", 3)[3]
            if payload_format(cloud, name) != PAYLOAD_BINARY:
                upload(cloud, name, "large-batch.json", LARGE_BATCH)
            vanished = f"{route(cloud, name)['prefix']}vanished.json"
            version = cloud.s3.put_object(Bucket=bucket, Key=vanished, Body=b"{}")["VersionId"]
            cloud.s3.delete_object(Bucket=bucket, Key=vanished, VersionId=version)
        cloud.run_until_idle()
        for name in ROUTES:
            event = replayed_s3_event(cloud, allowed[name])
            cloud.client("lambda").invoke(
                FunctionName=route(cloud, name)["function_name"], Payload=json.dumps(event)
            )
        cloud.endpoint.faults = EndpointFaults(throttle_fraction=1.0)
        for name in ASYNC_ROUTES:
            upload(cloud, name, "retries-exhausted.json", text_payload("fine"))
        cloud.run_until_idle()
        cloud.endpoint.faults = EndpointFaults()
        yield cloud


def _calls_and_policies(cloud: LocalCloud, route_name: str) -> tuple[list, list[str]]:
    details = route(cloud, route_name)
    calls = cloud.recorder.by_function(details["function_name"])
    return calls, access.declared_role_policies(cloud.program, details["role_arn"])


def _mapper(cloud: LocalCloud) -> access.PermissionMapper:
    return access.PermissionMapper(cloud.account, cloud.region)


@pytest.mark.parametrize("route_name", ROUTES)
def test_every_call_made_with_the_function_role_is_allowed(cloud: LocalCloud, route_name: str) -> None:
    calls, documents = _calls_and_policies(cloud, route_name)
    assert {c.actor for c in calls} == {ACTOR_HANDLER, ACTOR_LAMBDA_SERVICE}
    denials, _ = access.check_calls(calls, documents, _mapper(cloud))
    assert [str(d) for d in denials] == []


@pytest.mark.parametrize("route_name", ROUTES)
def test_every_grant_of_the_role_is_needed_or_used_by_aws(cloud: LocalCloud, route_name: str) -> None:
    calls, documents = _calls_and_policies(cloud, route_name)
    _, needed = access.check_calls(calls, documents, _mapper(cloud))
    assert access.unexercised_grants(documents, needed) == []


def test_model_results_and_outcomes_are_only_reached_with_function_roles(cloud: LocalCloud) -> None:
    handler_operations = {"InvokeEndpoint", "PutItem", "PublishBatch", "Publish", "GetObject"}
    unattributed = [
        (c.service, c.operation)
        for c in cloud.recorder.calls
        if c.operation in handler_operations and c.function_name is None and c.service != "s3"
    ]
    assert unattributed == []


def test_removing_a_statement_makes_the_check_deny_the_call(cloud: LocalCloud) -> None:
    calls, documents = _calls_and_policies(cloud, "uploads")
    broken = [_without_statement(d, "InvokeModelEndpoint") for d in documents]
    denials, _ = access.check_calls(calls, broken, _mapper(cloud))
    assert {d.permission.action for d in denials} == {"sagemaker:InvokeEndpoint"}


def test_read_grant_on_another_prefix_makes_the_check_deny_the_reads(cloud: LocalCloud) -> None:
    calls, documents = _calls_and_policies(cloud, "data")
    bucket_arn = cloud.outputs["bucket_arn"]
    broken = [_with_resource(d, "ReadRouteObjects", f"{bucket_arn}/uploads/*") for d in documents]
    denials, _ = access.check_calls(calls, broken, _mapper(cloud))
    assert {d.permission.action for d in denials} == {"s3:GetObject", "s3:GetObjectVersion"}


def test_an_unneeded_grant_fails_the_reverse_check(cloud: LocalCloud) -> None:
    calls, documents = _calls_and_policies(cloud, "uploads")
    table_arn = f"arn:aws:dynamodb:{cloud.region}:{cloud.account}:table/{cloud.outputs['results_table_name']}"
    extra = {"Sid": "TooMuch", "Effect": "Allow", "Action": ["dynamodb:DeleteItem"], "Resource": [table_arn]}
    widened = [*documents, json.dumps({"Version": "2012-10-17", "Statement": [extra]})]
    _, needed = access.check_calls(calls, widened, _mapper(cloud))
    unexercised = access.unexercised_grants(widened, needed)
    assert [(g.sid, g.action) for g in unexercised] == [("TooMuch", "dynamodb:DeleteItem")]


def test_a_wildcard_action_grant_fails_the_reverse_check(cloud: LocalCloud) -> None:
    calls, documents = _calls_and_policies(cloud, "uploads")
    endpoint_grant = [_with_action(d, "InvokeModelEndpoint", "sagemaker:*") for d in documents]
    _, needed = access.check_calls(calls, endpoint_grant, _mapper(cloud))
    unexercised = access.unexercised_grants(endpoint_grant, needed)
    assert [(g.sid, g.action) for g in unexercised] == [("InvokeModelEndpoint", "sagemaker:*")]


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::other/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resources": "arn:aws:s3:::other/*"},  # a typo
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    ],
)
def test_a_statement_the_evaluator_would_misjudge_is_refused(cloud: LocalCloud, statement: dict) -> None:
    calls, documents = _calls_and_policies(cloud, "uploads")
    widened = [*documents, json.dumps({"Version": "2012-10-17", "Statement": [statement]})]
    with pytest.raises(NotImplementedError, match="need Action and Resource"):
        access.check_calls(calls, widened, _mapper(cloud))
    with pytest.raises(NotImplementedError, match="need Action and Resource"):
        access.grants(widened)


def _with_action(document: str, sid: str, action: str) -> str:
    parsed = json.loads(document)
    for statement in parsed["Statement"]:
        if statement.get("Sid") == sid:
            statement["Action"] = [action]
    return json.dumps(parsed)


def _without_statement(document: str, sid: str) -> str:
    parsed = json.loads(document)
    parsed["Statement"] = [s for s in parsed["Statement"] if s.get("Sid") != sid]
    return json.dumps(parsed)


def _with_resource(document: str, sid: str, resource: str) -> str:
    parsed = json.loads(document)
    for statement in parsed["Statement"]:
        if statement.get("Sid") == sid:
            statement["Resource"] = [resource]
    return json.dumps(parsed)
