"""The rollup of settled facts: folding never changes an answer, facts after the mark are
read live, each fact is counted once however folds and writes interleave, and a
transaction that began before the fold holds the mark back."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select, text

from server.analytics.figures import Figures
from server.analytics.jobs import fold_event_analytics
from server.analytics.models import AnalyticsMark
from server.analytics.results import Interval
from server.analytics.rollup import MARGIN
from server.app_state import AppState
from server.clock import utcnow
from server.config import Settings
from server.jobs import queues
from tests.schema.tickets.helpers import check_in, my_tickets
from tests.support import commerce, factories
from tests.support.analytics import (
    analytics,
    busy_sale,
    cents,
    figures,
    fold_now,
    pay,
    refund,
    rollup_rows,
)
from tests.support.gql import GraphQLClient
from tests.support.jobs import job_context, run_jobs


async def test_folding_changes_no_answer_and_later_facts_are_read_live(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    busy = await busy_sale(gql, client)
    sale = busy.sale
    live = await analytics(gql, sale)
    one_date = await analytics(gql, sale, sale.occurrence_ids[1])

    folded = await fold_now(state.db, sale.event_id)
    assert folded is not None and folded.since is None and folded.hours >= 1
    assert await analytics(gql, sale) == live
    assert await analytics(gql, sale, sale.occurrence_ids[1]) == one_date

    # After the mark: a new paid order, a refund of an order paid before it, a check-in.
    later = await pay(gql, client, sale, busy.buyer, 2, occurrenceId=sale.occurrence_ids[1])
    await refund(gql, sale, busy.paid[0]["id"], 700)
    tickets = [t for t in await my_tickets(gql, busy.buyer) if t["event"]["id"] == sale.event_id]
    unused = next(t for t in tickets if t["status"] == "VALID")
    assert (await check_in(gql, unused["qrCode"], token=busy.owner))["errors"] == []

    now = await analytics(gql, sale)
    assert now["ordersConfirmed"] == live["ordersConfirmed"] + 1
    assert now["ticketsSold"] == live["ticketsSold"] + 2
    assert now["checkedIn"] == live["checkedIn"] + 1
    assert cents(now["gross"]["amount"]) == cents(live["gross"]["amount"]) + 5000
    assert cents(now["fees"]["amount"]) == cents(live["fees"]["amount"]) + cents(
        later["fees"]["amount"]
    )
    assert cents(now["refunds"]["amount"]) == cents(live["refunds"]["amount"]) + 700
    assert sum(p["orders"] for p in now["daily"]) == sum(p["orders"] for p in live["daily"]) + 1
    assert sum(p["checkIns"] for p in now["checkIns"]) == now["checkedIn"]
    assert _numbers(await figures(state.db, sale.event_id)) == _numbers(
        await figures(state.db, sale.event_id, rollup=False)
    )

    # Folding again settles them; with nothing new, a fold writes the same rows.
    again = await fold_now(state.db, sale.event_id)
    assert again is not None and again.since == folded.mark
    assert await analytics(gql, sale) == now
    rows = await rollup_rows(state.db, sale.event_id)
    await fold_now(state.db, sale.event_id)
    assert await rollup_rows(state.db, sale.event_id) == rows
    assert await analytics(gql, sale) == now


def _numbers(found: Figures) -> tuple[object, ...]:
    return (found.summary(), found.sales(Interval.HOUR), found.check_ins(Interval.HOUR))


async def test_concurrent_folds_and_reads_count_each_fact_once(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    """Folds race each other and reads (writes come in waves between them: facts racing
    a fold are the margin's business, tested on their own below)."""
    sale = await commerce.sale(gql, quantity=200, dates=2)
    buyers = [await factories.register(gql) for _ in range(4)]

    async def buy(n: int) -> None:
        buyer = buyers[n % len(buyers)]
        dates = sale.occurrence_ids
        order = await pay(gql, client, sale, buyer, 1 + n % 3, occurrenceId=dates[n % 2])
        if n % 4 == 0:
            await refund(gql, sale, order["id"], 300)

    for wave in range(3):
        await asyncio.gather(*(buy(wave * 8 + n) for n in range(8)))
        truth = await figures(state.db, sale.event_id, rollup=False)
        results = await asyncio.gather(
            *(fold_now(state.db, sale.event_id) for _ in range(3)),
            *(figures(state.db, sale.event_id) for _ in range(3)),
            analytics(gql, sale),
        )
        folded = [r for r in results[:3] if r is not None]
        assert folded, "at least one fold moved the mark"
        for found in results[3:6]:
            assert _numbers(found) == _numbers(truth)  # type: ignore[arg-type]
        assert results[6]["ordersConfirmed"] == truth.summary().orders_confirmed  # type: ignore[index]
        assert _numbers(await figures(state.db, sale.event_id)) == _numbers(truth)

    summary = truth.summary()
    assert summary.orders_confirmed == 24
    assert summary.tickets_sold == sum(1 + n % 3 for n in range(24))
    assert summary.refunds == 6 * 300


async def test_a_transaction_that_began_before_the_fold_holds_the_mark_back(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    await pay(gql, client, sale, buyer, 1)
    [ticket] = [t for t in await my_tickets(gql, buyer) if t["event"]["id"] == sale.event_id]
    ticket_id = uuid.UUID(str(ticket["id"]))

    async with state.db.engine.connect() as late:
        begun = await late.scalar(text("SELECT now()"))  # its transaction has begun
        folded = await fold_now(state.db, sale.event_id)
        assert folded is not None
        # A fact dated when that transaction began, committed after the fold.
        await late.execute(
            text(
                "INSERT INTO check_ins (id, ticket_id, occurrence_id, organization_id, at) "
                "SELECT gen_random_uuid(), id, occurrence_id, organization_id, now() "
                "FROM tickets WHERE id = :t"
            ),
            {"t": ticket_id},
        )
        await late.commit()

    assert (await analytics(gql, sale))["checkedIn"] == 1  # read live: dated after the mark
    assert folded.mark <= begun
    assert await fold_now(state.db, sale.event_id) is not None
    data = await analytics(gql, sale)
    assert data["checkedIn"] == 1 and [p["checkIns"] for p in data["checkIns"]] == [1]


async def test_a_read_asks_the_worker_for_a_fold_that_keeps_the_answer(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState, settings: Settings
) -> None:
    busy = await busy_sale(gql, client)
    event_id = uuid.UUID(busy.sale.event_id)
    answer = await analytics(gql, busy.sale)  # no mark yet: asks for a fold
    await run_jobs(settings, state.redis, only=[queues.MAINTENANCE])
    async with state.db.read() as session:
        mark = await session.scalar(
            select(AnalyticsMark.folded_before).where(AnalyticsMark.event_id == event_id)
        )
    assert mark is not None and mark <= utcnow() - MARGIN
    assert await analytics(gql, busy.sale) == answer

    # The job re-checks: an event deleted meanwhile is nothing to fold.
    async with job_context(state) as ctx:
        assert await fold_event_analytics(ctx, str(uuid.uuid4())) is None
