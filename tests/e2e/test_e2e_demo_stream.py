"""The demo's stream records (`put_stream_records`): put with PutRecords on the dev stack's stream, each ends
delivered as `STREAM_RECORDS` expects, keyed as the handler keys records (README, "The kinesis route")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_cloud_helpers import deployed, dev_routes_only, route

from localrun.demo import STREAM_RECORDS, Upload, collect_outcomes, put_stream_records
from localrun.emulator import LocalCloud


@pytest.fixture(scope="module")
def records() -> Iterator[tuple[LocalCloud, list[Upload]]]:
    with deployed(dev_routes_only("stream")) as cloud:  # the dev stack's only kinesis route
        puts = put_stream_records(cloud)
        cloud.run_until_idle()
        collect_outcomes(cloud, puts)
        yield cloud, puts


def test_every_stream_record_the_demo_puts_reaches_its_expected_outcome(records):
    _, puts = records
    assert len(puts) == len(STREAM_RECORDS)
    assert {p.uri: p.met for p in puts} == {p.uri: True for p in puts}


def test_a_record_with_an_id_is_keyed_by_it_and_one_without_by_partition_key_and_sequence_number(records):
    cloud, puts = records
    stream = route(cloud, "stream")["stream_name"]
    assert puts[0].uri == f"kinesis://{stream}/review-1001"
    assert puts[2].uri.startswith(f"kinesis://{stream}/customer-8/")
    assert puts[2].uri in cloud.results()
