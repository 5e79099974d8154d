"""The delivery contract, judged on the local run's state: the one judge of the demo and the e2e tests.

1. Every accepted object-created event ends as exactly one item in the results table, unless it
   is in a DLQ.
2. Every item's outcome is published on the notifications topic at least once (a subscriber may
   see duplicates).
3. A DLQ message means the event's outcome is not yet known to be published: its object may or
   may not have an item. Redriving it is safe (conditional writes; a same-sequencer redelivery
   publishes the stored outcome again).

Events a function refuses (not its bucket or prefix, unrecognisable) end only in a DLQ.
`fates(cloud, uris)` reads, per object, its results item (the table has one per key), the
outcomes SNS accepted on the notifications topic, and the messages naming it in any route's DLQ
or any async model's result-writer DLQ (where SageMaker's notification of the object's inference
ends when the writer cannot store it: its `in_progress` item, published when it was submitted,
is then no final outcome).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lambdas.inference.contract import TABLE_PARTITION_KEY

from .trace import objects_in_event

if TYPE_CHECKING:
    from .emulator import LocalCloud

DELIVERED = "delivered"  # 1 and 2 hold, no DLQ message: the outcome is stored and announced
DEAD_LETTERED = "dead-lettered"  # 3: in a DLQ, with or without an item; redrive it
NO_OUTCOME = "no outcome"  # breaks 1: no item and no DLQ message
NOT_PUBLISHED = "not published"  # breaks 2: an item, in no DLQ, whose outcome SNS never accepted


@dataclass(frozen=True)
class Fate:
    """Where one object's event ended: its results item, the outcomes published for it, its DLQ messages."""

    uri: str
    item: dict[str, Any] | None
    published: tuple[dict[str, Any], ...] = ()  # outcome messages for this object on the topic, in order
    dead_letters: int = 0  # messages naming this object in any route's or result writer's DLQ

    @property
    def verdict(self) -> str:
        """DELIVERED or DEAD_LETTERED when the contract holds; NO_OUTCOME or NOT_PUBLISHED when broken."""
        if self.dead_letters:
            return DEAD_LETTERED
        if self.item is None:
            return NO_OUTCOME
        if not any(announces(message, self.item) for message in self.published):
            return NOT_PUBLISHED
        return DELIVERED

    @property
    def refused(self) -> bool:
        """True if the event ended as a refused one must: only in a DLQ, no item."""
        return self.dead_letters > 0 and self.item is None


def announces(message: dict[str, Any], item: dict[str, Any]) -> bool:
    """True if an outcome message carries exactly this item (a prediction SNS could not carry excepted)."""
    omitted = bool(message.get("prediction_omitted"))
    return all(
        plain(item.get(name)) == value
        for name, value in message.items()
        if name != "prediction_omitted" and not (omitted and name == "prediction")
    )


def fates(cloud: LocalCloud, uris: Iterable[str]) -> dict[str, Fate]:
    """The fate of each object, read from the results table, the notifications topic and every route DLQ."""
    items = cloud.results()
    published: dict[str, list[dict[str, Any]]] = {}
    for text in cloud.published(cloud.outputs["notifications_topic_arn"]):
        message = _outcome(text)
        if message is not None:
            published.setdefault(message[TABLE_PARTITION_KEY], []).append(message)
    dead_letters: dict[str, int] = {}
    dlq_urls = [details["dlq_url"] for details in cloud.outputs["routes"].values()] + [
        model["result_writer_dlq_url"]
        for model in cloud.outputs["models"].values()
        if model.get("result_writer_dlq_url")
    ]
    for dlq_url in dlq_urls:
        for dead in cloud.queue_messages(dlq_url):
            for uri in objects_in_event(dead["Body"]):
                dead_letters[uri] = dead_letters.get(uri, 0) + 1
    return {
        uri: Fate(uri, items.get(uri), tuple(published.get(uri, ())), dead_letters.get(uri, 0))
        for uri in uris
    }


def fate_of(cloud: LocalCloud, uri: str) -> Fate:
    """The fate of one object (see `fates`)."""
    return fates(cloud, [uri])[uri]


def plain(value: Any) -> Any:
    """A DynamoDB value as JSON carries it: Decimals become ints or floats, recursively."""
    if isinstance(value, Decimal):
        return float(value) if value % 1 else int(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _outcome(text: str) -> dict[str, Any] | None:
    """An outcome message, or None for the topic's other messages (endpoint state sentences)."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) and TABLE_PARTITION_KEY in message else None
