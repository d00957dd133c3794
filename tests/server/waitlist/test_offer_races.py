"""Exactly once under real concurrency: cancels, expiries and two offer workers at the
same moment never offer a unit twice or lose one; a restarted worker catches up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, text

from server.app_state import AppState
from server.jobs import queues
from server.orders.jobs import expire_claims
from server.ticketing.models import Hold, Inventory
from server.waitlist.jobs import serve_waitlists
from server.waitlist.models import WaitlistEntry, WaitlistPool, WaitlistStatus
from tests.support.gql import GraphQLClient
from tests.support.jobs import WorkerProcess, job_context
from tests.support.services import ServiceUrls
from tests.support.waitlist import cancel, join, sell_out, waitlisted_sale

UNITS = 8


async def test_cancels_expiries_and_two_workers_at_once_offer_each_unit_once(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=UNITS)
    orders = await sell_out(gql, sale, UNITS)
    entries = [
        (await join(gql, sale, email=f"w{i}@example.com"))["entry"]["id"] for i in range(UNITS + 2)
    ]
    async with state.db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ANY(:ids)"),
            {"ids": orders[: UNITS // 2]},
        )

    async with job_context(state) as ctx:
        await asyncio.gather(
            *(cancel(gql, sale, order_id) for order_id in orders[UNITS // 2 :]),
            expire_claims(ctx),
            serve_waitlists(state),
            serve_waitlists(state),
        )
    await asyncio.gather(serve_waitlists(state), serve_waitlists(state))

    async with state.db.read() as session:
        rows = list(
            await session.execute(
                select(WaitlistEntry.id, WaitlistEntry.status, WaitlistEntry.hold_id).order_by(
                    WaitlistEntry.sequence
                )
            )
        )
        holds = list(await session.scalars(select(Hold)))
        row = await session.scalar(select(Inventory))
        pool = await session.scalar(select(WaitlistPool.units))
    statuses = [r.status for r in rows]
    assert statuses == [WaitlistStatus.OFFERED] * UNITS + [WaitlistStatus.WAITING] * 2
    assert [str(r.id) for r in rows] == entries
    assert len({r.hold_id for r in rows[:UNITS]}) == UNITS == len(holds)
    assert sum(h.quantity for h in holds) == UNITS
    assert row is not None and (row.sold, row.reserved, row.held) == (0, 0, UNITS)
    assert pool == 0


@pytest.mark.slow
async def test_a_restarted_worker_makes_the_offers_it_missed(
    gql: GraphQLClient, state: AppState, services: ServiceUrls, tmp_path: Path, redis: Redis
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    [order_id] = await sell_out(gql, sale, 1)
    entry_id = (await join(gql, sale, email="patient@example.com"))["entry"]["id"]

    first = WorkerProcess(services, tmp_path, "first", job_timeout="4")
    try:
        await first.wait_serving(redis, queues.MAINTENANCE)
        first.kill()
    finally:
        first.stop()
    await cancel(gql, sale, order_id)
    # Whatever nudge the cancel queued is lost with the worker's queue.
    await redis.delete(queues.MAINTENANCE)

    second = WorkerProcess(services, tmp_path, "second", job_timeout="4")
    try:
        status = None
        for _ in range(300):
            async with state.db.read() as session:
                status = await session.scalar(
                    select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id)
                )
            if status is WaitlistStatus.OFFERED:
                break
            await asyncio.sleep(0.1)
    finally:
        assert second.stop() == 0, second.log_text()[-3000:]
    assert status is WaitlistStatus.OFFERED
    async with state.db.read() as session:
        assert len(list(await session.scalars(select(Hold)))) == 1
