from __future__ import annotations

from server.errors import InvalidState, NotFound


class ReportNotFound(NotFound):
    message = "No such report."


class ReportNotReady(InvalidState):
    message = "This report is not ready yet."
