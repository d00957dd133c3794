from __future__ import annotations

import strawberry


@strawberry.input
class TransferTicketInput:
    ticket_id: strawberry.ID
    recipient_email: str


@strawberry.input
class CheckInInput:
    qr_code: str = strawberry.field(description="The payload read from the ticket's QR code.")
    occurrence_id: strawberry.ID | None = strawberry.field(
        default=None, description="The date being admitted (default: the ticket's own)."
    )
    location: str | None = strawberry.field(
        default=None, description="Where the scan happened (a gate, a door)."
    )
