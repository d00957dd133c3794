from __future__ import annotations

import uuid

from server.clock import utcnow
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.registry import task
from server.reports.service import build_report
from server.storage import storage_for


@task(queue=queues.REPORTS, name="reports.build", max_tries=3, timeout=3600, retry_delay=30.0)
async def build(ctx: JobContext, report_id: str) -> bool:
    settings = ctx.settings
    return await build_report(
        ctx.db,
        storage_for(settings),
        report_id=uuid.UUID(report_id),
        work_dir=settings.data_dir / "assets" / "reports",
        now=utcnow(),
    )
