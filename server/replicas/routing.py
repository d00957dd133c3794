"""Where a replica-eligible read goes (`Database.run_read(work, replica=True)`).

A request settles its replica reads once (`ReadPin`): the caller's read-your-writes mark is
fetched on the first such read, one usable replica is chosen and kept for the rest of the
request (so its reads never go back in time), and once the request has opened a
transaction every later read goes to the primary. A replica that fails a read (stopped,
unreachable, shutting down, or cancelling the query for replay) costs the caller nothing:
the work runs again on the primary, which is why `work` must only read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.replicas.replica_set import (
    AS_OF_KEY,
    UNREACHABLE,
    Replica,
    ReplicaSet,
    note_read,
    primary_reasons,
)

if TYPE_CHECKING:
    from server.db import Database

T = TypeVar("T")


class ReadPin:
    """What one request's replica reads have settled on: the caller's mark (fetched once),
    the replica chosen, and whether the request has written (then the primary from there
    on). `on_replica_read` hears the position of each replica read (the response cache
    must not trust a tag bumped after it)."""

    __slots__ = ("need", "on_replica_read", "replica", "wrote")

    def __init__(self, on_replica_read: Callable[[int], None] | None = None) -> None:
        self.need: int | None = None
        self.replica: Replica | None = None
        self.wrote = False
        self.on_replica_read = on_replica_read


def replica_fault(exc: BaseException) -> str | None:
    """Why a read on a replica failed, if the replica is to blame: "down" (connection lost
    or refused, the server shutting down or starting), "conflict" (the query was cancelled
    so that replay could go on); None for an error of the query itself."""
    if isinstance(exc, OSError | TimeoutError):
        return "down"
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return "down"
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str):
        if code.startswith(("08", "57")):
            return "down"
        if code in ("40001", "40P01"):
            return "conflict"
    if isinstance(exc, InterfaceError | OperationalError):
        return "down"
    return None


async def routed_read(
    db: Database, replicas: ReplicaSet, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    target = await _replica_for(db, replicas)
    if target is None:
        return await _on_primary(db, work)
    position = target.position.clock if target.position is not None else -1
    try:
        async with target.sessionmaker() as session:
            session.info[AS_OF_KEY] = position
            result = await work(session)
    except (DBAPIError, OSError, TimeoutError) as exc:
        fault = replica_fault(exc)
        if fault is None:
            raise  # the query's own error: the primary would say the same
        if fault == "down":
            target.failed(exc)
        if db.pin is not None:
            db.pin.replica = None
        return await _on_primary(db, work, f"replica_{fault}")
    note_read(target.name)
    if db.pin is not None and db.pin.on_replica_read is not None:
        db.pin.on_replica_read(position)
    return result


async def _on_primary(
    db: Database, work: Callable[[AsyncSession], Awaitable[T]], reason: str | None = None
) -> T:
    async with db.sessionmaker() as session:
        result = await work(session)
    note_read("primary", reason)
    return result


async def _replica_for(db: Database, replicas: ReplicaSet) -> Replica | None:
    pin = db.pin
    if pin is not None and pin.wrote:
        note_read_reason = "wrote_in_request"
    elif pin is not None and pin.replica is not None:
        if pin.replica.up:
            return pin.replica
        note_read_reason = "replica_down"
    elif not replicas.any_usable():
        note_read_reason = "no_usable_replica"
    else:
        chosen = replicas.choose(await _caller_mark(db, replicas))
        if chosen is not None:
            if pin is not None:
                pin.replica = chosen
            return chosen
        note_read_reason = "caller_wrote_recently"
    primary_reasons.labels(note_read_reason).inc()
    return None


async def _caller_mark(db: Database, replicas: ReplicaSet) -> int:
    if db.caller is None:
        return 0
    pin = db.pin
    if pin is not None and pin.need is not None:
        return pin.need
    try:
        need = await replicas.marker(db.caller) or 0
    except Exception:  # Redis cannot say what the caller wrote: be safe
        need = UNREACHABLE
    if pin is not None:
        pin.need = need
    return need


async def fresh_read(
    db: Database, replicas: ReplicaSet, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """`work` on a replica whose position was sampled after this call began (so it has
    every commit made before it), waiting up to a few sampling intervals for one."""
    since = time.monotonic()
    deadline = since + 3 * replicas.poll_interval + 1.0
    target = replicas.choose_sampled_after(since)
    while target is None and time.monotonic() < deadline and replicas.any_usable():
        await asyncio.sleep(replicas.poll_interval / 2)
        target = replicas.choose_sampled_after(since)
    if target is not None:
        try:
            async with target.engine.connect() as conn:
                result = await work(conn)
        except (DBAPIError, OSError, TimeoutError) as exc:
            fault = replica_fault(exc)
            if fault is None:
                raise
            if fault == "down":
                target.failed(exc)
        else:
            note_read(target.name)
            return result
    async with db.engine.connect() as conn:
        result = await work(conn)
    note_read("primary", "no_fresh_replica" if target is None else "replica_failed")
    return result
