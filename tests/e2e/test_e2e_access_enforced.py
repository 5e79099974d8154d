"""IAM enforced while the run happens: a handler call its role does not allow fails as AWS fails it.

With the stack as declared nothing is denied (every sample reaches its expected outcome). With a grant
taken away in moto — `dynamodb:PutItem` removed from a route's role policy (iam put_role_policy), or a
function's ROUTE_PREFIX widened so it reads another route's prefix — the handler gets the service's
AccessDenied ClientError, logs it, treats it as transient, and the event ends in the route's DLQ, not
completed. The denial names the role, the action and the resource. The codes and statuses are the
services' own (see `access.py`): S3 AccessDenied 403, DynamoDB AccessDeniedException 400, SNS
AuthorizationError 403, SageMaker Runtime AccessDeniedException 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from local_cloud_helpers import deployed, dev_routes_only, replayed_s3_event, route, text_payload, upload

from lambdas.inference.contract import ENV_ROUTE_PREFIX
from localrun.delivery_contract import DEAD_LETTERED, fates
from localrun.demo import collect_outcomes, put_stream_records, upload_samples
from localrun.emulator import LocalCloud


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def _remove_action(cloud: LocalCloud, role_arn: str, action: str) -> None:
    """Take `action` out of every inline policy of the role, in moto (as a changed deployment would)."""
    iam = cloud.client("iam")
    name = _role_name(role_arn)
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements = []
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            kept = [a for a in actions if a != action]
            if kept:
                statements.append({**statement, "Action": kept})
        document["Statement"] = statements
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))


def _as_function(cloud: LocalCloud, function_name: str, service: str):
    """A client with the function's role credentials, as the handler's own clients have them."""
    c = cloud.runtime.credentials_for(function_name)
    return boto3.client(
        service,
        region_name=cloud.region,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


# -- (1) the stack as declared: nothing denied ---------------------------------------------------------------
def test_the_declared_stack_runs_the_demo_with_no_call_denied() -> None:
    with deployed() as cloud:
        uploads = upload_samples(cloud) + put_stream_records(cloud)
        cloud.run_until_idle()
        collect_outcomes(cloud, uploads)
        assert [str(d) for d in cloud.access.denials] == []
        assert [(u.route, u.name) for u in uploads if not u.met] == []
        assert {u.route for u in uploads} == set(cloud.outputs["routes"])


# -- (2) a grant taken away: the handler's real error path runs ----------------------------------------------
@pytest.fixture(scope="module")
def broken() -> Iterator[LocalCloud]:
    with deployed(
        dev_routes_only("uploads", "data", "events", "batch")
    ) as cloud:  # the routes these tests use
        _remove_action(cloud, route(cloud, "uploads")["role_arn"], "dynamodb:PutItem")
        yield cloud


def test_a_write_the_role_no_longer_allows_is_denied_and_the_object_ends_in_the_dlq(
    broken: LocalCloud,
) -> None:
    cloud = broken
    details = route(cloud, "uploads")
    uri = upload(cloud, "uploads", "no-put-item.json", text_payload("great"))
    cloud.run_until_idle()

    fate = fates(cloud, [uri])[uri]
    assert fate.verdict == DEAD_LETTERED
    assert uri not in cloud.results()
    denied = [(d.role_arn, d.action, d.resource) for d in cloud.access.denials_for(details["function_name"])]
    table_arn = f"arn:aws:dynamodb:{cloud.region}:{cloud.account}:table/{cloud.outputs['results_table_name']}"
    assert denied and set(denied) == {(details["role_arn"], "dynamodb:PutItem", table_arn)}
    assert {(d.error_code, d.http_status) for d in cloud.access.denials_for(details["function_name"])} == {
        ("AccessDeniedException", 400)
    }
    logged = "\n".join(cloud.runtime.log_lines(details["function_name"]))
    assert "PutItem failed: AccessDeniedException" in logged


def test_a_read_outside_the_route_prefix_is_denied_by_s3(broken: LocalCloud) -> None:
    cloud = broken
    details = route(cloud, "data")
    lam = cloud.client("lambda")
    env = lam.get_function_configuration(FunctionName=details["function_name"])["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=details["function_name"], Environment={"Variables": {**env, ENV_ROUTE_PREFIX: ""}}
    )
    other = f"{route(cloud, 'events')['prefix']}someone-elses.json"
    cloud.s3.put_object(Bucket=cloud.outputs["bucket_name"], Key=other, Body=text_payload("great").encode())
    cloud.run_until_idle()
    lam.invoke(
        FunctionName=details["function_name"],
        InvocationType="Event",
        Payload=json.dumps(replayed_s3_event(cloud, other)),
    )
    cloud.run_until_idle()

    object_arn = f"arn:aws:s3:::{cloud.outputs['bucket_name']}/{other}"
    denials = cloud.access.denials_for(details["function_name"])
    assert {(d.role_arn, d.action, d.resource, d.error_code, d.http_status) for d in denials} == {
        (details["role_arn"], "s3:GetObject", object_arn, "AccessDenied", 403)
    }
    dead = [json.loads(m["Body"]) for m in cloud.queue_messages(details["dlq_url"])]
    assert [r["requestContext"]["condition"] for r in dead if other in json.dumps(r)] == ["RetriesExhausted"]
    logged = "\n".join(cloud.runtime.log_lines(details["function_name"]))
    assert "GetObject failed: AccessDenied" in logged


# -- (3) the error AWS answers, and the denial naming role, action and resource ------------------------------
def test_each_service_refuses_with_its_own_code_status_and_message(broken: LocalCloud) -> None:
    cloud = broken
    function = route(cloud, "uploads")["function_name"]
    role_name = _role_name(route(cloud, "uploads")["role_arn"])
    other_object = f"{route(cloud, 'batch')['prefix']}x.json"
    cloud.s3.put_object(Bucket=cloud.outputs["bucket_name"], Key=other_object, Body=b"{}")
    table = cloud.outputs["results_table_name"]
    attempts = {
        "s3": lambda c: c.get_object(Bucket=cloud.outputs["bucket_name"], Key=other_object),
        "dynamodb": lambda c: c.put_item(TableName=table, Item={"pk": {"S": "x"}}),
        "sns": lambda c: c.publish(TopicArn=cloud.outputs["ops_topic_arn"], Message="x"),
        "sagemaker-runtime": lambda c: c.invoke_endpoint(EndpointName="another-endpoint", Body=b"{}"),
    }
    seen = {}
    for service, attempt in attempts.items():
        with pytest.raises(ClientError) as raised:
            attempt(_as_function(cloud, function, service))
        error = raised.value.response
        seen[service] = (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"])
        message = error["Error"]["Message"]
        assert message.startswith(f"User: arn:aws:sts::{cloud.account}:assumed-role/{role_name}/"), message
        assert (
            "is not authorized to perform: " in message
            and "because no identity-based policy allows" in message
        )
    assert seen == {
        "s3": ("AccessDenied", 403),
        "dynamodb": ("AccessDeniedException", 400),
        "sns": ("AuthorizationError", 403),
        "sagemaker-runtime": ("AccessDeniedException", 400),
    }
    last = cloud.access.denials[-1]
    assert (last.role_arn, last.action) == (route(cloud, "uploads")["role_arn"], "sagemaker:InvokeEndpoint")
    assert str(last).count(role_name) == 1 and "sagemaker:InvokeEndpoint" in str(last)
    assert "endpoint/another-endpoint" in str(last)


def test_the_deployer_and_the_tests_are_not_checked(broken: LocalCloud) -> None:
    before = len(broken.access.denials)
    broken.client("dynamodb").put_item(
        TableName=broken.outputs["results_table_name"], Item={"pk": {"S": "harness"}}
    )
    assert len(broken.access.denials) == before
