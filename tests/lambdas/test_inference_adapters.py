"""The AWS edges translate real botocore errors into TransientError / PermanentError.

Error shapes moto cannot produce are served to a real botocore client as raw HTTP responses (a
`before-send` hook), so botocore's own parsing is exercised; the rest runs against moto.
"""

import io
import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from conftest import TABLE
from inference_fakes import BUCKET, REPLACEMENT_CASES, FakeS3, FakeTable, FakeTopic, client_error, stored_item

from lambdas.inference import adapters, contract
from lambdas.inference.domain import OutcomeMessage, sequencer_order


class RawBody(io.BytesIO):
    """An HTTP body as botocore reads it: streamed for errors, read for payloads."""

    def stream(self, **_):
        yield self.getvalue()


@pytest.fixture(scope="module")
def sagemaker_client():
    """A real sagemaker-runtime client without retries (created once; each test hooks its own answer)."""
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.fixture
def sagemaker_answering(sagemaker_client):
    """Make every InvokeEndpoint request get this raw HTTP response, parsed by botocore as usual."""
    hooks = []

    def answer(status: int, body, headers: dict | None = None, hook=None):
        def respond(request, **_):
            raw = RawBody(json.dumps(body).encode())
            return AWSResponse(
                request.url, status, {"Content-Type": "application/json", **(headers or {})}, raw
            )

        hooks.append(hook or respond)
        sagemaker_client.meta.events.register_first(EVENT, hooks[-1])
        return sagemaker_client

    yield answer
    for hook in hooks:
        sagemaker_client.meta.events.unregister(EVENT, hook)


EVENT = "before-send.sagemaker-runtime.InvokeEndpoint"


def model_error_response(original_status: int) -> dict:
    return {
        "ErrorCode": "ModelError",
        "Message": f"Received client error ({original_status}) from primary",
        "OriginalStatusCode": original_status,
        "OriginalMessage": "bad input",
        "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x",
    }


# --- SageMaker runtime ----------------------------------------------------------------------------------
def test_a_model_error_with_a_4xx_original_status_is_a_model_rejection(sagemaker_answering):
    client = sagemaker_answering(424, model_error_response(400), {"x-amzn-ErrorType": "ModelError"})
    with pytest.raises(adapters.ModelRejected) as raised:
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")
    assert raised.value.reason == contract.REASON_MODEL_ERROR


def test_a_model_error_with_a_5xx_original_status_is_the_model_failing(sagemaker_answering):
    client = sagemaker_answering(424, model_error_response(503), {"x-amzn-ErrorType": "ModelError"})
    with pytest.raises(adapters.ModelFailed) as raised:
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")
    assert isinstance(raised.value, adapters.TransientError)


def test_a_model_error_with_original_status_429_is_throttling_not_a_rejection(sagemaker_answering):
    # 429 is the container saying it is overloaded: the same input succeeds later.
    client = sagemaker_answering(424, model_error_response(429), {"x-amzn-ErrorType": "ModelError"})
    with pytest.raises(adapters.ModelThrottled) as raised:
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")
    assert isinstance(raised.value, adapters.TransientError)


def test_sagemaker_throttling_is_a_throttled_call(sagemaker_answering):
    client = sagemaker_answering(
        400, {"message": "Rate exceeded"}, {"x-amzn-ErrorType": "ThrottlingException"}
    )
    with pytest.raises(adapters.ModelThrottled, match="ThrottlingException"):
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")


def test_a_serverless_endpoint_still_provisioning_is_a_throttled_call(sagemaker_answering):
    client = sagemaker_answering(
        429, {"Message": "still provisioning"}, {"x-amzn-ErrorType": "ModelNotReadyException"}
    )
    with pytest.raises(adapters.ModelThrottled, match="ModelNotReadyException"):
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")


def test_an_internal_failure_is_transient_but_not_throttling(sagemaker_answering):
    client = sagemaker_answering(500, {"Message": "oops"}, {"x-amzn-ErrorType": "InternalFailure"})
    with pytest.raises(adapters.TransientError) as raised:
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")
    assert not isinstance(raised.value, adapters.ModelThrottled | adapters.ModelFailed)


def test_an_unknown_endpoint_is_retried_not_recorded(sagemaker_answering):
    client = sagemaker_answering(
        400, {"message": "Endpoint ep not found."}, {"x-amzn-ErrorType": "ValidationError"}
    )
    with pytest.raises(adapters.TransientError, match="ValidationError"):
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")


def test_a_read_timeout_is_transient(sagemaker_answering):
    def time_out(request, **_):
        raise ReadTimeoutError(endpoint_url=request.url)

    client = sagemaker_answering(200, {}, hook=time_out)
    with pytest.raises(adapters.TransientError):
        adapters.invoke_endpoint(client, "ep", b"{}", "application/json")


def test_a_successful_invocation_returns_the_body(sagemaker_answering):
    client = sagemaker_answering(200, [{"label": "POSITIVE"}])
    assert json.loads(adapters.invoke_endpoint(client, "ep", b"{}", "application/json")) == [
        {"label": "POSITIVE"}
    ]


# --- S3 -------------------------------------------------------------------------------------------------
def test_a_missing_key_is_object_missing(world):
    with pytest.raises(adapters.ObjectMissing) as raised:
        adapters.get_object(world.s3, BUCKET, "nope.txt", None, 1024)
    assert raised.value.reason == contract.REASON_NO_SUCH_KEY


def test_a_missing_version_is_object_missing(world):
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    world.put("a.txt", b"current")
    with pytest.raises(adapters.ObjectMissing) as raised:
        adapters.get_object(world.s3, BUCKET, "a.txt", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", 1024)
    assert raised.value.reason == contract.REASON_NO_SUCH_VERSION


def test_an_existing_version_is_read_with_its_metadata(world):
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = world.put("a.txt", b"first")["VersionId"]
    world.put("a.txt", b"second")
    fetched = adapters.get_object(world.s3, BUCKET, "a.txt", first, 1024)
    assert (fetched.data, fetched.meta.version_id, fetched.meta.size) == (b"first", first, 5)


def test_an_object_over_the_limit_is_too_large(world):
    world.put("big.txt", b"x" * 2048)
    with pytest.raises(adapters.ObjectTooLarge):
        adapters.get_object(world.s3, BUCKET, "big.txt", None, 1024)


def test_an_object_exactly_at_the_limit_is_read(world):
    world.put("edge.txt", b"x" * 1024)
    assert len(adapters.get_object(world.s3, BUCKET, "edge.txt", None, 1024).data) == 1024


def test_an_empty_object_is_read(world):
    world.put("empty.txt", b"")
    assert adapters.get_object(world.s3, BUCKET, "empty.txt", None, 1024).data == b""


def test_an_objects_content_type_is_returned_with_its_bytes(world):
    world.s3.put_object(Bucket=BUCKET, Key="cat.png", Body=b"\x89PNG", ContentType="image/png")
    fetched = adapters.get_object(world.s3, BUCKET, "cat.png", None, 1024, contract.HF_DECODED_CONTENT_TYPES)
    assert (fetched.data, fetched.content_type) == (b"\x89PNG", "image/png")


def test_an_object_of_a_type_the_model_does_not_decode_is_refused_before_its_body_is_read():
    s3 = FakeS3({"blob": b"\x00" * 100}, content_types={"blob": "binary/octet-stream"})
    with pytest.raises(adapters.UnsupportedContentType) as raised:
        adapters.get_object(s3, BUCKET, "blob", None, 1024, contract.HF_DECODED_CONTENT_TYPES)
    assert (raised.value.reason, raised.value.content_type) == (
        contract.REASON_UNSUPPORTED_CONTENT_TYPE,
        "binary/octet-stream",
    )
    assert s3.bodies[0].bytes_read == 0 and s3.bodies[0].closed


def test_a_binary_object_over_the_payload_limit_is_refused_before_its_body_is_read(world):
    world.s3.put_object(Bucket=BUCKET, Key="big.png", Body=b"x" * 2048, ContentType="image/png")
    with pytest.raises(adapters.ObjectTooLarge) as raised:
        adapters.get_object(world.s3, BUCKET, "big.png", None, 1024, contract.HF_DECODED_CONTENT_TYPES)
    assert raised.value.meta.size == 2048


# --- S3: large results ----------------------------------------------------------------------------------
LARGE_KEY = "results/" + "ab" * 32 + ".json"


def test_a_large_result_is_written_as_json_encrypted_by_the_buckets_default_key(world, encrypted_bucket):
    key_id = encrypted_bucket
    uri = adapters.put_large_result(world.s3, BUCKET, LARGE_KEY, b'{"vectors": [1, 2]}')
    head = world.s3.head_object(Bucket=BUCKET, Key=LARGE_KEY)
    assert uri == f"s3://{BUCKET}/{LARGE_KEY}"
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("application/json", "aws:kms")
    assert head["SSEKMSKeyId"].endswith(key_id)


def test_a_large_result_write_names_no_encryption_so_the_bucket_default_applies():
    s3 = FakeS3()
    adapters.put_large_result(s3, BUCKET, LARGE_KEY, b"{}")
    assert not {name for name in s3.puts[0] if name.startswith("ServerSideEncryption") or "KMS" in name}


def test_a_redelivered_large_result_leaves_the_first_write_as_it_is(world):
    adapters.put_large_result(world.s3, BUCKET, LARGE_KEY, b'{"first": true}')
    uri = adapters.put_large_result(world.s3, BUCKET, LARGE_KEY, b'{"second": true}')
    body = world.s3.get_object(Bucket=BUCKET, Key=LARGE_KEY)["Body"].read()
    assert (uri, body) == (f"s3://{BUCKET}/{LARGE_KEY}", b'{"first": true}')


@pytest.mark.parametrize("code", ["ConditionalRequestConflict", "AccessDenied", "SlowDown"])
def test_a_large_result_write_that_fails_otherwise_is_transient(code):
    s3 = FakeS3(put_errors={LARGE_KEY: client_error(code, "PutObject", 409)})
    with pytest.raises(adapters.TransientError, match=code):
        adapters.put_large_result(s3, BUCKET, LARGE_KEY, b"{}")


def test_access_denied_is_transient_because_a_permission_fix_makes_a_retry_succeed():
    s3 = FakeS3(errors={"a.txt": client_error("AccessDenied", "GetObject", 403)})
    with pytest.raises(adapters.TransientError, match="AccessDenied"):
        adapters.get_object(s3, BUCKET, "a.txt", None, 1024)


# --- DynamoDB -------------------------------------------------------------------------------------------
def item(sequencer, status="completed"):
    value = {"pk": f"s3://{BUCKET}/a.txt", "status": status, "sequencer": sequencer, "prediction": None}
    order = sequencer_order(sequencer)
    if order:
        value[contract.SEQUENCER_ORDER_ATTRIBUTE] = order
    return value


def stored_status(world):
    return world.item("a.txt")["status"]


def test_a_first_write_is_stored(world):
    assert adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5")).written


def test_a_later_sequencer_of_shorter_length_overwrites(world):
    adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5FF", "failed"))
    assert adapters.put_result(world.dynamodb, TABLE, item("0056000000000000FF", "completed")).written
    assert stored_status(world) == "completed"


def test_an_earlier_sequencer_of_longer_length_does_not_overwrite(world):
    adapters.put_result(world.dynamodb, TABLE, item("0056000000000000FF", "completed"))
    outcome = adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5FF", "failed"))
    assert not outcome.written and outcome.stored["sequencer"] == "0056000000000000FF"
    assert stored_status(world) == "completed"


def test_the_same_sequencer_again_does_not_overwrite_and_returns_the_stored_item(world):
    adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5", "completed"))
    outcome = adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5", "failed"))
    assert (outcome.written, outcome.stored["status"]) == (False, "completed")


def test_an_unsequenced_event_does_not_overwrite_an_existing_result(world):
    adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5", "completed"))
    assert not adapters.put_result(world.dynamodb, TABLE, item(None, "failed")).written


def test_a_sequenced_event_overwrites_a_result_from_an_unsequenced_one(world):
    adapters.put_result(world.dynamodb, TABLE, item(None, "failed"))
    assert adapters.put_result(world.dynamodb, TABLE, item("0055AED6DCD90281E5", "completed")).written


# Re-scoring: the conditional write is domain.replaces, case for case (both directions) against moto.
@pytest.mark.parametrize(
    ("stored", "new", "replaced"),
    [case[1:] for case in REPLACEMENT_CASES],
    ids=[case[0] for case in REPLACEMENT_CASES],
)
def test_the_conditional_write_replaces_exactly_when_the_results_contract_says(world, stored, new, replaced):
    if stored is not None:
        assert adapters.put_result(world.dynamodb, TABLE, stored).written
    outcome = adapters.put_result(world.dynamodb, TABLE, {**new, "prediction": "new"})
    assert outcome.written is replaced
    assert world.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": new["pk"]}})["Item"]["prediction"] == {
        "S": "new" if replaced else "stored"
    }


def test_a_newer_model_version_from_a_later_environment_re_scores_the_stored_result(world):
    adapters.put_result(world.dynamodb, TABLE, stored_item(version="v1", started=1000))
    assert adapters.put_result(world.dynamodb, TABLE, stored_item(version="v2", started=2000)).written


def test_an_older_model_versions_straggler_leaves_the_re_scored_result_and_returns_it(world):
    adapters.put_result(world.dynamodb, TABLE, stored_item(version="v2", started=2000))
    outcome = adapters.put_result(world.dynamodb, TABLE, stored_item(version="v1", started=1000))
    assert (outcome.written, outcome.stored["model_version"]) == (False, "v2")


def test_the_same_model_version_again_writes_nothing(world):
    adapters.put_result(world.dynamodb, TABLE, stored_item(version="v1", started=1000))
    assert not adapters.put_result(world.dynamodb, TABLE, stored_item(version="v1", started=5000)).written


def test_dynamodb_throttling_is_transient():
    table = FakeTable(errors={f"s3://{BUCKET}/a.txt": client_error("ThrottlingException", "PutItem", 400)})
    with pytest.raises(adapters.TransientError):
        adapters.put_result(table, TABLE, item("00AB"))


# --- SNS ------------------------------------------------------------------------------------------------
def message(pk):
    return OutcomeMessage(
        json.dumps({"pk": pk}), {"status": {"DataType": "String", "StringValue": "completed"}}
    )


def test_publish_batch_reports_refused_entries_by_position():
    topic = FakeTopic(refuse={"b"})
    assert set(adapters.publish_batch(topic, "arn", [message("a"), message("b")])) == {1}


def test_publish_batch_counts_unconfirmed_entries_as_failed():
    class Silent:
        def publish_batch(self, **_):
            return {"Successful": [{"Id": "0", "MessageId": "m"}], "Failed": []}

    assert set(adapters.publish_batch(Silent(), "arn", [message("a"), message("b")])) == {1}


def test_publish_batch_against_moto_succeeds(world):
    assert adapters.publish_batch(world.sns, world.topic_arn, [message("a"), message("b")]) == {}


class _OutputWithoutLength:
    """An S3 client whose GetObject answer carries no ContentLength (S3 always sends one; a proxy may not)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, **_: object) -> dict:
        from inference_fakes import Body  # noqa: PLC0415

        return {"Body": Body(self.data)}


def test_an_async_output_larger_than_the_inline_limit_stays_in_s3_even_without_its_length():
    assert adapters.read_async_output(_OutputWithoutLength(b"x" * 11), "s3://b/o.out", 10) == (None, 11)
    assert adapters.read_async_output(_OutputWithoutLength(b"x" * 10), "s3://b/o.out", 10) == (b"x" * 10, 10)
