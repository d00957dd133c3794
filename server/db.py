"""Engine, session factory and the declarative base.

Services receive an `AsyncSession` that is already inside a transaction and never commit on
their own; the caller (a resolver, a job, a REST handler) owns the transaction through
`Database.transaction()`. Read paths that run concurrently (DataLoader batches, sibling
resolvers) each open their own short session through `Database.read()`, because one
`AsyncSession` cannot serve two tasks at once.

Read-heavy work that a streaming replica may serve goes through `Database.run_read(work,
replica=True)`: a replica that is current enough for the caller runs it, else the primary
(server.replicas, docs/scale.md). A request works on its own view of the database,
`Database.for_caller(scope)`, which remembers whose writes its reads must see.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import DateTime, Enum, MetaData, event, func
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.ids import new_id
from server.replicas import routing
from server.replicas.replica_set import AS_OF_KEY, ReplicaSet
from server.replicas.routing import ReadPin
from server.unavailable import POSTGRES_UNREACHABLE, DatabaseUnreachable

if TYPE_CHECKING:
    from server.config import Settings

T = TypeVar("T")

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


class WroteAs:
    """After-commit effect: the commit was made for `scope` (a caller), whose next reads
    must see it; server.replicas.positions records the mark."""

    __slots__ = ("scope",)

    def __init__(self, scope: str) -> None:
        self.scope = scope


def note_writer(session: AsyncSession, scope: str) -> None:
    """Make the transaction count as a write by `scope` too: for a change that someone
    other than the caller must see at once (a member removed, a batch of several buyers'
    orders committed together). Without replicas it costs nothing."""
    database = session.info.get(DATABASE_KEY)
    if isinstance(database, Database) and database.replicas is not None:
        after_commit(session, WroteAs(scope))


def replica_position(session: AsyncSession) -> int | None:
    """For a session reading a replica: the write-clock value its data is complete up to
    (a cache filled from it may only trust tags bumped no later). None on the primary."""
    value = session.info.get(AS_OF_KEY)
    return value if isinstance(value, int) else None


def make_engine(
    url: str, *, pool_size: int, max_overflow: int, transaction_pooling: bool = False
) -> AsyncEngine:
    connect_args: dict[str, Any] = {"server_settings": {"application_name": "eventapi"}}
    if transaction_pooling:
        # Behind a transaction pooler consecutive transactions may run on different server
        # connections: nothing prepared may be reused across them (PgBouncer discards what
        # is left with `server_reset_query_always`). SQLAlchemy still prepares each
        # statement under a name, so make the names unique.
        connect_args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=lambda: f"__asyncpg_{uuid.uuid4().hex}__",
        )
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=15,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_unreachable)
    return engine


# What opening a connection raises when the server is not there to take it: a socket
# error (refused, reset, no such socket, no route, name not resolved), a timeout, or
# PostgreSQL's own refusal (starting, stopping, out of slots).
CONNECT_FAILURES: tuple[type[BaseException], ...] = (OSError, TimeoutError, *POSTGRES_UNREACHABLE)


def _connect_or_unreachable(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """The pool's connect, with a server that cannot be reached raised as
    `DatabaseUnreachable` (answered 503, see server.unavailable) rather than as whatever
    socket error the driver met."""
    try:
        return dialect.connect(*cargs, **cparams)
    except CONNECT_FAILURES as exc:
        raise DatabaseUnreachable(f"PostgreSQL cannot be reached: {exc!r}") from exc


class Database:
    effect_handler: EffectHandler | None = None
    # Some effects must also act before the commit: the tagged cache (server.cache) marks
    # the tags being changed just before COMMIT, because an after-commit step alone leaves
    # a window, between the commit and that step, in which a cache could still serve what
    # the transaction replaced. `rollback_handler` undoes the step when no commit follows.
    before_commit_handler: EffectHandler | None = None
    rollback_handler: EffectHandler | None = None

    # The read-your-writes scope of a request's view (`for_caller`); None for jobs.
    caller: str | None = None
    pin: ReadPin | None = None

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 20,
        transaction_pooling: bool = False,
        replica_urls: list[str] | None = None,
        replica_max_lag: float = 5.0,
        replica_poll_interval: float = 0.5,
    ) -> None:
        self.engine: AsyncEngine = make_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            transaction_pooling=transaction_pooling,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.replicas: ReplicaSet | None = None
        if replica_urls:
            self.replicas = ReplicaSet(
                replica_urls,
                lambda replica_url: make_engine(
                    replica_url,
                    pool_size=pool_size,
                    max_overflow=max_overflow,
                    transaction_pooling=transaction_pooling,
                ),
                max_lag=replica_max_lag,
                poll_interval=replica_poll_interval,
            )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, pool_size: int | None = None, max_overflow: int | None = None
    ) -> Database:
        assert settings.database_url
        return cls(
            settings.database_url,
            pool_size=settings.db_pool_size if pool_size is None else pool_size,
            max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
            transaction_pooling=settings.database_transaction_pooling,
            replica_urls=settings.database_replica_urls,
            replica_max_lag=settings.replica_max_lag,
            replica_poll_interval=settings.replica_poll_interval,
        )

    def for_caller(
        self, scope: str | None, *, on_replica_read: Callable[[int], None] | None = None
    ) -> Database:
        """A request's view: the same engines and handlers; its transactions mark `scope`
        as having written, and its replica reads see what `scope` wrote."""
        view = copy.copy(self)
        view.caller = scope
        view.pin = ReadPin(on_replica_read)
        return view

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back on any exception.
        The recorded effects get their before-commit step just before COMMIT and run
        after it; a rollback (or a failed commit) runs only the undo of that step."""
        if self.pin is not None:
            self.pin.wrote = True
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
        if self.caller is not None and self.replicas is not None:
            effects = [*(effects or ()), WroteAs(self.caller)]
        if effects and self.effect_handler is not None:
            await self.effect_handler(effects)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def run_read(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, replica: bool = False
    ) -> T:
        """Run a read-only `work` in a session of its own. With `replica`, a streaming
        replica may serve it (server.replicas.routing): one that is up, within
        REPLICA_MAX_LAG, and has replayed the caller's last write; if it fails, the work
        runs again on the primary. Every read inside a mutation stays on the primary."""
        if replica and self.replicas is not None:
            return await routing.routed_read(self, self.replicas, work)
        async with self.sessionmaker() as session:
            return await work(session)

    async def run_fresh_read(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """For background work that reads a lot (report files): on a replica that has
        replayed every commit made before this call (waiting a moment for one to), else
        on the primary; a replica failing mid-way means starting over on the primary."""
        if self.replicas is not None:
            return await routing.fresh_read(self, self.replicas, work)
        async with self.engine.connect() as conn:
            return await work(conn)

    async def start(self, redis: Any) -> None:
        """Start watching the replicas (the app's and the worker's lifespan)."""
        if self.replicas is not None:
            await self.replicas.start(self.engine, redis)

    async def dispose(self) -> None:
        if self.replicas is not None:
            await self.replicas.stop()
        await self.engine.dispose()
