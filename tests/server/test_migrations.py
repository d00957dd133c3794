"""The migrations: upgrade to head, downgrade to base and upgrade again on a database of
their own; the models and the migrations agree; the shared trigger and the indexes exist."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from server.migrate import comparison_filters, downgrade, upgrade
from server.models import Base
from tests.support.services import ServiceUrls


def run_sql(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text(sql), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


def with_sync_connection(url: str, fn: Any) -> Any:
    async def go() -> Any:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def scratch_url(services: ServiceUrls) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    run_sql(services.database_url, f'CREATE DATABASE "{name}"')
    url = make_url(services.database_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        run_sql(services.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    rows = run_sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    upgrade(scratch_url, "heads")
    first = tables(scratch_url)
    assert {"users", "sessions", "api_keys", "organizations", "memberships"} <= first

    downgrade(scratch_url, "base")

    assert tables(scratch_url) == {"alembic_version"}
    assert run_sql(scratch_url, "SELECT count(*) FROM alembic_version") == [(0,)]
    assert run_sql(
        scratch_url, "SELECT count(*) FROM pg_proc WHERE proname = 'set_updated_at'"
    ) == [(0,)]
    types = run_sql(scratch_url, "SELECT typname FROM pg_type WHERE typtype = 'e'")
    assert types == [], f"enum types left behind: {types}"

    upgrade(scratch_url, "heads")
    assert tables(scratch_url) == first


def test_the_models_and_the_migrations_agree(scratch_url: str) -> None:
    upgrade(scratch_url, "heads")

    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, **comparison_filters(Base.metadata)}
        )
        return list(compare_metadata(context, Base.metadata))

    differences = with_sync_connection(scratch_url, diff)

    assert differences == [], "autogenerate finds differences:\n" + "\n".join(map(str, differences))


def test_every_table_with_updated_at_has_the_trigger(scratch_url: str) -> None:
    upgrade(scratch_url, "heads")

    with_column = {
        r[0]
        for r in run_sql(
            scratch_url,
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'updated_at'",
        )
    }
    with_trigger = {
        r[0]
        for r in run_sql(
            scratch_url,
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE p.proname = 'set_updated_at' AND NOT t.tgisinternal",
        )
    }

    assert {"users", "sessions", "api_keys", "organizations", "memberships"} <= with_column
    assert with_column - with_trigger == set()


def test_the_trigger_moves_updated_at_on_update(scratch_url: str) -> None:
    upgrade(scratch_url, "heads")
    user_id = uuid.uuid4()
    run_sql(
        scratch_url,
        "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) "
        "VALUES (:id, 'trigger@example.com', 'T', 'x', now() - interval '1 day', "
        "now() - interval '1 day')",
        id=user_id,
    )

    run_sql(scratch_url, "UPDATE users SET name = 'T2' WHERE id = :id", id=user_id)

    [(created, updated)] = run_sql(
        scratch_url, "SELECT created_at, updated_at FROM users WHERE id = :id", id=user_id
    )
    assert (updated - created).total_seconds() > 3600
    # An explicit value is overridden too: the trigger owns the column.
    run_sql(
        scratch_url,
        "UPDATE users SET updated_at = '2000-01-01' WHERE id = :id",
        id=user_id,
    )
    [(forced,)] = run_sql(scratch_url, "SELECT updated_at FROM users WHERE id = :id", id=user_id)
    assert forced.year > 2000
    run_sql(scratch_url, "DELETE FROM users WHERE id = :id", id=user_id)


def index_definitions(url: str, table: str) -> dict[str, str]:
    rows = run_sql(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t", t=table)
    return {name: definition for name, definition in rows}


def test_the_seed_indexes_exist(scratch_url: str) -> None:
    upgrade(scratch_url, "heads")

    users = index_definitions(scratch_url, "users")
    sessions = index_definitions(scratch_url, "sessions")
    keys = index_definitions(scratch_url, "api_keys")

    assert "CREATE UNIQUE INDEX" in users["uq_users_email_lower"]
    assert "lower((email)::text)" in users["uq_users_email_lower"]
    assert any("UNIQUE" in d and "(token)" in d for d in sessions.values())
    assert any("(prefix)" in d for d in keys.values())


def test_emails_are_unique_whatever_their_case(scratch_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    upgrade(scratch_url, "heads")
    insert = "INSERT INTO users (id, email, name, password_hash) VALUES (:id, :email, 'U', 'x')"
    run_sql(scratch_url, insert, id=uuid.uuid4(), email="case@example.com")
    try:
        with pytest.raises(IntegrityError):
            run_sql(scratch_url, insert, id=uuid.uuid4(), email="CASE@example.com")
    finally:
        run_sql(scratch_url, "DELETE FROM users WHERE lower(email) = 'case@example.com'")


def test_the_migrate_command_upgrades_and_downgrades(services: ServiceUrls, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    name = f"migrate_cli_{uuid.uuid4().hex[:10]}"
    run_sql(services.database_url, f'CREATE DATABASE "{name}"')
    url = make_url(services.database_url).set(database=name).render_as_string(False)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": services.redis_url}

    def migrate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "migrate", *args],
            # From outside the repository: the migrations must still be found.
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    try:
        up = migrate()
        assert up.returncode == 0, up.stderr
        assert "users" in tables(url)
        down = migrate("--downgrade")
        assert down.returncode == 0, down.stderr
        assert tables(url) == {"alembic_version"}
    finally:
        run_sql(services.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_unreachable_database_is_one_clear_line(services: ServiceUrls) -> None:
    import os
    import subprocess
    import sys

    from tests.support.live import ROOT

    env = {
        **os.environ,
        "DATABASE_URL": "postgresql+asyncpg://someone:hunter22@/db?host=/nonexistent-dir",
        "REDIS_URL": services.redis_url,
    }

    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot use the database postgresql+asyncpg://someone:***@/db" in result.stderr
    assert "hunter22" not in result.stderr


def test_the_migrations_have_one_head() -> None:
    """Operators run `alembic upgrade head` and a new migration needs one parent: branches
    that grew side by side are joined by a merge revision."""
    from alembic.script import ScriptDirectory

    from server.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))

    assert len(script.get_heads()) == 1, script.get_heads()
