"""The README's configuration table names every setting of `server.config.Settings`, and
the defaults it shows are the code's."""

from __future__ import annotations

import re

from server.config import Settings
from tests.docs.markdown import ROOT, section, table_rows

TABLE = section(ROOT / "README.md", "## Configuration")
READ_ELSEWHERE = {"FORWARDED_ALLOW_IPS"}  # read by uvicorn, not by Settings
NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def documented() -> dict[str, str | None]:
    """Each documented variable and its default as the table shows it, where the row gives
    one backticked default per variable (None where it says it in words)."""
    found: dict[str, str | None] = {}
    for cells in table_rows(TABLE)[2:]:
        names = NAME.findall(cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[-1])
        for i, name in enumerate(names):
            found[name] = defaults[i] if len(defaults) == len(names) else None
    return found


def test_every_setting_is_in_the_table() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    table = set(documented())
    assert sorted(fields - table) == []
    assert sorted(table - fields - READ_ELSEWHERE) == []


def test_the_defaults_shown_are_the_code_defaults() -> None:
    compared = 0
    for name, shown in documented().items():
        field = Settings.model_fields.get(name.lower())
        default = field.default if field is not None else None
        if shown is None or isinstance(default, bool) or not isinstance(default, int | float | str):
            continue
        if isinstance(default, int | float):
            assert float(shown) == float(default), name
        else:
            assert shown == default, name
        compared += 1
    assert compared >= 30
