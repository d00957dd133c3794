"""A row to cache (an organization's name, read from PostgreSQL) and a second Database
whose commit steps a test can pause, to place a reader at an exact moment of a write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from server.app_state import AppState
from server.cache import InvalidateTags, TaggedCache
from server.db import Database, after_commit
from server.effects import EffectRunner
from server.ids import new_id
from server.organizations.models import Organization
from tests.support.services import ServiceUrls


@pytest.fixture
def cache(redis: Redis) -> TaggedCache:
    return TaggedCache(redis)


@pytest.fixture
async def org_id(db: Database) -> uuid.UUID:
    async with db.transaction() as session:
        org = Organization(id=new_id(), name="v0", slug=f"org-{uuid.uuid4().hex[:8]}")
        session.add(org)
    return org.id


def tag_of(org_id: uuid.UUID) -> str:
    return f"organization:{org_id}"


async def read_name(db: Database, org_id: uuid.UUID) -> str:
    async with db.read() as session:
        name = await session.scalar(select(Organization.name).where(Organization.id == org_id))
    assert name is not None
    return name


async def rename(db: Database, org_id: uuid.UUID, name: str) -> None:
    """A write the way services do it: change the row, record the invalidation."""
    async with db.transaction() as session:
        await session.execute(
            update(Organization).where(Organization.id == org_id).values(name=name)
        )
        after_commit(session, InvalidateTags({tag_of(org_id)}))


@dataclass
class Gate:
    """Stops a writer at one step until the test lets it go."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def pass_through(self) -> None:
        self.reached.set()
        await self.release.wait()


@dataclass
class GatedWriter:
    db: Database
    before_commit: Gate = field(default_factory=Gate)  # after the marks, before COMMIT
    after_commit: Gate = field(default_factory=Gate)  # after COMMIT, before the release
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self.tasks.append(task)
        return task


@pytest.fixture
async def gated(services: ServiceUrls, state: AppState) -> AsyncIterator[GatedWriter]:
    db = Database(services.database_url, pool_size=2, max_overflow=0)
    writer = GatedWriter(db)
    runner = EffectRunner(AppState(settings=state.settings, db=db, redis=state.redis))
    runner.install(db)

    def wrap_after(
        step: Callable[[list[object]], Awaitable[None]], gate: Gate
    ) -> Callable[[list[object]], Awaitable[None]]:
        async def wrapped(effects: list[object]) -> None:
            await step(effects)
            await gate.pass_through()

        return wrapped

    def wrap_before(
        step: Callable[[list[object]], Awaitable[None]], gate: Gate
    ) -> Callable[[list[object]], Awaitable[None]]:
        async def wrapped(effects: list[object]) -> None:
            await gate.pass_through()
            await step(effects)

        return wrapped

    db.before_commit_handler = wrap_after(runner.before_commit, writer.before_commit)
    db.effect_handler = wrap_before(runner, writer.after_commit)
    try:
        yield writer
    finally:
        # A failed assertion can leave the writer waiting at a gate: let it finish.
        writer.before_commit.release.set()
        writer.after_commit.release.set()
        await asyncio.gather(*writer.tasks, return_exceptions=True)
        await db.dispose()
