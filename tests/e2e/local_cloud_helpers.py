"""Helpers for the end-to-end tests: configs, deployments, uploads and reading outcomes back from moto.

Each test module deploys the real program once (module-scoped fixture) into a `LocalCloud`;
tests share it and use their own object keys, so they do not see each other's objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

from lambdas.inference.contract import PAYLOAD_BINARY
from localrun.emulator import LocalCloud
from localrun.program import PROJECT_DIR, PROJECT_NAME, load_stack_config, stack_config_path

# A real image (64 x 40 PNG) for routes whose model takes bytes; the image stand-in labels it so.
SAMPLE_IMAGE = (PROJECT_DIR / "samples" / "sunset.png").read_bytes()
SAMPLE_IMAGE_LABEL = "landscape graphic"


def dev_config(**overrides: Any) -> dict[str, str]:
    """The dev stack's config (Pulumi.dev.yaml) with some top-level project keys replaced."""
    config = load_stack_config(stack_config_path("dev"))
    for key, value in overrides.items():
        config[f"{PROJECT_NAME}:{key}"] = json.dumps(value)
    return config


def dev_routes() -> list[dict[str, Any]]:
    return json.loads(dev_config()[f"{PROJECT_NAME}:routes"])


def dev_routes_only(*names: str, **overrides: Any) -> dict[str, str]:
    """The dev stack cut to some of its routes and the models they use (a smaller deployment for a module
    about those routes), with other top-level keys replaced as in `dev_config`."""
    routes = [r for r in dev_routes() if r["name"] in names]
    models = json.loads(dev_config()[f"{PROJECT_NAME}:models"])
    used = {r["model"] for r in routes}
    return dev_config(routes=routes, models={n: m for n, m in models.items() if n in used}, **overrides)


def dev_async_model_routes() -> set[str]:
    """The dev routes whose model is async: their function submits the object and reads nothing."""
    models = json.loads(dev_config()[f"{PROJECT_NAME}:models"])
    return {r["name"] for r in dev_routes() if models[r["model"]]["mode"] == "async"}


@contextmanager
def deployed(config: dict[str, str] | None = None, before_deploy: Any = None) -> Iterator[LocalCloud]:
    """A LocalCloud with the program deployed; `before_deploy(cloud)` runs first (e.g. to add subscribers)."""
    with LocalCloud() as cloud:
        if before_deploy is not None:
            before_deploy(cloud)
        cloud.deploy(config=config if config is not None else dev_config())
        yield cloud


def route(cloud: LocalCloud, name: str) -> dict[str, Any]:
    return cloud.outputs["routes"][name]


def upload(
    cloud: LocalCloud, route_name: str, name: str, body: bytes | str, content_type: str | None = None
) -> str:
    """Put an object under the route's prefix (with `content_type` when given); return its URI (the
    results table key)."""
    key = f"{route(cloud, route_name)['prefix']}{name}"
    data = body.encode("utf-8") if isinstance(body, str) else body
    extra = {"ContentType": content_type} if content_type else {}
    cloud.s3.put_object(Bucket=cloud.outputs["bucket_name"], Key=key, Body=data, **extra)
    return f"s3://{cloud.outputs['bucket_name']}/{key}"


def payload_format(cloud: LocalCloud, route_name: str) -> str:
    """The payload format of the route's model (text, json or binary)."""
    return cloud.outputs["models"][route(cloud, route_name)["model"]]["payload_format"]


def upload_input(cloud: LocalCloud, route_name: str, stem: str, text: str) -> str:
    """Upload an input the route's model takes; return its URI: `<stem>.json` holding `{"inputs": text}`,
    or on a route whose model takes bytes, `<stem>.png`, a real PNG uploaded as image/png."""
    if payload_format(cloud, route_name) == PAYLOAD_BINARY:
        return upload(cloud, route_name, f"{stem}.png", SAMPLE_IMAGE, "image/png")
    return upload(cloud, route_name, f"{stem}.json", text_payload(text))


def first_label(prediction: Any) -> str | None:
    """The top label of a classification answer: `{label, score}`, or a list of them best first."""
    first = prediction[0] if isinstance(prediction, list) and prediction else prediction
    return first.get("label") if isinstance(first, dict) else None


def text_payload(text: str) -> str:
    return json.dumps({"inputs": text})


def create_subscriber_queue(cloud: LocalCloud, name: str) -> tuple[str, str]:
    """An SQS queue that lets SNS topics of this account deliver to it (as a subscriber must)."""
    return subscriber_queue(
        cloud.client("sqs"), name, f"arn:aws:sns:{cloud.region}:{cloud.account}:*", operator="ArnLike"
    )


def subscriber_queue(sqs: Any, name: str, topic_arn: str, operator: str = "ArnEquals") -> tuple[str, str]:
    """Create a queue whose policy lets SNS deliver from `topic_arn` (a pattern with ArnLike); (url, arn)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {operator: {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def replayed_s3_event(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """An S3 notification record without versionId or sequencer, as in a hand-made replay."""
    bucket = cloud.outputs["bucket_name"]
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": cloud.region,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 20},
                },
            }
        ]
    }


def notifications_received(cloud: LocalCloud, queue_url: str) -> list[dict[str, Any]]:
    """The SNS envelopes in a subscriber queue: {"Message", "MessageAttributes": {name: {"Value"}}}."""
    return [json.loads(m["Body"]) for m in cloud.queue_messages(queue_url)]


def attribute(envelope: dict[str, Any], name: str) -> str | None:
    value = envelope.get("MessageAttributes", {}).get(name)
    return value.get("Value") if value else None
