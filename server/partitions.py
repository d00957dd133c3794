"""Keeping the partitioned tables partitioned ahead of time.

`orders` and `tickets` are partitioned by month of their UUIDv7 id (docs/partitioning.md);
a row whose month has no partition lands in the table's default partition, where it stays
correct but is scanned by every query. A daily job (and one at worker start) creates the
partitions of this month and the next MONTHS_AHEAD, through the SQL function the
migration installed; creating them twice is a no-op."""

from __future__ import annotations

import structlog
from sqlalchemy import text

from server.db import Database
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.registry import cron

log = structlog.get_logger("eventapi.partitions")

PARTITIONED_TABLES = ("orders", "tickets")
MONTHS_AHEAD = 3
ENSURE = text("SELECT eventapi_ensure_monthly_partitions(CAST(:table AS regclass), :ahead)")


async def ensure_partitions(db: Database, *, months_ahead: int = MONTHS_AHEAD) -> dict[str, int]:
    """Create the missing partitions of this month and the next `months_ahead`; returns
    how many were created per table."""
    created: dict[str, int] = {}
    for table in PARTITIONED_TABLES:
        async with db.transaction() as session:
            count = await session.scalar(ENSURE, {"table": table, "ahead": months_ahead})
        created[table] = int(count or 0)
    if any(created.values()):
        log.info("partitions created", **created)
    return created


@cron(
    queue=queues.MAINTENANCE,
    name="partitions.ensure",
    hour={3},
    minute={7},
    second=0,
    run_at_startup=True,
)
async def ensure_partitions_job(ctx: JobContext) -> dict[str, int]:
    return await ensure_partitions(ctx.db)
