from __future__ import annotations

from datetime import datetime

import strawberry

from schema.errors import UserError
from server.apikeys.models import ApiKey as ApiKeyModel


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, model: ApiKeyModel) -> ApiKey:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            prefix=model.prefix,
            scopes=list(model.scopes),
            created_at=model.created_at,
            last_used_at=model.last_used_at,
            expires_at=model.expires_at,
            revoked_at=model.revoked_at,
        )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None, description="The whole key; shown only once."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateApiKeyInput:
    organization_id: strawberry.ID
    name: str
    scopes: list[str]
    expires_at: datetime | None = None
