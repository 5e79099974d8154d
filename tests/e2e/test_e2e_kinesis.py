"""The kinesis route end to end in the local run: records of each shard reach the function in order, a
poison record is bisected into the DLQ while the rest complete, 30% throttling loses and duplicates nothing,
a re-read changes nothing, and the function role's stream grants are exactly the ones the mapping uses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from local_cloud_helpers import deployed, dev_config, route

from localrun.access import PermissionMapper, check_calls, declared_role_policies, unexercised_grants
from localrun.emulator import LocalCloud
from localrun.standin_model import EndpointFaults


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with deployed(dev_config(kinesis={
        "streamMode": "PROVISIONED", "shardCount": 2, "batchSize": 10, "maximumRetryAttempts": 2,
        "bisectBatchOnFunctionError": True, "parallelizationFactor": 1, "maximumBatchingWindowSeconds": 0,
    })) as cloud:  # fmt: skip
        yield cloud


def put(cloud: LocalCloud, records: list[tuple[str, dict | str]]) -> list[str]:
    stream = route(cloud, "stream")["stream_name"]
    kinesis = cloud.client("kinesis")
    numbers = []
    for key, data in records:
        body = json.dumps(data) if isinstance(data, dict) else data
        numbers.append(
            kinesis.put_record(StreamName=stream, Data=body.encode(), PartitionKey=key)["SequenceNumber"]
        )
    return numbers


def stream_items(cloud: LocalCloud) -> dict[str, dict]:
    return {pk: item for pk, item in cloud.results().items() if pk.startswith("kinesis://")}


def pk(cloud: LocalCloud, record_id: str) -> str:
    return f"kinesis://{route(cloud, 'stream')['stream_name']}/{record_id}"


def test_records_of_each_shard_reach_the_function_in_sequence_order(cloud):
    put(cloud, [(f"key-{i % 4}", {"id": f"r{i}", "text": f"great review {i}"}) for i in range(24)])
    cloud.run_until_idle()
    per_shard: dict[str, list[int]] = {}
    for batch in cloud.stream_poller.batches:
        per_shard.setdefault(batch.shard_id, []).extend(int(n) for n in batch.sequence_numbers)
    assert len(per_shard) >= 1 and sum(len(v) for v in per_shard.values()) == 24
    for shard, numbers in per_shard.items():
        assert numbers == sorted(numbers), shard
    assert {i["status"] for i in stream_items(cloud).values()} == {"completed"}


def test_a_poison_record_is_bisected_into_the_dlq_while_the_records_around_it_complete(cloud):
    cloud.endpoint.faults = EndpointFaults(crash_on_text="poison pill")
    records = [
        ("one-key", {"id": f"r{i}", "text": "poison pill" if i == 4 else f"fine {i}"}) for i in range(10)
    ]
    numbers = put(cloud, records)
    cloud.run_until_idle()
    items = stream_items(cloud)
    assert pk(cloud, "r4") not in items
    assert {pk(cloud, f"r{i}") for i in range(10) if i != 4} <= set(items)
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
    cloud.endpoint.faults = EndpointFaults(throttle_fraction=0.3, seed=7)
    put(cloud, [(f"k{i % 3}", {"id": f"t{i}", "text": f"good {i}"}) for i in range(60)])
    cloud.run_until_idle()
    items = stream_items(cloud)
    assert sorted(items) == sorted(pk(cloud, f"t{i}") for i in range(60))
    assert {i["status"] for i in items.values()} == {"completed"}
    assert cloud.endpoint.stats.throttled > 0
    assert cloud.queue_messages(route(cloud, "stream")["dlq_url"]) == []


def test_a_re_read_batch_changes_nothing(cloud):
    put(cloud, [("k", {"id": f"x{i}", "text": f"fine {i}"}) for i in range(5)])
    cloud.run_until_idle()
    before = stream_items(cloud)
    for mapping in cloud.stream_poller.mappings.values():
        for shard in mapping.shards.values():
            shard.checkpoint = None  # the mapping reads the shard again from its start
    cloud.run_until_idle()
    assert stream_items(cloud) == before


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
