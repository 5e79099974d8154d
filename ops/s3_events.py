"""S3 object-created events for existing objects, in the shape each route's entry delivers (pure).

Reprocess and backfill send these through a route's own entry, so the very handler that serves live uploads
processes them: an S3 notification (S3 "Event message structure",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html) as the body of an
SQS message (sqs), the message of an SNS publication (sns), or the payload of an asynchronous invocation
(lambda); an eventbridge route's function gets the EventBridge "Object Created" event ("Amazon S3 event
notifications with EventBridge",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) the rule would have delivered.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

EVENT_NAME = "ObjectCreated:Put"
REQUESTER = "ai-event-pipeline-ops"


@dataclass(frozen=True)
class ObjectVersion:
    """One current object version, as ListObjectVersions / HeadObject describe it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    last_modified: datetime

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def s3_notification(obj: ObjectVersion, sequencer: str, region: str) -> dict[str, Any]:
    """An S3 event notification with one ObjectCreated record for `obj` (key URL-encoded as S3 does)."""
    s3_object: dict[str, Any] = {
        "key": quote_plus(obj.key, safe="/"),
        "size": obj.size,
        "eTag": obj.etag.strip('"'),
        "sequencer": sequencer,
    }
    if obj.version_id and obj.version_id != "null":
        s3_object["versionId"] = obj.version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _time(obj.last_modified),
                "eventName": EVENT_NAME,
                "userIdentity": {"principalId": REQUESTER},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": REQUESTER},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ops-reprocess",
                    "bucket": {"name": obj.bucket, "arn": f"arn:aws:s3:::{obj.bucket}"},
                    "object": s3_object,
                },
            }
        ]
    }


def eventbridge_event(obj: ObjectVersion, sequencer: str, region: str, account: str) -> dict[str, Any]:
    """The EventBridge "Object Created" event S3 sends to the default bus for `obj`."""
    s3_object: dict[str, Any] = {
        "key": obj.key,
        "size": obj.size,
        "etag": obj.etag.strip('"'),
        "sequencer": sequencer,
    }
    if obj.version_id and obj.version_id != "null":
        s3_object["version-id"] = obj.version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": obj.last_modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{obj.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": obj.bucket},
            "object": s3_object,
            "request-id": REQUESTER,
            "requester": account,
            "reason": "PutObject",
        },
    }


def entry_payload(via: str, obj: ObjectVersion, sequencer: str, region: str, account: str) -> str:
    """What goes to the route's entry for `obj`: an SQS body, an SNS message or an invocation payload."""
    if via == "eventbridge":
        return json.dumps(eventbridge_event(obj, sequencer, region, account))
    return json.dumps(s3_notification(obj, sequencer, region))
