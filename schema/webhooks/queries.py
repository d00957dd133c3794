from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.webhooks.types import Webhook
from server.webhooks.service import list_webhooks


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The organization's webhooks (owners, or webhooks:read).")
    async def webhooks(self, info: Info, organization_id: strawberry.ID) -> list[Webhook]:
        org_id = require_id(organization_id, "organizationId")
        endpoints = await run_query(
            info,
            lambda s: list_webhooks(s, actor=info.context.actor, organization_id=org_id),
            replica=True,
        )
        return [Webhook.from_model(e) for e in endpoints]
