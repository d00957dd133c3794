from __future__ import annotations

from datetime import datetime

import strawberry

from schema.errors import UserError
from server.persisted.models import TrustedDocument as TrustedDocumentModel


@strawberry.type(description="An operation an organization registered for its API keys.")
class TrustedDocument:
    hash: str = strawberry.field(description="SHA-256 of the document, lowercase hex.")
    document: str
    operation_names: list[str]
    created_at: datetime

    @classmethod
    def from_model(cls, model: TrustedDocumentModel) -> TrustedDocument:
        return cls(
            hash=model.hash,
            document=model.document,
            operation_names=list(model.operation_names),
            created_at=model.created_at,
        )


@strawberry.input
class TrustedDocumentInput:
    hash: str = strawberry.field(description="SHA-256 of `document` (hex, `sha256:` optional).")
    document: str


@strawberry.type
class RegisterTrustedDocumentsPayload:
    documents: list[TrustedDocument] = strawberry.field(default_factory=list)
    added: int = strawberry.field(default=0, description="How many were not registered yet.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveTrustedDocumentsPayload:
    removed: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)
