from __future__ import annotations

from datetime import datetime

import strawberry

from schema.errors import UserError
from server.reports.models import Report as ReportModel
from server.reports.models import ReportKind as ReportKindModel
from server.reports.models import ReportStatus as ReportStatusModel

ReportKind = strawberry.enum(ReportKindModel, name="ReportKind")
ReportStatus = strawberry.enum(ReportStatusModel, name="ReportStatus")


@strawberry.type(description="A report file the reports worker builds; poll it for progress.")
class Report:
    id: strawberry.ID
    event_id: strawberry.ID
    kind: ReportKind  # type: ignore[valid-type]
    status: ReportStatus  # type: ignore[valid-type]
    rows_done: int
    rows_total: int | None
    progress: float = strawberry.field(description="0 to 1 while running; 1 when done.")
    size: int | None
    error: str | None
    download_url: str | None = strawberry.field(description="GET with your credentials, once done.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(cls, model: ReportModel) -> Report:
        done = model.status is ReportStatusModel.DONE
        if done:
            progress = 1.0
        elif model.rows_total:
            progress = min(1.0, model.rows_done / model.rows_total)
        else:
            progress = 0.0
        return cls(
            id=strawberry.ID(str(model.id)),
            event_id=strawberry.ID(str(model.event_id)),
            kind=model.kind,
            status=model.status,
            rows_done=model.rows_done,
            rows_total=model.rows_total,
            progress=progress,
            size=model.size,
            error=model.error,
            download_url=f"/reports/{model.id}/download" if done else None,
            created_at=model.created_at,
            finished_at=model.finished_at,
        )


@strawberry.type
class ReportPayload:
    report: Report | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
