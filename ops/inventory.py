"""S3 Inventory reports, read as reprocess needs them (pure: text in, rows out; no boto3).

An inventory is published as a `manifest.json` (S3 User Guide, "Locating your inventory list",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html) naming the
`sourceBucket`, the `destinationBucket` (an ARN, `arn:aws:s3:::<name>`), the `fileFormat` (`CSV`, `ORC` or
`Parquet`), the `fileSchema` (for CSV, the column names in order: `Bucket, Key, VersionId, IsLatest,
IsDeleteMarker, Size, ...`) and `files[].key`, the data files in the destination bucket. A CSV data file is
compressed with GZIP, has no header row (its columns are the manifest's `fileSchema`), and its key names are
URL-encoded and must be decoded before use (S3 User Guide, "Amazon S3 Inventory", "Amazon S3 inventory list",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html). `VersionId` and `IsLatest`
are present only when the inventory lists all versions; `IsDeleteMarker` is added then too.

Only current objects are reprocessed: rows that are not the latest version, and delete markers, are left out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

# A local CSV data file carries no schema: the inventory's leading columns, as S3 orders them.
DEFAULT_COLUMNS = ("Bucket", "Key", "VersionId", "IsLatest")
BUCKET_ARN_PREFIX = "arn:aws:s3:::"


class InventoryError(ValueError):
    """The manifest or a data file is not an S3 Inventory CSV report reprocess can read."""


@dataclass(frozen=True)
class InventoryManifest:
    source_bucket: str
    destination_bucket: str | None  # None: not named; the data files are next to the manifest
    columns: tuple[str, ...]
    file_keys: tuple[str, ...]


def parse_manifest(text: str) -> InventoryManifest:
    """The parts of a `manifest.json` reprocess uses; InventoryError naming every problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InventoryError(f"manifest is not JSON ({err})") from err
    if not isinstance(document, dict):
        raise InventoryError("manifest is not a JSON object")
    problems = []
    source = document.get("sourceBucket")
    if not isinstance(source, str) or not source:
        problems.append("no `sourceBucket`")
    file_format = document.get("fileFormat")
    if file_format != "CSV":
        problems.append(
            f"`fileFormat` is {file_format!r}: only CSV inventories are read (configure the report as CSV)"
        )
    schema = document.get("fileSchema")
    columns = tuple(c.strip() for c in schema.split(",")) if isinstance(schema, str) else ()
    if not {"Bucket", "Key"} <= set(columns):
        problems.append(f"`fileSchema` {schema!r} lacks the Bucket and Key columns")
    files = document.get("files")
    keys = _file_keys(files)
    if keys is None:
        problems.append("`files` is not a list of {key: ...}")
    if problems:
        raise InventoryError("manifest: " + "; ".join(problems))
    assert keys is not None and isinstance(source, str)
    return InventoryManifest(source, _destination(document.get("destinationBucket")), columns, keys)


def _file_keys(files: Any) -> tuple[str, ...] | None:
    if not isinstance(files, list):
        return None
    keys = [f.get("key") for f in files if isinstance(f, dict)]
    if len(keys) != len(files) or not all(isinstance(k, str) and k for k in keys):
        return None
    return tuple(keys)


def _destination(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix(BUCKET_ARN_PREFIX)


def inventory_rows(
    data_csv: str, columns: Sequence[str] = DEFAULT_COLUMNS
) -> Iterator[tuple[str, str, str | None]]:
    """(bucket, decoded key, version id or None) of each current object of a CSV data file."""
    position = {name: index for index, name in enumerate(columns)}

    def field(row: list[str], name: str) -> str:
        index = position.get(name)
        return row[index] if index is not None and index < len(row) else ""

    for row in csv.reader(io.StringIO(data_csv)):
        key = field(row, "Key")
        if not key:
            continue
        if field(row, "IsLatest").lower() == "false" or field(row, "IsDeleteMarker").lower() == "true":
            continue
        yield field(row, "Bucket"), unquote(key), field(row, "VersionId") or None
