"""The platform behind Debian's PgBouncer in transaction pooling mode: with
DATABASE_TRANSACTION_POOLING the hot paths (orders, payments, check-in, listings) run
through a pool of a few server connections without a single error; without it the driver's
prepared statements break at once, which is what the setting is for."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from server.config import Settings
from server.db import make_engine
from server.embedded import EmbeddedPostgres
from tests.conftest import running_app
from tests.schema.tickets.helpers import CHECK_IN, MY_TICKETS
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.pgbouncer import PgBouncer, pgbouncer
from tests.support.services import ServiceUrls

SERVER_CONNECTIONS = 4
BUYERS = 24


@pytest.fixture(scope="module")
def primary(services: ServiceUrls) -> EmbeddedPostgres:
    if services.embedded is None:
        pytest.skip("PgBouncer is put in front of the embedded PostgreSQL; DATABASE_URL is set")
    return services.embedded.postgres


@pytest.fixture(scope="module")
def bouncer(
    primary: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PgBouncer]:
    directory: Path = tmp_path_factory.mktemp("pgbouncer")
    # No reserve pool: every transaction shares the same few server connections.
    pool = {"default_pool_size": str(SERVER_CONNECTIONS), "reserve_pool_size": "0"}
    with pgbouncer(primary, directory, **pool) as running:
        yield running


@pytest.fixture(scope="module")
async def pooled_app(
    make_settings: Callable[..., Settings], bouncer: PgBouncer
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = make_settings(database_url=bouncer.url(), database_transaction_pooling=True)
    async with running_app(settings) as pair:
        yield pair


def admin(primary: EmbeddedPostgres, bouncer: PgBouncer, command: str) -> list[dict[str, str]]:
    """PgBouncer's admin console (simple query protocol only: psql, not asyncpg)."""
    result = subprocess.run(
        [
            str(primary.bin_dir / "psql"),
            *("-h", "127.0.0.1", "-p", str(bouncer.port), "-U", "postgres", "-d", "pgbouncer"),
            *("-AX", "-F", "\t", "-c", command),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    header, *rows = result.stdout.strip().splitlines()[:-1]  # the last line counts the rows
    names = header.split("\t")
    return [dict(zip(names, row.split("\t"), strict=True)) for row in rows]


async def test_orders_payments_check_in_and_listings_run_through_the_pooler(
    pooled_app: tuple[Starlette, httpx.AsyncClient],
    bouncer: PgBouncer,
    primary: EmbeddedPostgres,
) -> None:
    _, http = pooled_app
    http.cookies.clear()
    gql = GraphQLClient(http)
    staff_org = await factories.create_org(gql)
    sale = await commerce.sale(gql, staff_org, quantity=BUYERS - 4)
    buyers = [await factories.register(gql) for _ in range(BUYERS)]
    before = sum(int(r["total_xact_count"]) for r in admin(primary, bouncer, "SHOW STATS"))

    async def buy(buyer: factories.TestUser) -> str | None:
        placed = await commerce.order(gql, sale, 1, token=buyer.token)
        if placed["errors"]:
            assert [e["code"] for e in placed["errors"]] == ["SOLD_OUT"], placed["errors"]
            return None
        await commerce.pay_with_test(gql, http, placed["order"]["id"], token=buyer.token)
        [ticket] = (await gql(MY_TICKETS, token=buyer.token))["myTickets"]
        return str(ticket["qrCode"])

    codes = await asyncio.gather(*(buy(b) for b in buyers))
    sold = [c for c in codes if c is not None]
    admitted = await asyncio.gather(
        *(gql(CHECK_IN, {"input": {"qrCode": code}}, token=staff_org.owner.token) for code in sold)
    )
    left = await commerce.availability(gql, sale)

    assert len(sold) == BUYERS - 4
    assert all(a["checkIn"]["errors"] == [] for a in admitted)
    assert (left[0]["available"], left[0]["sold"]) == (0, BUYERS - 4)
    after = sum(int(r["total_xact_count"]) for r in admin(primary, bouncer, "SHOW STATS"))
    assert after - before > 4 * BUYERS  # it all went through the pooler
    [pool] = [p for p in admin(primary, bouncer, "SHOW POOLS") if p["database"] == "eventapi"]
    assert int(pool["sv_active"]) + int(pool["sv_idle"]) + int(pool["sv_used"]) <= (
        SERVER_CONNECTIONS
    )
    assert pool["pool_mode"] == "transaction"


async def test_without_the_setting_prepared_statements_break_behind_the_pooler(
    bouncer: PgBouncer,
) -> None:
    engine = make_engine(bouncer.url(), pool_size=8, max_overflow=0, transaction_pooling=False)
    failures: list[str] = []

    async def client(n: int) -> None:
        for i in range(10):
            try:
                async with engine.begin() as conn:
                    await conn.execute(text("SELECT CAST(:i AS int) + :n"), {"i": i, "n": n})
            except Exception as error:  # the driver's, as the app would see it
                failures.append(str(error))

    try:
        await asyncio.gather(*(client(n) for n in range(8)))
    finally:
        await engine.dispose()

    assert failures, "asyncpg's cached prepared statements worked behind a transaction pooler"
    assert all("prepared statement" in f for f in failures)
