"""S3 Inventory reports (pure): a `manifest.json` and its CSV rows, in the layout the S3 User Guide documents
("Locating your inventory list", "Amazon S3 inventory list"; see ops/inventory.py)."""

from __future__ import annotations

import json

import pytest

from ops.inventory import InventoryError, inventory_rows, parse_manifest

SOURCE = "pipeline-bucket"
# The documented CSV schema, every field a versioned inventory with all optional fields has.
SCHEMA = (
    "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, "
    "IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, "
    "ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm"
)


def manifest(**changes: object) -> str:
    document = {
        "sourceBucket": SOURCE,
        "destinationBucket": "arn:aws:s3:::inventory-destination",
        "version": "2016-11-30",
        "creationTimestamp": "1514944800000",
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": [
            {"key": "inv/pipeline-bucket/all/data/one.csv.gz", "size": 120, "MD5checksum": "0" * 32},
            {"key": "inv/pipeline-bucket/all/data/two.csv.gz", "size": 80, "MD5checksum": "1" * 32},
        ],
    }
    document.update(changes)
    return json.dumps(document)


def test_a_csv_manifest_gives_source_bucket_destination_bucket_name_columns_and_data_file_keys():
    parsed = parse_manifest(manifest())
    assert parsed.source_bucket == SOURCE
    assert parsed.destination_bucket == "inventory-destination"  # the ARN's bucket name
    assert parsed.columns[:5] == ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker")
    assert parsed.file_keys == (
        "inv/pipeline-bucket/all/data/one.csv.gz",
        "inv/pipeline-bucket/all/data/two.csv.gz",
    )


@pytest.mark.parametrize("file_format", ["ORC", "Parquet"])
def test_a_manifest_of_another_format_is_refused_naming_csv(file_format):
    with pytest.raises(InventoryError, match=f"`fileFormat` is '{file_format}': only CSV inventories"):
        parse_manifest(manifest(fileFormat=file_format))


def test_a_manifest_without_source_bucket_or_key_column_reports_both_problems():
    with pytest.raises(InventoryError) as raised:
        parse_manifest(manifest(sourceBucket=None, fileSchema="Bucket, Size"))
    assert "no `sourceBucket`" in str(raised.value)
    assert "`fileSchema` 'Bucket, Size' lacks the Bucket and Key columns" in str(raised.value)


def test_rows_are_read_by_the_manifest_schema_with_url_encoded_keys_decoded():
    data = (
        f'"{SOURCE}","batch/caf%C3%A9%20review.txt","v2","true","false","12",'
        '"2025-01-31T12:00:00.000Z","etag","STANDARD","false","","SSE-S3","","","","","DISABLED",""\n'
    )
    assert list(inventory_rows(data, parse_manifest(manifest()).columns)) == [
        (SOURCE, "batch/café review.txt", "v2")
    ]


def test_rows_of_older_versions_and_delete_markers_are_left_out():
    columns = parse_manifest(manifest()).columns
    data = (
        f'"{SOURCE}","batch/a.txt","v1","false","false","12"\n'
        f'"{SOURCE}","batch/b.txt","v9","true","true",""\n'
        f'"{SOURCE}","batch/c.txt","v3","true","false","12"\n'
    )
    assert list(inventory_rows(data, columns)) == [(SOURCE, "batch/c.txt", "v3")]


def test_rows_of_a_current_versions_only_inventory_have_no_version_id():
    columns = parse_manifest(manifest(fileSchema="Bucket, Key, Size, LastModifiedDate, ETag")).columns
    data = f'"{SOURCE}","batch/a.txt","12","2025-01-31T12:00:00.000Z","etag"\n'
    assert list(inventory_rows(data, columns)) == [(SOURCE, "batch/a.txt", None)]
