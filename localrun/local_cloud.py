"""`python -m localrun.local_cloud --port N` (`make local-cloud`): the stack in a moto server on 127.0.0.1.

Deploys `__main__.py` with `Pulumi.<stack>.yaml` into moto (as `make demo` does, see `emulator.py`),
then serves moto's backends over HTTP on 127.0.0.1:<port> with `moto.server.ThreadedMotoServer`
and runs the pipeline on the **wall clock** until Ctrl-C or SIGTERM:

- the server runs in this process, so a request over HTTP reaches the very backends the stack was
  deployed into, and moto's own notifications run with the local run's patches installed: an upload
  under a route's prefix is delivered (S3 -> SNS / SQS / Lambda / EventBridge) as in the demo;
- `LocalCloud.run_on_wall_clock` runs the queued invocations and the SQS poller; between steps it sleeps
  until the next due moment (an async retry delay, a visibility timeout) or until a request finishes
  (`RequestSignal` sets an event after every HTTP request: it may have queued work);
- waits really happen (`SimClock(realtime=True)`): nothing is skipped.

The stack outputs go to `<state-dir>/outputs.json` in the format `pulumi stack output --json` prints.
moto accepts any credentials; the banner prints the environment your tools need.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from lambdas.inference.contract import TABLE_PARTITION_KEY

from .emulator import LocalCloud
from .patches import Patch, PatchSet

HOST = "127.0.0.1"  # loopback only: the local cloud accepts any credentials
DEFAULT_PORT = 4566
DEFAULT_STATE_DIR = Path(".localcloud")
CLIENT_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


class RequestSignal:
    """Sets `event` after every HTTP request the server answered: the request may have queued work."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.moto_server.threaded_moto_server",
                "DomainDispatcherApplication",
                wrap=self._signalling_app,
                reason="the wall-clock pump wakes when the moto server has answered a request",
            )
        ]

    def _signalling_app(self, dispatcher: Callable[..., Any]) -> Callable[..., Any]:
        def create(*args: Any, **kwargs: Any) -> Callable[..., Any]:
            app = dispatcher(*args, **kwargs)

            def signalling_app(environ: dict[str, Any], start_response: Any) -> Any:
                try:
                    return app(environ, start_response)
                finally:
                    self.event.set()

            return signalling_app

        return create


def pulumi_output_json(outputs: dict[str, Any]) -> str:
    """The outputs as `pulumi stack output --json` prints them: one object, output name -> value."""
    return json.dumps(outputs, indent=2, ensure_ascii=False) + "\n"


def banner(endpoint: str, region: str, outputs: dict[str, Any], outputs_file: Path) -> str:
    """How to reach the local cloud: the environment, then an upload and a read-back per tool."""
    bucket, table = outputs["bucket_name"], outputs["results_table_name"]
    routes = outputs["routes"]
    route = next((r for r in routes.values() if r["via"] == "sqs"), next(iter(routes.values())))
    key = f"{route['prefix']}hello.txt"
    item_key = {TABLE_PARTITION_KEY: {"S": f"s3://{bucket}/{key}"}}
    env = [f"AWS_ENDPOINT_URL={endpoint}", *(f"{k}={v}" for k, v in CLIENT_CREDENTIALS.items())]
    env.append(f"AWS_DEFAULT_REGION={region}")
    return "\n".join(
        [
            f"Local cloud: stack deployed into moto, served on {endpoint} (wall clock; Ctrl-C stops it).",
            f"Stack outputs: {outputs_file} (as `pulumi stack output --json` prints them).",
            "",
            *env,
            "",
            "# plain boto3 (endpoint_url):",
            f"python -c \"import boto3; kw = dict(endpoint_url='{endpoint}', region_name='{region}', "
            "aws_access_key_id='testing', aws_secret_access_key='testing'); "
            f"boto3.client('s3', **kw).put_object(Bucket='{bucket}', Key='{key}', "
            "Body=b'great, friendly and fast'); "
            "import time; time.sleep(3); "
            f"print(boto3.client('dynamodb', **kw).get_item(TableName='{table}', "
            f"Key={item_key!r})['Item'])\"",
            "",
            "# AWS CLI (--endpoint-url), with the environment above exported:",
            f"aws --endpoint-url {endpoint} s3 cp samples/great-service.txt s3://{bucket}/{key}",
            f"aws --endpoint-url {endpoint} dynamodb get-item --table-name {table} "
            f"--key '{json.dumps(item_key)}'",
            "",
        ]
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def serve(port: int, stack: str, state_dir: Path) -> int:
    """Deploy, serve and pump until SIGINT/SIGTERM; then shut the server down and uninstall every patch."""
    if port and not _port_free(port):
        print(f"local-cloud: {HOST}:{port} is in use; choose another with PORT=<n>", file=sys.stderr)
        return 2
    stop = threading.Event()
    request_signal = RequestSignal()
    server_patches = PatchSet(request_signal.patches())

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        request_signal.event.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalCloud(realtime=True) as cloud:
            cloud.deploy(stack=stack)
            server_patches.install()
            server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
            server.start()
            try:
                endpoint = "http://{}:{}".format(*server.get_host_and_port())
                state_dir.mkdir(parents=True, exist_ok=True)
                outputs_file = state_dir / "outputs.json"
                outputs_file.write_text(pulumi_output_json(cloud.outputs), encoding="utf-8")
                print(banner(endpoint, cloud.region, cloud.outputs, outputs_file), flush=True)
                cloud.run_on_wall_clock(stop, request_signal.event)
            finally:
                server.stop()
                server_patches.uninstall()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Local cloud stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m localrun.local_cloud", description=description)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml is deployed")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where outputs.json goes")
    args = parser.parse_args(argv)
    return serve(args.port, args.stack, args.state_dir)


if __name__ == "__main__":
    sys.exit(main())
