from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema.api import SNAPSHOT, sdl

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "API.graphql"


def test_committed_schema_snapshot_matches_the_code() -> None:
    assert SNAPSHOT.read_text() == sdl(), (
        "run `python -m schema.api` and commit schema/schema.graphql"
    )


def test_snapshot_is_valid_sdl() -> None:
    from graphql import build_schema

    schema = build_schema(SNAPSHOT.read_text())
    assert schema.query_type is not None and schema.query_type.name == "Query"
