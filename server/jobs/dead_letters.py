"""Recording jobs that gave up, so nothing fails silently."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database
from server.ids import new_id
from server.jobs import metrics
from server.jobs.models import JobDeadLetter

log = structlog.get_logger("eventapi.jobs")


def _fallback(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return str(value)


def _jsonable(value: Any) -> Any:
    """Job arguments as JSON (dataclasses as objects, bytes as their length, anything else
    JSON cannot hold as its string form)."""
    return orjson.loads(orjson.dumps(value, default=_fallback, option=orjson.OPT_NON_STR_KEYS))


async def record_dead_letter(
    db: Database,
    *,
    queue: str,
    function: str,
    job_id: str | None,
    args: Any,
    kwargs: Any,
    error: str,
    tries: int,
) -> None:
    """Write the dead letter in its own transaction. Never raises: the job has already
    failed, and a failure to record it is logged instead."""
    metrics.dead_letters.labels(queue.split(":", 1)[-1], function).inc()
    try:
        async with db.transaction() as session:
            session.add(
                JobDeadLetter(
                    id=new_id(),
                    queue=queue,
                    function=function,
                    job_id=job_id,
                    arguments={"args": _jsonable(list(args)), "kwargs": _jsonable(dict(kwargs))},
                    error=error,
                    tries=tries,
                )
            )
    except Exception:
        log.exception("could not record a dead letter", function=function, job_id=job_id)


async def list_dead_letters(
    session: AsyncSession, *, function: str | None = None, limit: int = 100
) -> list[JobDeadLetter]:
    query = select(JobDeadLetter).order_by(JobDeadLetter.created_at.desc()).limit(limit)
    if function is not None:
        query = query.where(JobDeadLetter.function == function)
    return list(await session.scalars(query))
