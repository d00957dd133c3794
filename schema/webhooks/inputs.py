from __future__ import annotations

import strawberry


@strawberry.input
class CreateWebhookInput:
    organization_id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(
        description="Event types to receive (order.created, order.confirmed, ...), or `*`."
    )
