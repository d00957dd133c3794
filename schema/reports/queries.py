from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query, run_query_or_none
from schema.permissions import IsAuthenticated
from schema.reports.types import Report
from server.reports.service import get_report, list_reports


@strawberry.type
class ReportQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A report and its progress (managers of its organization).",
    )
    async def report(self, info: Info, id: strawberry.ID) -> Report | None:
        report_id = require_id(id)
        found = await run_query_or_none(
            info, lambda s: get_report(s, actor=info.context.actor, report_id=report_id)
        )
        return Report.from_model(found) if found else None

    @strawberry.field(
        permission_classes=[IsAuthenticated], description="An event's recent reports, newest first."
    )
    async def reports(self, info: Info, event_id: strawberry.ID) -> list[Report]:
        event = require_id(event_id, "eventId")
        rows = await run_query(
            info, lambda s: list_reports(s, actor=info.context.actor, event_id=event), replica=True
        )
        return [Report.from_model(r) for r in rows]
