"""Apply Alembic migrations programmatically (used by `eventapi serve|migrate` and tests)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # Migrations import `migrations.helpers`: find it from any working directory.
    config.set_main_option("prepend_sys_path", str(ROOT))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


PARTITION_NAME = re.compile(r"^(?P<parent>[a-z_]+)_(?:y\d{4}m\d{2}|default)$")


def partitioned_tables(metadata: MetaData) -> set[str]:
    return {
        table.name
        for table in metadata.tables.values()
        if table.dialect_options["postgresql"].get("partition_by")
    }


def is_partition(name: str | None, metadata: MetaData) -> bool:
    """A partition of a partitioned table of the models (`orders_y2026m12`,
    `orders_default`): the database's, not the models', so comparisons skip it."""
    match = PARTITION_NAME.match(name or "")
    return match is not None and match["parent"] in partitioned_tables(metadata)


def comparison_filters(metadata: MetaData) -> dict[str, Any]:
    """`include_name` and `include_object` for Alembic's comparison of the models with a
    database: partitions, and the foreign keys PostgreSQL clones onto them, are skipped."""

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        return not (type_ == "table" and is_partition(name, metadata))

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "foreign_key_constraint" and reflected:
            referred = getattr(obj, "referred_table", None)
            return not is_partition(getattr(referred, "name", None), metadata)
        return True

    return {"include_name": include_name, "include_object": include_object}
