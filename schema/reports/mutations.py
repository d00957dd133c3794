from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import run_mutation
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from schema.reports.types import Report, ReportKind, ReportPayload
from server.jobs.enqueue import enqueue_after_commit
from server.reports import service
from server.reports.jobs import build
from server.reports.models import Report as ReportModel


@strawberry.type
class ReportMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Ask for an orders CSV, an attendees CSV or a sales summary of an event.",
    )
    async def request_report(
        self,
        info: Info,
        event_id: strawberry.ID,
        kind: ReportKind,  # type: ignore[valid-type]
    ) -> ReportPayload:
        async def work(session: AsyncSession) -> ReportModel:
            report = await service.request_report(
                session, actor=info.context.actor, event_id=input_id(event_id, "eventId"), kind=kind
            )
            enqueue_after_commit(session, build, str(report.id), job_id=f"report:{report.id}")
            return report

        report, errors = await run_mutation(info, work)
        return ReportPayload(report=Report.from_model(report) if report else None, errors=errors)
