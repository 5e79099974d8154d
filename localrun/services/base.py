"""What every service's creators share: the inputs of one resource, Pulumi-style names, the error."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class UnsupportedResourceType(RuntimeError):
    """The local run cannot create this resource type (or this use of it)."""


def physical_name(logical_name: str, *, max_length: int = 63, lower: bool = False, salt: str = "") -> str:
    """Pulumi-style auto-name: the logical name plus 7 hex characters (stable per logical name; `salt`,
    when given, makes another name for a replacement)."""
    digest = hashlib.sha256(f"{logical_name}#{salt}".encode() if salt else logical_name.encode()).hexdigest()[
        :7
    ]
    base = logical_name.lower() if lower else logical_name
    return f"{base[: max_length - 8]}-{digest}"


def _as_is(value: Any) -> Any:
    return value


def as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class Inputs:
    """Read access to one resource's inputs with errors that name the resource and the key.

    Records which inputs a creator read (`used`) and the set fields of nested blocks it did not
    read (`unread`), so everything else the program sets can be reported as not emulated.
    """

    def __init__(self, typ: str, name: str, raw: dict[str, Any], *, replacement: str | None = None) -> None:
        self.typ, self.name, self.raw = typ, name, raw
        # Set when a redeploy replaces the resource: its auto-name must differ from the one it replaces, as
        # Pulumi gives a replacement a new random suffix (create before delete).
        self.replacement = replacement
        self.used: set[str] = set()
        self.unread: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        value = self.raw.get(key)
        return default if value is None else value

    def int(self, key: str) -> int | None:
        value = self.get(key)
        return None if value is None else int(value)

    def req(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise UnsupportedResourceType(
                f"{self.typ} {self.name!r}: input {key!r} is required by the local run"
            )
        return value

    def fields(self, path: str, block: dict[str, Any] | None, *read: str) -> dict[str, Any]:
        """A nested block (`path` names it in reports) of which the creator reads only `read`."""
        block = block or {}
        self.unread.update(
            f"{path}.{key}" for key, value in block.items() if key not in read and value is not None
        )
        return block

    def block(self, key: str, *read: str) -> dict[str, Any]:
        return self.fields(key, self.get(key), *read)

    def present(self, wire_names: dict[str, str], convert: Callable[[Any], Any] = _as_is) -> dict[str, Any]:
        """The set inputs among `wire_names`, converted, under their AWS API names."""
        return {wire: convert(self.get(key)) for key, wire in wire_names.items() if self.get(key) is not None}

    def name_or_auto(self, key: str = "name", **naming: Any) -> str:
        return str(self.get(key) or physical_name(self.name, salt=self.replacement or "", **naming))


def iso_now(*, seconds_only: bool = False) -> str:
    now = datetime.now(UTC)
    if seconds_only:
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Limit:
    what: str
    max_bytes: int
    source: str  # the AWS page that states the number
    error_code: str
    http_status: int
    message: str  # str.format(size=..., limit=...)


def utf8_size(text: str | bytes | None) -> int:
    if text is None:
        return 0
    return len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))
