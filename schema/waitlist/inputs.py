from __future__ import annotations

import strawberry


@strawberry.input
class JoinWaitlistInput:
    ticket_type_id: strawberry.ID
    occurrence_id: strawberry.ID | None = None
    quantity: int | None = 1
    email: str | None = strawberry.field(
        default=None, description="Guests: where the offer is sent (signed-in buyers: ignored)."
    )
