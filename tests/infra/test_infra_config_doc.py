"""README's configuration table is the one the config schema generates, and it documents every key."""

from __future__ import annotations

from infra.config import StackSettings, top_level_keys
from infra.config_doc import README, config_table, readme_table

REGENERATE = "regenerate with `python -m infra.config_doc --write`"


def test_readme_configuration_table_is_the_one_the_schema_generates():
    assert readme_table(README.read_text()) == config_table(), REGENERATE


def test_generated_table_has_a_row_for_every_top_level_key_and_every_model_setting():
    table = config_table()
    for key in top_level_keys():
        assert f"| `{key}" in table, key
    for member in ("ServerlessModel", "ExistingModel"):
        schema = StackSettings.model_json_schema(by_alias=True)["$defs"][member]
        for key in schema["properties"]:
            assert f"| `models.<name>.{key}` |" in table, (member, key)


def test_generated_table_takes_ranges_and_defaults_from_the_schema():
    table = config_table()
    assert "| `function.memoryMb` | int 128\u201310240 | 1024 | Function memory. |" in table
    assert "| `models.<name>.payloadFormat` | `text` \\| `json` \\| `binary` | `text` |" in table
    assert "| `bucket.largeResultsPrefix` | string, 1-512 chars | `results/` |" in table
