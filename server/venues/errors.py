from __future__ import annotations

from server.errors import NotFound, ValidationError


class VenueNotFound(NotFound):
    message = "No such venue."


class SeatmapNotFound(NotFound):
    message = "No such seatmap."


class UnknownTimezone(ValidationError):
    message = "Unknown time zone; use an IANA name such as Africa/Lagos or Europe/Berlin."


class DuplicateSeats(ValidationError):
    def __init__(self, labels: list[str], total: int) -> None:
        shown = ", ".join(labels)
        more = f" and {total - len(labels)} more" if total > len(labels) else ""
        super().__init__(
            f"Seat labels must be unique within a seatmap; repeated: {shown}{more}.",
            field="seats",
        )
