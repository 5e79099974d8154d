"""The local run's own rules, shown with small programs: refuse what it cannot emulate, check what AWS checks.

These run tiny Pulumi programs (written to a temp dir) through the same MotoMocks as the
real stack, so each rule is visible without the whole pipeline.
"""

from __future__ import annotations

import asyncio
import gc
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_cloud_helpers import dev_config
from pulumi.runtime import mocks as pulumi_mocks

from localrun.emulator import LocalCloud
from localrun.lambda_.sqs_poller import EventSourceMapping, SqsEventSourcePoller
from localrun.moto_mocks import CREATORS, DestinationValidationError, MotoMocks, UnsupportedResourceType
from localrun.program import PROJECT_DIR, load_stack_config, run_program, stack_config_path
from localrun.standin_model import InvalidModelInput, NoStandIn, StandInTextClassifier
from tools.capture_mocks import CaptureMocks

CONFIG = {"aws:region": "us-east-1"}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as cloud:
        yield cloud


def _run(cloud: LocalCloud, tmp_path: Path, body: str) -> MotoMocks:
    program = tmp_path / "__main__.py"
    program.write_text("import json\nimport pulumi\nimport pulumi_aws as aws\n" + textwrap.dedent(body))
    mocks = MotoMocks(cloud.runtime, cloud.region)
    cloud.program = run_program(mocks, config=CONFIG, program=program)
    cloud.mocks = mocks
    return mocks


def test_resource_type_without_a_creator_is_an_error_naming_it(cloud: LocalCloud, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedResourceType, match=r"aws:ec2/vpc:Vpc \('network'\)"):
        _run(cloud, tmp_path, 'aws.ec2.Vpc("network", cidr_block="10.0.0.0/16")\n')


def _declared_aws_types(stack: str, config_file: Path, region: str) -> set[str]:
    run = run_program(CaptureMocks(region=region), stack=stack, config_file=config_file)
    return {r.type for r in run.resources if r.type.startswith("aws:")}


def test_creators_are_exactly_the_resource_types_the_program_declares() -> None:
    # Every type infra/ can declare appears in the dev stack or in the production-shaped one (tests/infra).
    prodlike = PROJECT_DIR / "tests" / "infra" / "Pulumi.prodlike.yaml"
    # The dev stack (its async model brings Application Auto Scaling) with a consumer queue, which brings the
    # managed read policy the stack files do not set.
    consumers = dev_config(notifications={"subscriptions": [], "consumers": [{"name": "billing"}]})
    run = run_program(CaptureMocks(), config=consumers)
    declared = {r.type for r in run.resources if r.type.startswith("aws:")}
    declared |= _declared_aws_types("prod", prodlike, "eu-west-1")
    assert {
        "creators the program never needs": set(CREATORS) - declared,
        "declared types without a creator": declared - set(CREATORS),
    } == {"creators the program never needs": set(), "declared types without a creator": set()}


@pytest.mark.parametrize(
    "typ",
    [
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:sqs/redrivePolicy:RedrivePolicy",
        "aws:iam/groupPolicy:GroupPolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    ],
)
def test_type_the_program_does_not_declare_is_an_error_naming_it(cloud: LocalCloud, typ: str) -> None:
    mocks = MotoMocks(cloud.runtime, cloud.region)
    with pytest.raises(UnsupportedResourceType, match=rf"cannot create resource type {typ} \('extra'\)"):
        mocks.new_resource(pulumi_mocks.MockResourceArgs(typ, "extra", {}, custom=True))


TABLE = {"hashKey": "pk", "attributes": [{"name": "pk", "type": "S"}], "billingMode": "PAY_PER_REQUEST"}


@pytest.mark.parametrize(
    ("typ", "inputs", "reported"),
    [
        (
            "aws:sqs/queue:Queue",
            {"fifoQueue": True, "delaySeconds": 5},
            {"Queue input 'delaySeconds'", "Queue input 'fifoQueue'"},
        ),
        (
            "aws:dynamodb/table:Table",
            {
                **TABLE,
                "ttl": {"enabled": True, "attributeName": "expires"},
                "pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 7},
            },
            {"Table input 'ttl'", "Table input 'pointInTimeRecovery.recoveryPeriodInDays'"},
        ),
    ],
)
def test_input_the_program_does_not_set_is_reported_as_not_emulated(
    cloud: LocalCloud, typ: str, inputs: dict, reported: set[str]
) -> None:
    mocks = MotoMocks(cloud.runtime, cloud.region)
    mocks.new_resource(pulumi_mocks.MockResourceArgs(typ, "extra", inputs, custom=True))
    assert set(mocks.not_emulated) == reported


NOTIFICATION_TO_TOPIC_WITHOUT_POLICY = """
    bucket = aws.s3.Bucket("ingest")
    topic = aws.sns.Topic("events")  # no topic policy for s3.amazonaws.com
    aws.s3.BucketNotification(
        "notification", bucket=bucket.id,
        topics=[
            aws.s3.BucketNotificationTopicArgs(id="all", topic_arn=topic.arn, events=["s3:ObjectCreated:*"])
        ],
    )
"""


def test_bucket_notification_to_a_topic_s3_may_not_publish_to_fails_like_s3(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    with pytest.raises(DestinationValidationError, match=r"Unable to validate .*events-.*sns:Publish"):
        _run(cloud, tmp_path, NOTIFICATION_TO_TOPIC_WITHOUT_POLICY)


def test_failed_run_leaves_no_unretrieved_error_for_the_collector_to_log_later(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Logged whenever the collector runs, such an error's traceback is formatted with `ast` inside
    # whatever code runs then, which on CPython 3.11 can fail a later deploy with a SystemError.
    logged: list[str] = []
    loop = asyncio.get_event_loop()
    loop.set_exception_handler(lambda _loop, context: logged.append(context["message"]))
    try:
        with pytest.raises(DestinationValidationError):
            _run(cloud, tmp_path, NOTIFICATION_TO_TOPIC_WITHOUT_POLICY)
        gc.collect()
    finally:
        loop.set_exception_handler(None)

    assert logged == []


EVENTBRIDGE_TARGET_WITHOUT_PERMISSION = """
    bucket = aws.s3.Bucket("ingest")
    aws.s3.BucketNotification("notification", bucket=bucket.id, eventbridge=True)
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust_policy = json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    role = aws.iam.Role("fn-role", assume_role_policy=trust_policy)
    from pathlib import Path
    handler_source = pulumi.FileAsset(str(Path(__file__).with_name("index.py")))  # written by the test
    code = pulumi.AssetArchive({"index.py": handler_source})
    fn = aws.lambda_.Function("fn", role=role.arn, runtime="python3.13", handler="index.handler", code=code)
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    rule = aws.cloudwatch.EventRule("created", event_pattern=json.dumps(pattern))
    dlq = aws.sqs.Queue("target-dlq")
    from_rule = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": dlq.arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}},
    }
    policy = pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [from_rule]})
    aws.sqs.QueuePolicy("target-dlq-policy", queue_url=dlq.url, policy=policy)
    # No aws.lambda_.Permission for events.amazonaws.com: EventBridge may not invoke the function.
    dead_letters = aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn)
    aws.cloudwatch.EventTarget("to-fn", rule=rule.name, arn=fn.arn, dead_letter_config=dead_letters)
    pulumi.export("bucket", bucket.bucket)
    pulumi.export("dlq_url", dlq.url)
"""


def test_eventbridge_target_that_may_not_invoke_sends_the_event_to_its_dlq(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    (tmp_path / "index.py").write_text("def handler(event, context):\n    return 1\n")
    _run(cloud, tmp_path, EVENTBRIDGE_TARGET_WITHOUT_PERMISSION)
    cloud.s3.put_object(Bucket=cloud.outputs["bucket"], Key="a.txt", Body=b"hello")
    cloud.run_until_idle()

    dead = cloud.queue_messages(cloud.outputs["dlq_url"])
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"])["detail"]["object"]["key"] == "a.txt"
    assert dead[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"
    assert cloud.runtime.results == []  # the function never ran
    assert any("function policy" in p for p in cloud.deliveries.problems)


def test_stand_in_model_answers_one_prediction_per_input() -> None:
    model = StandInTextClassifier()
    single = model.predict(json.dumps({"inputs": "great service"}).encode())
    several = model.predict(json.dumps({"inputs": ["great service", "terrible and slow"]}).encode())
    assert [p["label"] for p in single] == ["POSITIVE"]
    assert [p["label"] for p in several] == ["POSITIVE", "NEGATIVE"]


@pytest.mark.parametrize("body", [b"not json", b'{"text": "no inputs"}', b'{"inputs": []}'])
def test_stand_in_model_rejects_requests_the_real_container_rejects(body: bytes) -> None:
    with pytest.raises(InvalidModelInput):
        StandInTextClassifier().predict(body)


def test_model_whose_task_has_no_stand_in_fails_the_deploy_naming_the_task(cloud: LocalCloud) -> None:
    # One route on the image model is enough: the check runs over the deployed endpoints.
    models = json.loads(load_stack_config(stack_config_path("dev"))["ai-event-pipeline:models"])
    model = models["image-classifier"]
    model["environment"]["HF_TASK"] = "object-detection"
    images = {"name": "images", "prefix": "images/", "via": "lambda", "model": "image-classifier"}
    config = dev_config(routes=[images], models={"image-classifier": model})
    with pytest.raises(NoStandIn, match=r"image-classifier.*HF_TASK='object-detection'.*STAND_INS"):
        cloud.deploy(config=config)


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ("not an object", {"a", "b"}),
    ],
)
def test_partial_batch_response_is_read_as_lambda_reads_it(response: object, failed: set[str]) -> None:
    mapping = EventSourceMapping("uuid", "fn", "arn:aws:sqs:us-east-1:123456789012:q", 10, True)
    assert SqsEventSourcePoller._failed_item_ids(mapping, response, ["a", "b"]) == failed


BUCKET_TO_TOPIC = """
    bucket = aws.s3.Bucket("ingest")
    topic = aws.sns.Topic("events")
    from_bucket = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic.arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket.arn}},
    }
    policy = aws.sns.TopicPolicy(
        "events-policy", arn=topic.arn, policy=pulumi.Output.json_dumps({"Statement": [from_bucket]})
    )
    aws.s3.BucketNotification(
        "notification", bucket=bucket.id,
        topics=[
            aws.s3.BucketNotificationTopicArgs(id="all", topic_arn=topic.arn, events=["s3:ObjectCreated:*"])
        ],
        opts=pulumi.ResourceOptions(depends_on=[policy]),
    )
    pulumi.export("bucket", bucket.bucket)
    pulumi.export("topic", topic.arn)
"""


def test_failed_delivery_is_recorded_and_does_not_fail_the_upload(cloud: LocalCloud, tmp_path: Path) -> None:
    _run(cloud, tmp_path, BUCKET_TO_TOPIC)
    cloud.client("sns").delete_topic(TopicArn=cloud.outputs["topic"])  # the destination disappears

    cloud.s3.put_object(Bucket=cloud.outputs["bucket"], Key="after-topic-deleted.txt", Body=b"hello")

    assert len(cloud.deliveries.problems) == 1
    assert "does not exist" in cloud.deliveries.problems[0]


def test_trace_attributes_a_batched_model_call_to_each_inputs_document() -> None:
    from localrun.trace import _payload_carries  # noqa: PLC0415 - the matcher itself, without a deployment

    batched = {"inputs": ["great service", "late delivery"]}
    assert _payload_carries(batched, b'{"inputs": "late delivery"}')
    assert _payload_carries(batched, b"great service\n")
    assert not _payload_carries(batched, b'{"inputs": "something else"}')


def test_invoke_the_local_run_does_not_answer_is_an_error_naming_its_token(cloud: LocalCloud) -> None:
    mocks = MotoMocks(cloud.runtime, cloud.region)
    token = "aws:ec2/getAmi:getAmi"
    with pytest.raises(UnsupportedResourceType, match=r"does not answer the invoke aws:ec2/getAmi:getAmi\b"):
        mocks.call(pulumi_mocks.MockCallArgs(token, {"mostRecent": True}, provider=""))
