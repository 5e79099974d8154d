"""Stack outputs and DLQ messages shaped as the dev stack exports and AWS writes them, for the pure tests."""

from __future__ import annotations

import json
from typing import Any

BUCKET = "ingest-abc1234"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def function_arn(route: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inference-{route}-1234567"


def route_outputs(name: str, via: str, prefix: str, suffix: str | None = None) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "via": via,
        "prefix": prefix,
        "suffix": suffix,
        "model": "text-classifier",
        "endpoint_name": "ai-event-pipeline-dev-text-classifier",
        "function_name": f"inference-{name}-1234567",
        "function_arn": function_arn(name),
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/inference-{name}-role",
        "dlq_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}-dlq",
        "dlq_arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-dlq",
    }
    if via == "sns":
        outputs["topic_arn"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}-object-events"
    if via == "sqs":
        outputs["queue_url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}-queue"
        outputs["queue_arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-queue"
    if via == "eventbridge":
        outputs.update(
            rule_name=f"{name}-object-created", rule_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x"
        )
    return outputs


def dev_outputs() -> dict[str, Any]:
    return {
        "region": REGION,
        "bucket_name": BUCKET,
        "bucket_arn": f"arn:aws:s3:::{BUCKET}",
        "results_table_name": "results-1234567",
        "notifications_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:notifications",
        "models": {"text-classifier": {"model_version": "sha256:0123456789abcdef"}},
        "routes": {
            "uploads": route_outputs("uploads", "sns", "uploads/"),
            "batch": route_outputs("batch", "sqs", "batch/"),
            "data": route_outputs("data", "lambda", "data/", ".json"),
            "events": route_outputs("events", "eventbridge", "events/"),
        },
    }


def s3_notification(key: str, bucket: str = BUCKET, sequencer: str = "0055AED6DCD90281E5") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2025-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": 20, "eTag": "abc", "sequencer": sequencer},
                },
            }
        ]
    }


def sns_envelope(message: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": topic_arn,
        "Message": json.dumps(message),
        "Timestamp": "2025-01-01T00:00:01.000Z",
    }


def invocation_record(route: str, event: dict[str, Any], function: str | None = None) -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2025-01-01T00:03:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": f"{function or function_arn(route)}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "model timed out", "errorType": "TransientError"},
    }


def eventbridge_event(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "f5f1e65c-dc3a-93ca-6c1e-b1647eac7963",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2025-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 20, "etag": "abc", "sequencer": "0055AED6DCD90281E5"},
            "reason": "PutObject",
        },
    }


def sqs_message(
    body: Any, attributes: dict[str, str] | None = None, message_id: str = "m-1"
) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"rh-{message_id}",
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"SentTimestamp": "1735689600000"},
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()
        },
    }


STREAM_NAME = "stream-stream-7654321"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM_NAME}"
SHARD = "shardId-000000000000"


def stream_route_outputs(name: str = "stream") -> dict[str, Any]:
    """A kinesis route as __main__.py exports it: no prefix, its stream and producer policy."""
    outputs = route_outputs(name, "kinesis", "")
    outputs.update(
        prefix=None,
        stream_name=STREAM_NAME,
        stream_arn=STREAM_ARN,
        producer_policy_arn=f"arn:aws:iam::{ACCOUNT}:policy/{name}-producer",
    )
    return outputs


def dev_outputs_with_stream() -> dict[str, Any]:
    outputs = dev_outputs()
    outputs["routes"]["stream"] = stream_route_outputs()
    return outputs


def kinesis_on_failure_record(
    start: str, end: str, size: int, stream_arn: str = STREAM_ARN, route: str = "stream"
) -> dict[str, Any]:
    """What a Kinesis event source mapping sends to an SQS on-failure destination (Lambda Developer Guide,
    "Retain discarded batch records for a Kinesis Data Streams event source in Lambda")."""
    return {
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": f"{function_arn(route)}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2025-01-01T00:03:00.000Z",
        "KinesisBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "approximateArrivalOfFirstRecord": "2025-01-01T00:00:00.000Z",
            "approximateArrivalOfLastRecord": "2025-01-01T00:00:01.000Z",
            "batchSize": size,
            "streamArn": stream_arn,
        },
    }


SUMMARIZER_ENDPOINT = "ai-event-pipeline-dev-summarizer"
WRITER_FUNCTION = "result-writer-summarizer-5f7798a"
WRITER_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{WRITER_FUNCTION}"
SUCCESS_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:model-summarizer-success-afbae90"
ERROR_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:model-summarizer-error-49ff8f0"
OUTPUT_PREFIX = "async-inference/summarizer/output/"


def summarizer_outputs() -> dict[str, Any]:
    """An async model as __main__.py exports it (`models.<name>`): its topics, result writer and its DLQ."""
    return {
        "mode": "async",
        "payload_format": "json",
        "model_version": "sha256:b0ccee8cc772bb9e",
        "endpoint_name": SUMMARIZER_ENDPOINT,
        "routes": ["documents"],
        "success_topic_arn": SUCCESS_TOPIC,
        "error_topic_arn": ERROR_TOPIC,
        "result_writer_function_name": WRITER_FUNCTION,
        "result_writer_role_arn": f"arn:aws:iam::{ACCOUNT}:role/result-writer-summarizer-role-384a6d5",
        "result_writer_dlq_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/result-writer-summarizer-dlq",
        "output_prefix": OUTPUT_PREFIX,
    }


def dev_outputs_with_async() -> dict[str, Any]:
    """The dev outputs with the text classifier serverless and the summarizer async, on a documents route."""
    outputs = dev_outputs()
    outputs["models"]["text-classifier"]["mode"] = "serverless"
    outputs["models"]["summarizer"] = summarizer_outputs()
    outputs["routes"]["documents"] = route_outputs("documents", "lambda", "documents/", ".json")
    return outputs


def sagemaker_notice(
    key: str, inference_id: str = "6b7615ad52245f70a004cb4c53f28d3e8175dbe9", completed: bool = True
) -> dict[str, Any]:
    """SageMaker's notification of an async inference (SageMaker Developer Guide, "Check prediction
    results"): on the success topic with its output location, or on the error topic with the reason."""
    notice: dict[str, Any] = {
        "awsRegion": REGION,
        "eventTime": "2025-01-01T00:00:05.000Z",
        "receivedTime": "2025-01-01T00:00:01.000Z",
        "invocationStatus": "Completed" if completed else "Failed",
        "requestParameters": {
            "contentType": "application/json",
            "endpointName": SUMMARIZER_ENDPOINT,
            "inputLocation": f"s3://{BUCKET}/{key}",
        },
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if completed:
        notice["responseParameters"] = {
            "contentType": "application/json",
            "outputLocation": f"s3://{BUCKET}/{OUTPUT_PREFIX}180a5781.out",
        }
    else:
        notice["failureReason"] = "ClientError: Received client error (400) from model"
    return notice


def writer_sns_event(notice: dict[str, Any], topic_arn: str = SUCCESS_TOPIC) -> dict[str, Any]:
    """The event Lambda gives the result writer for one notification (one SNS record)."""
    envelope = sns_envelope(notice, topic_arn)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:7fcdcd75-4cb1-4a26-9569-df3017c7c596",
                "Sns": {**envelope, "Subject": None, "MessageAttributes": {}},
            }
        ]
    }


def writer_invocation_record(event: dict[str, Any], function: str = WRITER_FUNCTION_ARN) -> dict[str, Any]:
    """Lambda's on-failure record of a writer that could not publish the outcome on any attempt."""
    record = invocation_record("unused", event, function=function)
    record["responsePayload"] = {
        "errorMessage": "6b7615ad52245f70a004cb4c53f28d3e8175dbe9: PublishBatch failed: InternalError",
        "errorType": "NoticeNotProcessedError",
    }
    return record
