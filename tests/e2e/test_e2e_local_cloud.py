"""The local cloud (`make local-cloud`), driven over HTTP from outside the emulator with plain boto3.

GIVEN `python -m localrun.local_cloud` running as its own process on a free port of 127.0.0.1
(the dev stack deployed, the pipeline on the wall clock), and an SQS queue subscribed to the
notifications topic over HTTP, WHEN text files are uploaded with a plain boto3 client
(`endpoint_url`) under an SQS route's and an async (SNS -> Lambda) route's prefix, THEN each
becomes a `completed` item in the results table within seconds and its outcome reaches the
subscriber; the stack outputs are written as `pulumi stack output --json` prints them; and
SIGTERM stops the process cleanly. The process never outlives the module (fixture teardown).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from local_cloud_helpers import subscriber_queue

from lambdas.inference.contract import MESSAGE_ATTRIBUTE_STATUS, STATUS_COMPLETED, TABLE_PARTITION_KEY

PROJECT_DIR = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90  # deploy + server start; ~5 s on a laptop
RESULT_TIMEOUT = 20  # wall clock: an upload's item must be completed by then
SUBSCRIBER = "outcomes-over-http"


@dataclass
class LocalCloudProcess:
    """The running `python -m localrun.local_cloud`, its endpoint and everything it printed."""

    process: subprocess.Popen[str]
    state_dir: Path
    endpoint: str = ""
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, state_dir: Path) -> LocalCloudProcess:
        """Start the server on a free port, as a user would; return once it printed its endpoint."""
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own module
            [
                sys.executable,
                "-m",
                "localrun.local_cloud",
                "--port",
                str(port),
                "--state-dir",
                str(state_dir),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the server's request log
            text=True,
        )
        cloud = cls(process, state_dir)
        threading.Thread(target=cloud.read_output, daemon=True).start()
        try:
            match = cloud.wait_for_line(r"AWS_ENDPOINT_URL=(http://127\.0\.0\.1:(\d+))", STARTUP_TIMEOUT)
        except BaseException:
            process.kill()
            process.wait()
            raise
        assert int(match.group(2)) == port
        cloud.endpoint = match.group(1)
        return cloud

    def read_output(self) -> None:  # a thread: the pipe must be drained, or the server blocks on print
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := re.fullmatch(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; printed so far:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C / a supervisor would; killed only if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def outputs(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "outputs.json").read_text(encoding="utf-8"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudProcess]:
    cloud = LocalCloudProcess.start(tmp_path_factory.mktemp("localcloud"))
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def subscriber(local_cloud: LocalCloudProcess) -> str:
    """An SQS queue subscribed to the notifications topic, created over HTTP like any user's tool would."""
    sqs, sns = local_cloud.client("sqs"), local_cloud.client("sns")
    topic_arn = local_cloud.outputs["notifications_topic_arn"]
    url, arn = subscriber_queue(sqs, SUBSCRIBER, topic_arn)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def _wait_for_final_item(cloud: LocalCloudProcess, uri: str) -> dict[str, Any]:
    dynamodb, table = cloud.client("dynamodb"), cloud.outputs["results_table_name"]
    deadline = time.monotonic() + RESULT_TIMEOUT
    item: dict[str, Any] = {}
    while time.monotonic() < deadline:
        raw = dynamodb.get_item(TableName=table, Key={TABLE_PARTITION_KEY: {"S": uri}}, ConsistentRead=True)
        item = {k: TypeDeserializer().deserialize(v) for k, v in raw.get("Item", {}).items()}
        if item.get("status") == STATUS_COMPLETED:
            return item
        time.sleep(0.2)
    raise AssertionError(f"{uri} not completed within {RESULT_TIMEOUT} s (wall clock); last item: {item}")


def _outcomes_received(cloud: LocalCloudProcess, queue_url: str, uris: set[str]) -> dict[str, dict[str, Any]]:
    sqs, found = cloud.client("sqs"), {}
    deadline = time.monotonic() + RESULT_TIMEOUT
    while uris - found.keys() and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in received.get("Messages", []):
            envelope = json.loads(message["Body"])
            try:
                outcome = json.loads(envelope["Message"])
            except json.JSONDecodeError:
                continue  # the topic's other messages (endpoint state sentences)
            if isinstance(outcome, dict) and outcome.get(TABLE_PARTITION_KEY) in uris:
                found[outcome[TABLE_PARTITION_KEY]] = envelope
    return found


def test_uploads_over_http_become_completed_items_and_reach_the_subscriber(local_cloud, subscriber) -> None:
    outputs = local_cloud.outputs
    bucket, routes = outputs["bucket_name"], outputs["routes"]
    chosen = {"sqs": routes["batch"], "async (sns -> lambda)": routes["uploads"]}
    assert [r["via"] for r in chosen.values()] == ["sqs", "sns"]
    s3 = local_cloud.client("s3")
    started = time.monotonic()
    uris = set()
    for route in chosen.values():
        key = f"{route['prefix']}over-http.txt"
        s3.put_object(Bucket=bucket, Key=key, Body=b"Great, friendly and fast service")
        uris.add(f"s3://{bucket}/{key}")

    items = {uri: _wait_for_final_item(local_cloud, uri) for uri in uris}
    envelopes = _outcomes_received(local_cloud, subscriber, uris)

    assert time.monotonic() - started < RESULT_TIMEOUT
    for uri, item in items.items():
        assert item["status"] == STATUS_COMPLETED, item
        assert uri in envelopes, f"no outcome for {uri} reached the subscriber"
        envelope = envelopes[uri]
        assert envelope["MessageAttributes"][MESSAGE_ATTRIBUTE_STATUS]["Value"] == STATUS_COMPLETED
        assert json.loads(envelope["Message"])["status"] == STATUS_COMPLETED


def test_outputs_json_has_the_shape_pulumi_stack_output_json_prints(local_cloud) -> None:
    text = (local_cloud.state_dir / "outputs.json").read_text(encoding="utf-8")
    outputs = json.loads(text)
    exported = set(
        re.findall(r'^pulumi\.export\(\s*"(\w+)"', (PROJECT_DIR / "__main__.py").read_text(), re.M)
    )
    # One JSON object: every top-level output name of the program -> its value, 2-space indented.
    assert isinstance(outputs, dict)
    assert set(outputs) == exported
    assert text == json.dumps(outputs, indent=2, ensure_ascii=False) + "\n"
    assert outputs["region"] == "us-east-1"
    assert outputs["bucket_name"] and isinstance(outputs["bucket_name"], str)
    assert all({"via", "prefix", "function_name"} <= set(route) for route in outputs["routes"].values())
    # The names are real: the server answers for them.
    local_cloud.client("s3").head_bucket(Bucket=outputs["bucket_name"])
    local_cloud.client("dynamodb").describe_table(TableName=outputs["results_table_name"])


def test_sigterm_shuts_the_server_down_and_exits_0(local_cloud) -> None:
    # Last in the module: it stops the shared process (the fixture's teardown would stop it anyway).
    assert local_cloud.stop() == 0
    local_cloud.wait_for_line(r"Local cloud stopped\.", 5)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", int(local_cloud.endpoint.rsplit(":", 1)[1]))) != 0
