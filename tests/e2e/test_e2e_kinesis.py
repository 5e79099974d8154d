"""The kinesis route end to end in the local run: records of each shard reach the function in order, a
poison record is bisected into the DLQ while the rest complete, 30% throttling loses and duplicates nothing,
a re-read changes nothing, and the function role's stream grants are exactly the ones the mapping uses.

One deployment for the module: each test puts records with its own ids and reads back only those (and the
batches holding them); faults and the DLQ are reset after each test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_cloud_helpers import deployed, dev_routes_only, route

from localrun.access import PermissionMapper, check_calls, declared_role_policies, unexercised_grants
from localrun.emulator import LocalCloud
from localrun.standin_model import EndpointFaults


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    # The dev stack's stream route alone.
    with deployed(dev_routes_only("stream", kinesis={
        "streamMode": "PROVISIONED", "shardCount": 2, "batchSize": 10, "maximumRetryAttempts": 2,
        "bisectBatchOnFunctionError": True, "parallelizationFactor": 1, "maximumBatchingWindowSeconds": 0,
    })) as cloud:  # fmt: skip
        yield cloud


@pytest.fixture(autouse=True)
def reset_faults_and_dlq_afterwards(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.endpoint.faults = EndpointFaults()
    sqs, dlq_url = cloud.client("sqs"), route(cloud, "stream")["dlq_url"]
    while messages := sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])


def put(cloud: LocalCloud, records: list[tuple[str, dict | str]]) -> list[str]:
    return [number for _, number in put_placed(cloud, records)]


def put_placed(cloud: LocalCloud, records: list[tuple[str, dict | str]]) -> list[tuple[str, str]]:
    """(shard id, sequence number) of each record put: moto numbers each shard's records from 1."""
    stream = route(cloud, "stream")["stream_name"]
    kinesis = cloud.client("kinesis")
    placed = []
    for key, data in records:
        body = json.dumps(data) if isinstance(data, dict) else data
        answer = kinesis.put_record(StreamName=stream, Data=body.encode(), PartitionKey=key)
        placed.append((answer["ShardId"], answer["SequenceNumber"]))
    return placed


def stream_items(cloud: LocalCloud, id_prefix: str) -> dict[str, dict]:
    """The stream route's items of records whose id starts with `id_prefix` (one test's records)."""
    return {k: item for k, item in cloud.results().items() if k.startswith(pk(cloud, id_prefix))}


def pk(cloud: LocalCloud, record_id: str) -> str:
    return f"kinesis://{route(cloud, 'stream')['stream_name']}/{record_id}"


def test_records_of_each_shard_reach_the_function_in_sequence_order(cloud):
    delivered = len(cloud.stream_poller.batches)
    put(cloud, [(f"key-{i % 4}", {"id": f"order{i}", "text": f"great review {i}"}) for i in range(24)])
    cloud.run_until_idle()
    per_shard: dict[str, list[int]] = {}
    for batch in cloud.stream_poller.batches[delivered:]:  # this test's batches
        per_shard.setdefault(batch.shard_id, []).extend(int(n) for n in batch.sequence_numbers)
    assert len(per_shard) >= 1 and sum(len(v) for v in per_shard.values()) == 24
    for shard, numbers in per_shard.items():
        assert numbers == sorted(numbers), shard
    assert {i["status"] for i in stream_items(cloud, "order").values()} == {"completed"}


def test_a_poison_record_is_bisected_into_the_dlq_while_the_records_around_it_complete(cloud):
    cloud.endpoint.faults = EndpointFaults(crash_on_text="poison pill")
    records = [
        ("one-key", {"id": f"bisect{i}", "text": "poison pill" if i == 4 else f"fine {i}"}) for i in range(10)
    ]
    numbers = put(cloud, records)
    cloud.run_until_idle()
    items = stream_items(cloud, "bisect")
    assert pk(cloud, "bisect4") not in items
    assert {pk(cloud, f"bisect{i}") for i in range(10) if i != 4} <= set(items)
    [dead] = cloud.queue_messages(route(cloud, "stream")["dlq_url"])
    info = json.loads(dead["Body"])["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        numbers[4],
        numbers[4],
        1,
    )
    assert (
        info["shardId"].startswith("shardId-") and info["streamArn"] == route(cloud, "stream")["stream_arn"]
    )
    assert json.loads(dead["Body"])["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_throttling_30_percent_loses_and_duplicates_no_record(cloud):
    throttled_before = cloud.endpoint.stats.throttled
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=0.3, seed=7)
    put(cloud, [(f"k{i % 3}", {"id": f"throttled{i}", "text": f"good {i}"}) for i in range(60)])
    cloud.run_until_idle()
    items = stream_items(cloud, "throttled")
    assert sorted(items) == sorted(pk(cloud, f"throttled{i}") for i in range(60))
    assert {i["status"] for i in items.values()} == {"completed"}
    assert cloud.endpoint.stats.throttled > throttled_before
    assert cloud.queue_messages(route(cloud, "stream")["dlq_url"]) == []


def test_a_re_read_batch_changes_nothing(cloud):
    cloud.run_until_idle()  # the mapping has described the stream: its shards have a state
    shards = [s for m in cloud.stream_poller.mappings.values() for s in m.shards.values()]
    checkpoints = {id(shard): shard.checkpoint for shard in shards}
    placed = put_placed(cloud, [("k", {"id": f"reread{i}", "text": f"fine {i}"}) for i in range(5)])
    cloud.run_until_idle()
    before = stream_items(cloud, "reread")
    delivered = len(cloud.stream_poller.batches)
    for shard in shards:
        shard.checkpoint = checkpoints[id(shard)]  # the mapping reads this test's records again
    cloud.run_until_idle()
    reread = {(b.shard_id, n) for b in cloud.stream_poller.batches[delivered:] for n in b.sequence_numbers}
    assert set(placed) <= reread
    assert stream_items(cloud, "reread") == before


def test_the_stream_roles_calls_are_allowed_and_every_grant_is_used(cloud):
    put(cloud, [("k", "plain text to score")])
    cloud.run_until_idle()
    role_arn = route(cloud, "stream")["role_arn"]
    documents = declared_role_policies(cloud.program, role_arn)
    function = route(cloud, "stream")["function_name"]
    calls = [c for c in cloud.recorder.calls if c.function_name == function]
    denials, checked = check_calls(calls, documents, PermissionMapper(cloud.account, cloud.region))
    assert denials == []
    kinesis_grants = [g for g in unexercised_grants(documents, checked) if g.action.startswith("kinesis:")]
    assert kinesis_grants == []
    assert {p.action for p in checked if p.action.startswith("kinesis:")} == {
        "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards",
        "kinesis:GetShardIterator", "kinesis:GetRecords",
    }  # fmt: skip
