"""Orders and tickets partitioned by month of their id: the hot lookups read one partition
(EXPLAIN, with the values in the query and as a prepared statement's parameters), the
maintenance job creates the coming months' partitions once, and the migration converts
existing data and back (downgrade/upgrade) keeping every row, key and rule."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from server.config import Settings
from server.db import Database
from server.migrate import alembic_config, downgrade, upgrade
from server.partitions import ensure_partitions
from tests.conftest import running_app
from tests.schema.tickets.helpers import CHECK_IN, MY_TICKETS
from tests.server.test_migrations import run_sql
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.services import ServiceUrls

PARTITIONS = """
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = CAST(:parent AS regclass) ORDER BY c.relname
"""


def month_name(table: str, moment: datetime) -> str:
    return f"{table}_y{moment:%Y}m{moment:%m}"


def scanned(plan: list[Any]) -> set[str]:
    """The relations an EXPLAIN (FORMAT JSON) plan scans (an UPDATE's target node names the
    parent table; its scans name the partitions)."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node and "Scan" in node["Node Type"]:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


async def explain(db: Database, sql: str, **params: Any) -> set[str]:
    async with db.transaction() as session:
        plan = (await session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params)).scalar_one()
    return scanned(plan)


async def explain_generic(db: Database, sql: str, *values: str) -> tuple[set[str], int]:
    """As the driver runs it: a prepared statement with a generic plan, pruned at run time.
    Returns the partitions read and how many the executor skipped."""
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        await session.execute(text(f"PREPARE pruned AS {sql}"))
        arguments = ", ".join(f"'{v}'" for v in values)
        plan = (
            await session.execute(
                text(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE pruned({arguments})")
            )
        ).scalar_one()
        await session.execute(text("DEALLOCATE pruned"))
    root = plan[0]["Plan"]
    removed = _subplans_removed(root)
    return scanned(plan), removed


def _subplans_removed(node: dict[str, Any]) -> int:
    return int(node.get("Subplans Removed", 0)) + sum(
        _subplans_removed(child) for child in node.get("Plans", [])
    )


async def test_orders_and_tickets_are_found_in_one_partition(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    await ensure_partitions(db)
    sale = await commerce.sale(gql)
    buyer = await factories.register(gql)
    placed = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, placed["id"], token=buyer.token)
    ticket = (await gql(MY_TICKETS, token=buyer.token))["myTickets"][0]
    this_month = datetime.now(UTC)

    by_id = await explain(db, "SELECT * FROM orders WHERE id = :id", id=uuid.UUID(placed["id"]))
    generic, skipped = await explain_generic(db, "SELECT * FROM orders WHERE id = $1", placed["id"])
    # As the gate finds a batch of scans' tickets (server.tickets.checkin.FIND_BY_CODES).
    # PostgreSQL prunes `= ANY(array)` when it plans with the values, which it keeps doing
    # for such a statement: a plan over every month costs more.
    at_the_gate = await explain(
        db,
        "SELECT * FROM tickets WHERE id = ANY(:ids) AND qr_payload = ANY(:codes)",
        ids=[uuid.UUID(ticket["id"])],
        codes=[ticket["qrCode"]],
    )
    items = await explain(
        db,
        "SELECT * FROM orders o JOIN tickets t ON t.order_id = o.id "
        "WHERE o.id = :order AND t.id = :ticket",
        order=uuid.UUID(placed["id"]),
        ticket=uuid.UUID(ticket["id"]),
    )

    assert by_id == {month_name("orders", this_month)}
    assert generic == {month_name("orders", this_month)}
    assert skipped >= 4  # the other months and the default partition, skipped at run time
    assert at_the_gate == {month_name("tickets", this_month)}
    # An admission's ticket has its order's month: the two live in the same month.
    assert items == {month_name("orders", this_month), month_name("tickets", this_month)}


async def test_a_status_change_by_id_touches_one_partition(
    gql: GraphQLClient, db: Database
) -> None:
    await ensure_partitions(db)
    sale = await commerce.sale(gql)
    placed = (await commerce.order(gql, sale, 1))["order"]

    changed = await explain(
        db,
        "UPDATE orders SET status = 'cancelled' WHERE id = :id AND status = 'pending'",
        id=uuid.UUID(placed["id"]),
    )
    tickets = await explain(
        db,
        "UPDATE tickets SET status = 'used' WHERE id = :id AND status = 'valid'",
        id=uuid.uuid4(),  # a random (version 4) id belongs to no month: the default one
    )

    assert changed == {month_name("orders", datetime.now(UTC))}
    assert tickets == {"tickets_default"}


async def test_the_job_creates_the_coming_months_once(db: Database) -> None:
    first = await ensure_partitions(db, months_ahead=5)
    again = await ensure_partitions(db, months_ahead=5)

    async with db.transaction() as session:
        names = list(await session.scalars(text(PARTITIONS), {"parent": "orders"}))
    now = datetime.now(UTC)
    wanted = {
        month_name(
            "orders",
            datetime(now.year + (now.month - 1 + i) // 12, (now.month - 1 + i) % 12 + 1, 1),
        )
        for i in range(6)
    }
    # The migration made three months ahead; five ahead adds two (per table).
    assert first == {"orders": 2, "tickets": 2}
    assert again == {"orders": 0, "tickets": 0}
    assert wanted <= set(names)
    assert "orders_default" in names


@pytest.fixture(scope="module")
def scratch(services: ServiceUrls) -> Iterator[str]:
    name = f"partitioning_{uuid.uuid4().hex[:12]}"
    run_sql(services.database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(services.database_url).set(database=name).render_as_string(False)
    finally:
        run_sql(services.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def before_partitioning() -> str:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    previous = script.get_revision("0980").down_revision
    assert isinstance(previous, str)
    return previous


async def test_the_migration_converts_existing_data_and_back(
    scratch: str, settings: Settings
) -> None:
    """Data made through the API before the migration survives it, its downgrade and a
    second upgrade, with its keys and rules: a second check-in of a ticket is refused
    after each step, and nothing can point at an order that does not exist."""
    unpartitioned = before_partitioning()
    await asyncio.to_thread(upgrade, scratch, unpartitioned)
    app_settings = settings.model_copy(update={"database_url": scratch})
    async with running_app(app_settings) as (_, http):
        gql = GraphQLClient(http)
        staff = await factories.register(gql)
        sale = await commerce.sale(gql, await factories.create_org(gql, staff))
        buyer = await factories.register(gql)
        placed = (await commerce.order(gql, sale, 3, token=buyer.token))["order"]
        await commerce.pay_with_test(gql, http, placed["id"], token=buyer.token)
        tickets = (await gql(MY_TICKETS, token=buyer.token))["myTickets"]
        first = await gql(CHECK_IN, {"input": {"qrCode": tickets[0]["qrCode"]}}, token=staff.token)
        assert first["checkIn"]["errors"] == []

    def count_rows() -> list[tuple[Any, ...]]:
        return run_sql(
            scratch,
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM tickets), "
            "(SELECT count(*) FROM check_ins), (SELECT count(*) FROM order_items), "
            "(SELECT count(*) FROM payments)",
        )

    async def rows() -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(count_rows)

    async def sql(statement: str) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(run_sql, scratch, statement)

    before = await rows()
    await asyncio.to_thread(upgrade, scratch, "heads")
    partitioned = await rows()
    parts = await sql(PARTITIONS.replace(":parent", "'orders'"))
    await asyncio.to_thread(downgrade, scratch, unpartitioned)
    plain = await rows()
    unique_back = await sql(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_tickets_qr_payload'"
    )
    await asyncio.to_thread(upgrade, scratch, "heads")

    assert before == partitioned == plain == await rows() == [(1, 3, 1, 1, 1)]
    assert (month_name("orders", datetime.now(UTC)),) in parts
    assert unique_back == [(1,)]
    with pytest.raises(IntegrityError):
        await sql(
            "INSERT INTO order_items (id, order_id, ticket_type_id, inventory_id, quantity, "
            "unit_price_minor, subtotal_minor) SELECT gen_random_uuid(), gen_random_uuid(), "
            "ticket_type_id, inventory_id, 1, 0, 0 FROM order_items LIMIT 1",
        )
    async with running_app(app_settings) as (_, http):
        gql = GraphQLClient(http)
        again = await gql(CHECK_IN, {"input": {"qrCode": tickets[0]["qrCode"]}}, token=staff.token)
        other = await gql(CHECK_IN, {"input": {"qrCode": tickets[1]["qrCode"]}}, token=staff.token)
        mine = (await gql(MY_TICKETS, token=buyer.token))["myTickets"]
    assert [e["code"] for e in again["checkIn"]["errors"]] == ["ALREADY_CHECKED_IN"]
    assert other["checkIn"]["errors"] == []
    assert sorted(t["id"] for t in mine) == sorted(t["id"] for t in tickets)
