"""Fixtures for the inference handler: a moto world (bucket, table, topic with a queue subscribed) and fresh
instances of the handler module loaded with a function's environment, as the local run loads them."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from inference_fakes import BUCKET, ROUTE, LambdaContext
from moto import mock_aws

from lambdas.inference import contract
from lambdas.inference.contract import HANDLER, TABLE_PARTITION_KEY, TABLE_PARTITION_KEY_TYPE

ENDPOINT = "model-endpoint"
TABLE = "results"
APP_MODULE = HANDLER.rsplit(".", 1)[0]


def function_env(**overrides: str) -> dict[str, str]:
    """The environment the stack gives an inference function."""
    env = {
        contract.ENV_RESULTS_TABLE: TABLE,
        contract.ENV_ENDPOINT_NAME: ENDPOINT,
        contract.ENV_NOTIFICATIONS_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:notifications",
        contract.ENV_ROUTE_NAME: ROUTE,
        contract.ENV_BUCKET_NAME: BUCKET,
        contract.ENV_MAX_OBJECT_BYTES: "1024",
        contract.ENV_MAX_WORKERS: "8",
    }
    env.update(overrides)
    return env


@contextmanager
def environment(env: Mapping[str, str | None]) -> Iterator[None]:
    """Temporarily set (value) or unset (None) environment variables."""
    saved = {name: os.environ.get(name) for name in env}
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_app(env: Mapping[str, str | None], module_name: str = APP_MODULE) -> ModuleType:
    """A separate instance of a handler module, imported with `env` (like one Lambda container)."""
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it executes, as the import system does (dataclasses look their module up there).
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        with environment(env):
            spec.loader.exec_module(module)
    finally:
        if previous is None:
            del sys.modules[module_name]
        else:
            sys.modules[module_name] = previous
    return module


@dataclass
class World:
    """The moto resources one function talks to, plus a queue receiving the published outcomes."""

    s3: Any
    dynamodb: Any
    sns: Any
    sqs: Any
    topic_arn: str
    outcomes_queue_url: str

    def put(self, key: str, body: bytes) -> dict[str, Any]:
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def item(self, key: str) -> dict[str, Any] | None:
        from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

        response = self.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"s3://{BUCKET}/{key}"}})
        raw = response.get("Item")
        return None if raw is None else {name: TypeDeserializer().deserialize(v) for name, v in raw.items()}

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=TABLE)["Items"]

    def outcomes(self) -> list[dict[str, Any]]:
        """Published outcome notifications (SNS envelopes delivered to the subscribed queue)."""
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.outcomes_queue_url, MaxNumberOfMessages=10)
            messages = batch.get("Messages", [])
            if not messages:
                return received
            received.extend(json.loads(message["Body"]) for message in messages)
            for message in messages:
                self.sqs.delete_message(
                    QueueUrl=self.outcomes_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def queue_model_results(self, *bodies: Any) -> None:
        """Queue InvokeEndpoint responses in moto (each distinct request takes the next one)."""
        requests.post(
            "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
            json={
                "results": [
                    {
                        "Body": json.dumps(body),
                        "ContentType": "application/json",
                        "InvokedProductionVariant": "v",
                    }
                    for body in bodies
                ]
            },
            timeout=5,
        )


@pytest.fixture(scope="session")
def aws_clients() -> dict[str, Any]:
    """Test-side clients, created once: moto intercepts clients created before a mock starts, and creating
    them costs far more than the calls these tests make."""
    return {name: boto3.client(name, region_name="us-east-1") for name in ("s3", "dynamodb", "sns", "sqs")}


@pytest.fixture(scope="session")
def handler_clients(aws_clients: dict[str, Any]) -> Any:
    """One set of the handler's own clients (created by the app's create_clients), shared by the tests."""
    return load_app(function_env()).create_clients()


@pytest.fixture
def world(aws_clients: dict[str, Any]) -> Iterator[World]:
    with mock_aws():
        s3, dynamodb, sns, sqs = (aws_clients[name] for name in ("s3", "dynamodb", "sns", "sqs"))
        s3.create_bucket(Bucket=BUCKET)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": TABLE_PARTITION_KEY, "AttributeType": TABLE_PARTITION_KEY_TYPE}
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        topic_arn = sns.create_topic(Name="notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="outcomes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield World(s3, dynamodb, sns, sqs, topic_arn, queue_url)


@pytest.fixture
def encrypted_bucket(world: World) -> str:
    """The ingest bucket encrypting by default with a customer key, as the stack's does."""
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    world.s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}
            ]
        },
    )
    return key_id


@pytest.fixture
def context() -> LambdaContext:
    """The invocation's context: its remaining time is a simulated clock (see `app`)."""
    return LambdaContext()


@pytest.fixture
def app(make_app: Any) -> ModuleType:
    """A fresh handler module instance wired to the moto world (sharing one set of handler clients); its
    pauses between throttled model calls pass on `context`'s clock instead of in real time."""
    return make_app()


@pytest.fixture
def make_app(world: World, handler_clients: Any, context: LambdaContext) -> Any:
    """Load handler instances like `app`, with environment variables overridden."""

    def make(**overrides: str) -> ModuleType:
        module = load_app(
            function_env(**{contract.ENV_NOTIFICATIONS_TOPIC_ARN: world.topic_arn, **overrides})
        )
        module.clients = handler_clients
        module.sleep = context.sleep
        return module

    return make
