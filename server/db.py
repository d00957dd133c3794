"""Engine, session factory and the declarative base.

Services receive an `AsyncSession` that is already inside a transaction and never commit on
their own; the caller (a resolver, a job, a REST handler) owns the transaction through
`Database.transaction()`. Read paths that run concurrently (DataLoader batches, sibling
resolvers) each open their own short session through `Database.read()`, because one
`AsyncSession` cannot serve two tasks at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum, MetaData, func
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def pg_enum(cls: type[StrEnum], name: str) -> Enum:
    """A PostgreSQL enum type named `name` holding the members' values (lower case), not
    their Python names."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    """`updated_at` is maintained by the `set_updated_at` trigger (see migrations)."""

    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


EFFECTS_KEY = "eventapi.after_commit"
EffectHandler = Callable[[list[object]], Awaitable[None]]


DATABASE_KEY = "eventapi.database"
EARLY_KEY = "eventapi.before_commit_done"


async def before_locks(session: AsyncSession, effect: object) -> None:
    """Record `effect` and run its before-commit step now rather than at COMMIT.

    For a transaction about to lock a contended row (an inventory row in a flash sale):
    the step (a Redis round trip for the tagged cache) then does not lengthen the time
    every other buyer waits for that lock. Doing it earlier is as correct as doing it
    just before COMMIT: either way it precedes the commit. Its after-commit step, and the
    undo on rollback, run as for any effect."""
    database = session.info.get(DATABASE_KEY)
    handler = database.before_commit_handler if isinstance(database, Database) else None
    if handler is not None:
        session.info.setdefault(EARLY_KEY, []).append(effect)
        await handler([effect])
    after_commit(session, effect)


def after_commit(session: AsyncSession, effect: object) -> None:
    """Record a side effect (cache eviction, live update, queue nudge) to perform once the
    session's transaction has committed; a rolled-back transaction performs none. Effects
    are plain objects; the app's effect handler (server.effects) knows what each means."""
    session.info.setdefault(EFFECTS_KEY, []).append(effect)


class Database:
    effect_handler: EffectHandler | None = None
    # Some effects must also act before the commit: the tagged cache (server.cache) marks
    # the tags being changed just before COMMIT, because an after-commit step alone leaves
    # a window, between the commit and that step, in which a cache could still serve what
    # the transaction replaced. `rollback_handler` undoes the step when no commit follows.
    before_commit_handler: EffectHandler | None = None
    rollback_handler: EffectHandler | None = None

    def __init__(self, url: str, *, pool_size: int = 20, max_overflow: int = 20) -> None:
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=15,
            pool_recycle=1800,
            connect_args={"server_settings": {"application_name": "eventapi"}},
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back on any exception.
        The recorded effects get their before-commit step just before COMMIT and run
        after it; a rollback (or a failed commit) runs only the undo of that step."""
        async with self.sessionmaker() as session:
            session.info[DATABASE_KEY] = self
            prepared: list[object] | None = None
            try:
                async with session.begin():
                    yield session
                    pending = session.info.get(EFFECTS_KEY)
                    early = session.info.get(EARLY_KEY, [])
                    if pending and self.before_commit_handler is not None:
                        prepared = list(pending)
                        late = [e for e in prepared if not any(e is x for x in early)]
                        if late:
                            await self.before_commit_handler(late)
            except BaseException:
                session.info.pop(EFFECTS_KEY, None)
                early = session.info.pop(EARLY_KEY, [])
                undo = (prepared or []) + [
                    e for e in early if not any(e is x for x in prepared or [])
                ]
                if undo and self.rollback_handler is not None:
                    await self.rollback_handler(undo)
                raise
        effects = session.info.pop(EFFECTS_KEY, None)
        if effects and self.effect_handler is not None:
            await self.effect_handler(effects)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
