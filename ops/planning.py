"""Which objects a reprocess sends, and with which sequencer; what a redriven async notice will do (pure).

The handler orders results by the S3 sequencer and re-scores an event only when it carries one (README,
"The results item"): an unsequenced event only fills an empty slot. So each object is sent with:

- the stored item's own sequencer when the item describes this very object version (same version id, or
  the same ETag for an unversioned object): to the handler it is the same event again, so an unchanged model
  writes nothing and a new model version re-scores it;
- a sequencer just after the stored one when the item describes an older upload of the key: the live object
  is newer, so its result must replace the stale one (S3 orders sequencers by right-padding with zeros and
  comparing the strings; appending a digit is the least greater value, so any later real upload still wins);
- the lowest sequencer when there is no item: it fills the empty slot, and the real event, should it still
  arrive, replaces it.

A result writer's dead letter goes back to the writer whatever the table holds (it is idempotent);
`notice_effect` says beforehand what the writer will do with it, from the results item as it is now, by the
writer's own rules (lambdas/inference/result_writer.py `write_notice`, `_to_republish`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lambdas.inference.contract import INFERENCE_ID_ATTRIBUTE, OUTCOME_PUBLISHED_ATTRIBUTE, STATUS_IN_PROGRESS
from lambdas.inference.domain import SEQUENCER_WIDTH, AsyncNotice, is_within, sequencer_order

from .inventory import DEFAULT_COLUMNS, inventory_rows
from .outputs import Route
from .s3_events import ObjectVersion

LOWEST_SEQUENCER = "0" * 16

# What the result writer does with a notice (notice_effect).
WRITES_AND_PUBLISHES = "writes the final result and publishes its outcome"
PUBLISHES_STORED = "publishes the stored outcome (not marked published) and marks it"
NOTHING_DONE_ALREADY = "nothing: the result and its outcome are stored already"
NOTHING_NO_ITEM = "nothing: no results item for this input"
NOTHING_SUPERSEDED = "nothing: the item waits for another inference (superseded)"
NOTHING_OUTSIDE_OUTPUTS = "nothing: its output is outside the model's output prefix"


@dataclass(frozen=True)
class Planned:
    obj: ObjectVersion
    sequencer: str
    why: str


@dataclass(frozen=True)
class Skipped:
    uri: str
    why: str


def next_sequencer(stored: str) -> str:
    """The least sequencer ordering after `stored` (see the module docstring)."""
    if len(stored) >= SEQUENCER_WIDTH:
        raise ValueError(f"sequencer {stored!r} is already {SEQUENCER_WIDTH} digits long")
    return stored + "1"


def same_version(item: Mapping[str, Any], obj: ObjectVersion) -> bool:
    stored_version = item.get("version_id")
    if obj.version_id and obj.version_id != "null":
        return stored_version == obj.version_id
    return str(item.get("etag") or "").strip('"') == obj.etag.strip('"')


def plan_object(obj: ObjectVersion, item: Mapping[str, Any] | None, route: Route) -> Planned | Skipped:
    if not route.matches(obj.key):
        return Skipped(
            obj.uri, f"outside route {route.name!r} (prefix {route.prefix!r}, suffix {route.suffix!r})"
        )
    if obj.key.endswith("/") and obj.size == 0:
        return Skipped(obj.uri, "folder marker")
    if item is None:
        return Planned(obj, LOWEST_SEQUENCER, "no result yet")
    stored = item.get("sequencer")
    if not isinstance(stored, str) or sequencer_order(stored) is None:
        return Planned(obj, LOWEST_SEQUENCER, "stored result has no usable sequencer")
    if same_version(item, obj):
        return Planned(obj, stored, "same object version: re-scored only by a new model version")
    return Planned(obj, next_sequencer(stored), "the stored result is of an older upload")


def in_window(obj: ObjectVersion, prefix: str | None, since: datetime | None) -> bool:
    return (not prefix or obj.key.startswith(prefix)) and (since is None or obj.last_modified >= since)


def inventory_keys(manifest_csv: str) -> Iterator[tuple[str, str, str | None]]:
    """(bucket, key, version id) of each row of a local S3 Inventory CSV data file (no schema: the leading
    columns `Bucket, Key[, VersionId, IsLatest]`); see `ops.inventory` for the format and its sources."""
    return inventory_rows(manifest_csv, DEFAULT_COLUMNS)


def dedupe(objects: Iterable[ObjectVersion]) -> list[ObjectVersion]:
    seen: dict[str, ObjectVersion] = {}
    for obj in objects:
        seen.setdefault(obj.uri, obj)
    return list(seen.values())


def notice_effect(notice: AsyncNotice, item: Mapping[str, Any] | None, output_uri: str | None) -> str:
    """What the result writer will do with `notice` given the results item of its input now (None: no item);
    `output_uri` is the model's output prefix (s3://bucket/prefix/), the only outputs the writer reads."""
    outside = output_uri is not None and not is_within(notice.output_location or "", output_uri)
    if notice.succeeded and outside:
        return NOTHING_OUTSIDE_OUTPUTS
    if item is None:
        return NOTHING_NO_ITEM
    if item.get(INFERENCE_ID_ATTRIBUTE) != notice.inference_id:
        return NOTHING_SUPERSEDED
    if item.get("status") == STATUS_IN_PROGRESS:
        return WRITES_AND_PUBLISHES
    if item.get(OUTCOME_PUBLISHED_ATTRIBUTE):
        return NOTHING_DONE_ALREADY
    return PUBLISHES_STORED
