"""Kinesis Data Streams: the kinesis route's stream, created in moto (capacity mode, retention, server-side
encryption under the stack key). Records are read by `lambda_/kinesis_poller.py`, not by moto's own inline
Lambda delivery (the mapping's creator in `lambda_.py` detaches it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks

DEFAULT_RETENTION_HOURS = 24  # CreateStream's retention; longer ones take IncreaseStreamRetentionPeriod


def stream(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=128)
    mode = (i.block("streamModeDetails", "streamMode").get("streamMode")) or "PROVISIONED"
    kinesis = m.client("kinesis")
    params: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
    shards = i.int("shardCount")
    if shards is not None:
        params["ShardCount"] = shards
    kinesis.create_stream(**params)
    retention = i.int("retentionPeriod") or DEFAULT_RETENTION_HOURS
    if retention > DEFAULT_RETENTION_HOURS:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=retention)
    if i.get("encryptionType") == "KMS":
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=i.req("kmsKeyId"))
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return name, {"name": name, "arn": arn}
