"""SQL shared by migrations: the `updated_at` trigger every table with that column gets."""

from __future__ import annotations

from alembic import op

SET_UPDATED_AT_FUNCTION = """
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
"""


def create_updated_at_function() -> None:
    op.execute(SET_UPDATED_AT_FUNCTION)


def drop_updated_at_function() -> None:
    op.execute("DROP FUNCTION IF EXISTS set_updated_at()")


def add_updated_at_trigger(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
    )


def drop_updated_at_trigger(table: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_updated_at ON {table}")
