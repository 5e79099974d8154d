"""README's configuration table, generated from the config schema (`infra.config.StackSettings`).

`python -m infra.config_doc` prints the table; `python -m infra.config_doc --write` replaces the one in
README.md (`tests/infra/test_infra_config_doc.py` fails when they differ). Every row comes from the schema's
JSON Schema (`model_json_schema()`): key, type and range, default, and the field's description.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from infra.config import StackSettings

README = Path(__file__).resolve().parent.parent / "README.md"
HEADER = "| key | type | default | meaning |\n|---|---|---|---|\n"
EN_DASH = "\u2013"
# `aws:region` lives in the provider's namespace, outside the schema; infra.config.parse_config checks it.
REGION_ROW = (
    "| `aws:region` | string | required | Stack region: provider, ARNs, `{region}` in a model's `image`. "
    "Missing -> `pulumi config set aws:region <region>`. |"
)
# Lists and maps whose entries get a row per key (the other lists are described in one row).
EXPANDED = ("routes", "models")


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref and drop the `null` of an optional value."""
    if "$ref" in schema:
        return {**defs[schema["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(options) == 1:
        merged = {**schema, **options[0]}
        merged.pop("anyOf")
        return _resolve(merged, defs)
    return schema


def _type(prop: dict[str, Any]) -> str:
    if "docType" in prop:
        return prop["docType"]
    if "enum" in prop or "const" in prop:
        return " \\| ".join(f"`{v}`" for v in prop.get("enum", [prop.get("const")]))
    kind = prop.get("type")
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        return f"int {low}{EN_DASH}{high}" if low is not None and high is not None else "int"
    if kind == "string":
        return f"`{prop['pattern']}`" if "pattern" in prop else "string"
    return {"boolean": "bool", "array": "list", "object": "map"}.get(kind, "value")


def _default(prop: dict[str, Any], required: bool) -> str:
    if "docDefault" in prop:
        return prop["docDefault"]
    if "default" in prop:
        value = prop["default"]
        if value is None:
            return "none"
        if isinstance(value, str):
            return f"`{value}`"
        return json.dumps(value) if isinstance(value, list | dict) else str(value)
    return "required" if required else "none"


def _cell(text: str) -> str:
    return re.sub(r"(?<!\\)\|", "\\|", text).replace("\n", " ")


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[str]:
    rows: list[str] = []
    required = set(schema.get("required", ()))
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, defs)
        key = f"{prefix}{name}"
        if prop.get("type") == "object" and "properties" in prop:  # a section: one row per setting
            rows += _rows(prop, defs, f"{key}.")
            continue
        meaning = _cell(prop.get("description", ""))
        rows.append(f"| `{key}` | {_type(prop)} | {_default(prop, name in required)} | {meaning} |")
        if name in EXPANDED and prop.get("type") == "array":
            rows += _rows(_resolve(prop["items"], defs), defs, f"{key}[].")
        elif name in EXPANDED and prop.get("type") == "object":
            rows += _member_rows(next(iter(prop["patternProperties"].values())), defs, f"{key}.<name>.")
    return rows


def _member_rows(union: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[str]:
    """One row per key of a discriminated union's members (`mode` first; a shared key once)."""
    members = [_resolve(m, defs) for m in union.get("oneOf", union.get("anyOf", [union]))]
    merged: dict[str, Any] = {}
    for member in members:
        for name, prop in member.get("properties", {}).items():
            if name not in merged or "description" not in merged[name]:
                merged[name] = prop
    names = ["mode", *(n for n in merged if n != "mode")]
    combined = {
        "properties": {n: merged[n] for n in names if n in merged},
        "required": sorted(set.intersection(*(set(m.get("required", ())) for m in members))),
    }
    return _rows(combined, defs, prefix)


def config_table() -> str:
    """The Markdown table, header included, one line per key."""
    schema = StackSettings.model_json_schema(by_alias=True)
    rows = [REGION_ROW, *_rows(schema, schema.get("$defs", {}), "")]
    return HEADER + "\n".join(rows) + "\n"


def readme_table(text: str) -> str:
    """The configuration table as README holds it (header to the first blank line)."""
    start = text.index(HEADER)
    end = text.index("\n\n", start)
    return text[start : end + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    table = config_table()
    if args.write:
        text = README.read_text()
        README.write_text(text.replace(readme_table(text), table))
    else:
        print(table, end="")


if __name__ == "__main__":
    main()
