from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query_or_none
from schema.organizations.types import Organization
from server.organizations.service import get_organization


@strawberry.type
class OrganizationQueries:
    @strawberry.field(description="An organization you belong to (null if none such is visible).")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        org_id = require_id(id)
        org = await run_query_or_none(
            info, lambda s: get_organization(s, actor=info.context.actor, organization_id=org_id)
        )
        return Organization.from_model(org) if org else None
