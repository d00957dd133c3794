from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.persisted.types import TrustedDocument
from server.persisted.service import list_trusted_documents


@strawberry.type
class TrustedDocumentQueries:
    @strawberry.field(description="The organization's trusted documents (owners, managers).")
    async def trusted_documents(
        self, info: Info, organization_id: strawberry.ID
    ) -> list[TrustedDocument]:
        org_id = require_id(organization_id, "organizationId")
        documents = await run_query(
            info,
            lambda s: list_trusted_documents(s, actor=info.context.actor, organization_id=org_id),
            replica=True,
        )
        return [TrustedDocument.from_model(d) for d in documents]
