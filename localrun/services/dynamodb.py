"""DynamoDB: the table, created in moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Inputs

if TYPE_CHECKING:
    from ..moto_mocks import MotoMocks


def table(m: MotoMocks, i: Inputs) -> tuple[str, dict[str, Any]]:
    name = i.name_or_auto(max_length=255)
    dynamodb = m.client("dynamodb")
    if i.get("billingMode") != "PAY_PER_REQUEST":
        m.note_not_emulated(i, "provisioned capacity (the table is created on-demand)")
    attributes = [
        i.fields(f"attributes[{index}]", attribute, "name", "type")
        for index, attribute in enumerate(i.req("attributes"))
    ]
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": i.req("hashKey"), "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in attributes
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "DeletionProtectionEnabled": bool(i.get("deletionProtectionEnabled", False)),
    }
    sse = i.block("serverSideEncryption", "enabled", "kmsKeyArn")
    if sse.get("enabled"):
        params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("kmsKeyArn"):
            params["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
    table = dynamodb.create_table(**params)["TableDescription"]
    if i.block("pointInTimeRecovery", "enabled").get("enabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return name, {"arn": table["TableArn"], "name": name}
