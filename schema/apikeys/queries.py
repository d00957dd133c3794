from __future__ import annotations

import strawberry

from schema.apikeys.types import ApiKey
from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from server.apikeys.service import list_api_keys


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(description="The organization's active API keys (owners only).")
    async def api_keys(self, info: Info, organization_id: strawberry.ID) -> list[ApiKey]:
        org_id = require_id(organization_id, "organizationId")
        keys = await run_query(
            info,
            lambda s: list_api_keys(s, actor=info.context.actor, organization_id=org_id),
            replica=True,
        )
        return [ApiKey.from_model(k) for k in keys]
