from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import run_mutation
from schema.ids import input_id
from schema.persisted.checks import document_checker
from schema.persisted.types import (
    RegisterTrustedDocumentsPayload,
    RemoveTrustedDocumentsPayload,
    TrustedDocument,
    TrustedDocumentInput,
)
from server.clock import utcnow
from server.persisted import service


@strawberry.type
class TrustedDocumentMutations:
    @strawberry.mutation(
        description="Register operations (hash -> document) the organization's API keys may "
        "run; with PERSISTED_QUERIES_ONLY_FOR_API_KEYS they may run nothing else. Owners "
        "and managers."
    )
    async def register_trusted_documents(
        self,
        info: Info,
        organization_id: strawberry.ID,
        documents: list[TrustedDocumentInput],
    ) -> RegisterTrustedDocumentsPayload:
        check = document_checker(info.schema._schema, info.context.settings)
        registration, errors = await run_mutation(
            info,
            lambda s: service.register_trusted_documents(
                s,
                actor=info.context.actor,
                organization_id=input_id(organization_id, "organizationId"),
                documents=[(d.hash, d.document) for d in documents],
                check=check,
                now=utcnow(),
            ),
        )
        if registration is None:
            return RegisterTrustedDocumentsPayload(errors=errors)
        return RegisterTrustedDocumentsPayload(
            documents=[TrustedDocument.from_model(d) for d in registration.documents],
            added=registration.added,
        )

    @strawberry.mutation(description="Unregister trusted documents by hash.")
    async def remove_trusted_documents(
        self, info: Info, organization_id: strawberry.ID, hashes: list[str]
    ) -> RemoveTrustedDocumentsPayload:
        removed, errors = await run_mutation(
            info,
            lambda s: service.remove_trusted_documents(
                s,
                actor=info.context.actor,
                organization_id=input_id(organization_id, "organizationId"),
                hashes=hashes,
            ),
        )
        return RemoveTrustedDocumentsPayload(removed=removed or 0, errors=errors)
