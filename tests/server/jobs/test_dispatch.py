"""The outbox dispatcher: consumers see each event once and in order, a failing consumer
is dead-lettered without holding up the outbox, dispatchers running side by side share
the work and keep each organization's order, and commits nudge the dispatcher."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, text

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.jobs import queues
from server.jobs.consumers import ConsumerContext, register_consumer, unregister_consumer
from server.jobs.dispatch import dispatch_outbox
from server.jobs.enqueue import enqueue_after_commit
from server.jobs.models import JobDeadLetter
from server.outbox.models import OutboxEvent
from server.outbox.service import emit
from tests.server.jobs import tasks
from tests.support import factories
from tests.support.gql import GraphQLClient
from tests.support.jobs import emitted_id, run_jobs

Seen = list[tuple[str, str, int]]  # (event type, organization id, sequence)


@pytest.fixture
def seen() -> Iterator[Seen]:
    calls: Seen = []

    async def record(ctx: ConsumerContext, event: OutboxEvent) -> None:
        calls.append((event.event_type, str(event.organization_id), event.sequence))

    register_consumer("*", record)
    yield calls
    unregister_consumer("*", record)


async def emit_events(db: Database, organization_id: str | None, *types: str) -> list[str]:
    ids = []
    for event_type in types:
        async with db.transaction() as session:
            event = await emit(
                session,
                event_type,
                organization_id=uuid.UUID(organization_id) if organization_id else None,
                payload={"i": len(ids)},
            )
            ids.append(emitted_id(event))
    return ids


async def undispatched(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
    return int(count or 0)


async def test_consumers_get_each_event_once_in_sequence_order(
    gql: GraphQLClient, state: AppState, db: Database, seen: Seen
) -> None:
    org = await factories.create_org(gql)
    await emit_events(db, org.id, "order.created", "order.confirmed")
    await emit_events(db, None, "system.tick")

    assert await dispatch_outbox(state) == 3
    assert await dispatch_outbox(state) == 0

    assert [(t, o) for t, o, _ in seen] == [
        ("order.created", org.id),
        ("order.confirmed", org.id),
        ("system.tick", "None"),
    ]
    assert [s for _, _, s in seen] == sorted(s for _, _, s in seen)
    assert await undispatched(db) == 0


async def test_a_failing_consumer_is_dead_lettered_and_the_outbox_moves_on(
    gql: GraphQLClient, state: AppState, db: Database, redis: Redis, seen: Seen
) -> None:
    org = await factories.create_org(gql)

    async def broken(ctx: ConsumerContext, event: OutboxEvent) -> None:
        # What it did before failing is undone: a row write and an enqueue.
        await ctx.session.execute(
            text("UPDATE organizations SET name = 'changed' WHERE id = :id"),
            {"id": event.organization_id},
        )
        enqueue_after_commit(ctx.session, tasks.mark, "from-broken")
        raise RuntimeError("consumer bug")

    register_consumer("order.created", broken)
    try:
        [event_id] = await emit_events(db, org.id, "order.created")
        assert await dispatch_outbox(state) == 1
    finally:
        unregister_consumer("order.created", broken)

    assert [t for t, _, _ in seen] == ["order.created"]  # the other consumer still ran
    assert await undispatched(db) == 0
    async with db.read() as session:
        [letter] = list(await session.scalars(select(JobDeadLetter)))
        name = await session.scalar(
            text("SELECT name FROM organizations WHERE id = :id"), {"id": org.id}
        )
    assert letter.queue == "outbox"
    assert letter.function.endswith("broken")
    assert letter.job_id == event_id
    assert letter.error == "RuntimeError: consumer bug"
    assert name != "changed"
    assert await redis.zcard(tasks.QUEUE) == 0


async def test_consumer_enqueues_happen_after_the_dispatch_commits(
    gql: GraphQLClient, state: AppState, db: Database, redis: Redis, settings: Settings
) -> None:
    org = await factories.create_org(gql)

    async def on_confirmed(ctx: ConsumerContext, event: OutboxEvent) -> None:
        enqueue_after_commit(ctx.session, tasks.mark, f"confirmed-{event.payload['i']}")

    register_consumer("order.confirmed", on_confirmed)
    try:
        await emit_events(db, org.id, "order.confirmed", "order.confirmed")
        await dispatch_outbox(state)
    finally:
        unregister_consumer("order.confirmed", on_confirmed)

    await run_jobs(settings, redis, only=[tasks.QUEUE])
    assert await redis.get("test:confirmed-0:runs") == b"1"
    assert await redis.get("test:confirmed-1:runs") == b"1"


async def test_dispatchers_side_by_side_share_the_work_and_keep_each_organizations_order(
    gql: GraphQLClient, state: AppState, db: Database, seen: Seen
) -> None:
    orgs = [await factories.create_org(gql) for _ in range(3)]
    for round_ in range(15):
        for org in orgs:
            await emit_events(db, org.id, f"order.n{round_}")

    counts = await asyncio.gather(*(dispatch_outbox(state, batch_size=4) for _ in range(4)))
    counts = [*counts, await dispatch_outbox(state)]  # whatever a dispatcher left to another

    assert sum(counts) == 45
    assert len(seen) == 45
    assert len({s for _, _, s in seen}) == 45
    for org in orgs:
        sequences = [s for _, o, s in seen if o == org.id]
        assert sequences == sorted(sequences)
        assert len(sequences) == 15


async def test_commits_that_append_to_the_outbox_nudge_one_dispatcher(
    gql: GraphQLClient, state: AppState, db: Database, redis: Redis, settings: Settings, seen: Seen
) -> None:
    org = await factories.create_org(gql)

    await emit_events(db, org.id, *["order.created"] * 5)

    assert await redis.zcard(queues.MAINTENANCE) == 1  # five nudges, one queued job
    await run_jobs(settings, redis, only=[queues.MAINTENANCE])
    assert len(seen) == 5
    assert await undispatched(db) == 0

    await emit_events(db, org.id, "order.cancelled")
    assert await redis.zcard(queues.MAINTENANCE) == 1  # the next commit nudges again
    await run_jobs(settings, redis, only=[queues.MAINTENANCE])
    assert [t for t, _, _ in seen][-1] == "order.cancelled"


async def test_a_rolled_back_emit_dispatches_nothing(
    gql: GraphQLClient, state: AppState, db: Database, redis: Redis, seen: Seen
) -> None:
    org = await factories.create_org(gql)
    try:
        async with db.transaction() as session:
            await emit(session, "order.created", organization_id=uuid.UUID(org.id), payload={})
            raise RuntimeError("abort")
    except RuntimeError:
        pass

    assert await redis.zcard(queues.MAINTENANCE) == 0
    assert await dispatch_outbox(state) == 0
    assert seen == []
