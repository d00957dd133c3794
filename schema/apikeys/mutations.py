from __future__ import annotations

import strawberry

from schema.apikeys.types import ApiKey, CreateApiKeyInput, CreateApiKeyPayload
from schema.context import Info
from schema.errors import run_boolean_mutation, run_mutation
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from server.apikeys import service
from server.apikeys.service import CreatedKey, evict_cached_keys
from server.clock import utcnow


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(description="Create an API key for an organization (owners only).")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        async def work(s) -> CreatedKey:  # type: ignore[no-untyped-def]
            return await service.create_api_key(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                name=input.name,
                scopes=input.scopes,
                expires_at=input.expires_at,
                now=utcnow(),
            )

        created, errors = await run_mutation(info, work)
        if created is None:
            return CreateApiKeyPayload(errors=errors)
        return CreateApiKeyPayload(
            api_key=ApiKey.from_model(created.api_key), secret=created.secret
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Revoke an API key; it stops working at once.",
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        prefixes: list[str] = []

        async def work(s) -> bool:  # type: ignore[no-untyped-def]
            key = await service.revoke_api_key(
                s, actor=info.context.actor, key_id=input_id(id, "id"), now=utcnow()
            )
            prefixes.append(key.prefix)
            return True

        ok = await run_boolean_mutation(info, work)
        await evict_cached_keys(info.context.redis, prefixes)
        return ok
