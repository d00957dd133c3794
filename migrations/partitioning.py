"""Turning a table into one partitioned by ranges of its UUIDv7 `id` (one partition per
calendar month, UTC, and a default partition), and back, keeping its data, columns,
checks, indexes, triggers, its own foreign keys and every foreign key that points at it.

Everything is read from the catalog at the time the migration runs, so indexes or
references that other migrations added before this one come along. A unique index that
does not contain `id` cannot exist on the partitioned table: the caller names those
(`drop_unique`) and says in its docstring what guarantees the uniqueness instead.

The SQL functions `eventapi_uuid_floor(timestamptz)` and
`eventapi_ensure_monthly_partitions(regclass, int)` are what the maintenance job
(server.partitions) calls to create the coming months' partitions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

FUNCTIONS = [
    r"""
CREATE OR REPLACE FUNCTION eventapi_uuid_floor(at timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    -- The smallest UUIDv7 of the millisecond `at`: a partition bound for ids made from then.
    SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0')
            || '00000000000000000000')::uuid
$$;
""",
    r"""
CREATE OR REPLACE FUNCTION eventapi_create_month_partition(parent regclass, month date)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    start_at timestamptz := date_trunc('month', month::timestamp) AT TIME ZONE 'UTC';
    name text := format('%s_y%sm%s', parent::text, to_char(start_at AT TIME ZONE 'UTC', 'YYYY'),
                        to_char(start_at AT TIME ZONE 'UTC', 'MM'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
        name, parent, eventapi_uuid_floor(start_at),
        eventapi_uuid_floor(start_at + interval '1 month'));
    RETURN true;
END;
$$;
""",
    r"""
CREATE OR REPLACE FUNCTION eventapi_ensure_monthly_partitions(parent regclass, months_ahead int)
RETURNS int LANGUAGE plpgsql AS $$
-- The partitions of this month and the next `months_ahead` ones, those missing created.
-- A month whose rows already went to the default partition (the job did not run for that
-- long) is left there with a warning: its rows stay readable and writable, only unpruned.
DECLARE
    this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    created int := 0;
BEGIN
    FOR i IN 0 .. months_ahead LOOP
        BEGIN
            IF eventapi_create_month_partition(parent, (this_month + make_interval(months => i))::date) THEN
                created := created + 1;
            END IF;
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'rows for % of % are in its default partition; not partitioned',
                this_month + make_interval(months => i), parent;
        END;
    END LOOP;
    RETURN created;
END;
$$;
""",
]

DROP_FUNCTIONS = [
    "DROP FUNCTION IF EXISTS eventapi_ensure_monthly_partitions(regclass, int)",
    "DROP FUNCTION IF EXISTS eventapi_create_month_partition(regclass, date)",
    "DROP FUNCTION IF EXISTS eventapi_uuid_floor(timestamptz)",
]

# Months created ahead by the migration; the maintenance job keeps this many ahead.
MONTHS_AHEAD = 3
MAX_MONTHS_BACK = 120


@dataclass(frozen=True)
class Shape:
    """What a table is besides its columns, as the catalog defines it."""

    primary_key: str
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX ...) other than the primary key
    own_foreign_keys: list[tuple[str, str]]  # (name, definition) to other tables
    references: list[tuple[str, str, str]]  # (table, name, definition) pointing at it
    triggers: list[str]  # CREATE TRIGGER ...


def _rows(sql: str, **params: object) -> list[sa.Row[tuple[object, ...]]]:
    return list(op.get_bind().execute(sa.text(sql), params))


def shape_of(table: str) -> Shape:
    [(primary_key,)] = _rows(
        "SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'",
        t=table,
    )
    indexes = [
        (str(name), str(definition))
        for name, definition in _rows(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary ORDER BY c.relname",
            t=table,
        )
    ]
    own = [
        (str(name), str(definition))
        for name, definition in _rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' "
            "AND confrelid <> CAST(:t AS regclass) AND conparentid = 0 ORDER BY conname",
            t=table,
        )
    ]
    references = [
        (str(other), str(name), str(definition))
        for other, name, definition in _rows(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE confrelid = CAST(:t AS regclass) AND contype = 'f' "
            "AND conparentid = 0 ORDER BY conname",
            t=table,
        )
    ]
    triggers = [
        str(definition)
        for (definition,) in _rows(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal AND tgparentid = 0 "
            "ORDER BY tgname",
            t=table,
        )
    ]
    return Shape(primary_key, indexes, own, references, triggers)


def _rebuild(table: str, shape: Shape, *, partitioned: bool, skip_indexes: set[str]) -> None:
    """Replace `table` by a copy (partitioned or plain) holding the same rows."""
    for other, name, _ in shape.references:
        op.execute(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"')
    staging = f"{table}__rebuilt"
    like = "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS"
    suffix = " PARTITION BY RANGE (id)" if partitioned else ""
    op.execute(f"CREATE TABLE {staging} (LIKE {table} {like}){suffix}")
    if partitioned:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {staging} DEFAULT")
        _month_partitions(table, staging)
    op.execute(f"INSERT INTO {staging} SELECT * FROM {table}")  # noqa: S608 - our tables
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {staging} RENAME TO {table}")
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{shape.primary_key}" PRIMARY KEY (id)')
    for name, definition in shape.indexes:
        if name not in skip_indexes:
            # An index of a partitioned table reads `ON ONLY`; the rebuilt one spans all.
            op.execute(definition.replace(" ON ONLY ", " ON ", 1))
    for name, definition in shape.own_foreign_keys:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in shape.triggers:
        op.execute(definition)
    for other, name, definition in shape.references:
        op.execute(f'ALTER TABLE {other} ADD CONSTRAINT "{name}" {definition}')
    op.execute(f"ANALYZE {table}")


def _month_partitions(table: str, staging: str) -> None:
    """One partition per month from the oldest row's (at most MAX_MONTHS_BACK ago) to
    MONTHS_AHEAD from now, named after the final table. Rows whose id is not a UUIDv7,
    or older, go to the default partition."""
    [(oldest, now)] = _rows(
        "SELECT min(uuid_extract_timestamp(id)), now() "  # noqa: S608 - our table names
        f"FROM {table} WHERE uuid_extract_version(id) = 7"
    )
    assert isinstance(now, datetime)
    last = _add_months(_month_of(now), MONTHS_AHEAD)
    month = max(
        _month_of(oldest if isinstance(oldest, datetime) else now),
        _add_months(_month_of(now), -MAX_MONTHS_BACK),
    )
    while month <= last:
        following = _add_months(month, 1)
        op.execute(
            f"CREATE TABLE {table}_y{month:%Y}m{month:%m} PARTITION OF {staging} "
            f"FOR VALUES FROM ('{uuid_floor(month)}') TO ('{uuid_floor(following)}')"
        )
        month = following


def _month_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


def uuid_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of the millisecond `moment` (as eventapi_uuid_floor)."""
    return uuid.UUID(int=int(moment.timestamp() * 1000) << 80)


def partition_by_id(table: str, *, drop_unique: frozenset[str] = frozenset()) -> None:
    _rebuild(table, shape_of(table), partitioned=True, skip_indexes=set(drop_unique))


def unpartition(table: str) -> None:
    _rebuild(table, shape_of(table), partitioned=False, skip_indexes=set())
