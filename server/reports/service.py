"""Reports: managers ask for one, the reports worker builds it, managers download it."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.auth.actor import Actor
from server.db import Database
from server.events.errors import EventNotFound
from server.events.models import Event
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.reports import builders
from server.reports.errors import ReportNotFound
from server.reports.models import Report, ReportKind, ReportStatus
from server.storage import Storage

log = structlog.get_logger("eventapi.reports")


async def _event_organization(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, permission: Permission
) -> uuid.UUID:
    """The event's organization, once the actor holds `permission` there; outsiders get
    the same EventNotFound as for an event that does not exist."""
    organization_id = await session.scalar(
        select(Event.organization_id).where(Event.id == event_id)
    )
    if organization_id is None:
        raise EventNotFound(field="eventId")
    await authorize(
        session, actor, organization_id, permission, not_found=EventNotFound(field="eventId")
    )
    return organization_id


async def request_report(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, kind: ReportKind
) -> Report:
    """Queue a report (the caller enqueues the build after commit)."""
    organization_id = await _event_organization(session, actor, event_id, Permission.REPORTS_WRITE)
    report = Report(
        id=new_id(),
        organization_id=organization_id,
        event_id=event_id,
        kind=kind,
        status=ReportStatus.QUEUED,
        requested_by_id=actor.user_id,
    )
    session.add(report)
    await session.flush()
    return report


async def get_report(session: AsyncSession, *, actor: Actor, report_id: uuid.UUID) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise ReportNotFound(field="id")
    await authorize(
        session,
        actor,
        report.organization_id,
        Permission.REPORTS_READ,
        not_found=ReportNotFound(field="id"),
    )
    return report


async def list_reports(session: AsyncSession, *, actor: Actor, event_id: uuid.UUID) -> list[Report]:
    await _event_organization(session, actor, event_id, Permission.REPORTS_READ)
    rows = await session.scalars(
        select(Report)
        .where(Report.event_id == event_id)
        .order_by(Report.created_at.desc())
        .limit(50)
    )
    return list(rows)


def _scratch_file(work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=work_dir, prefix=".report-", suffix=".csv")
    os.close(fd)
    return Path(name)


async def build_report(
    db: Database, storage: Storage, *, report_id: uuid.UUID, work_dir: Path, now: datetime
) -> bool:
    """Build a queued (or interrupted) report. Safe to run again: a finished report is left
    alone, and an interrupted one starts over and replaces its file."""
    async with db.transaction() as session:
        report = await session.get(Report, report_id, with_for_update=True)
        if report is None or report.status is ReportStatus.DONE:
            return False
        report.status, report.started_at, report.rows_done, report.error = (
            ReportStatus.RUNNING,
            now,
            0,
            None,
        )
        kind, event_id, org = report.kind, report.event_id, report.organization_id

    async def progress(rows: int) -> None:
        async with db.transaction() as session:
            await session.execute(
                update(Report).where(Report.id == report_id).values(rows_done=rows)
            )

    async def build(conn: AsyncConnection) -> int:
        total = await builders.count_rows(conn, kind, event_id)
        async with db.transaction() as session:
            await session.execute(
                update(Report).where(Report.id == report_id).values(rows_total=total)
            )
        return await builders.write_csv(conn, kind, event_id, target, progress)

    target = await asyncio.to_thread(_scratch_file, work_dir)
    try:
        # A replica that has every order committed before the report was asked for.
        written = await db.run_fresh_read(build)
        size = (await asyncio.to_thread(target.stat)).st_size
        key = f"reports/{org}/{report_id}.csv"
        await storage.put_file(key, target, content_type="text/csv")
    except Exception as error:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        async with db.transaction() as session:
            await session.execute(
                update(Report)
                .where(Report.id == report_id)
                .values(status=ReportStatus.FAILED, error=type(error).__name__, finished_at=now)
            )
        raise
    async with db.transaction() as session:
        await session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(
                status=ReportStatus.DONE,
                rows_done=written,
                rows_total=written,
                storage_key=key,
                content_type="text/csv; charset=utf-8",
                size=size,
                finished_at=now,
            )
        )
    log.info("report built", report_id=str(report_id), kind=kind.value, rows=written, bytes=size)
    return True
