from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import run_boolean_mutation, run_mutation
from schema.ids import input_id
from schema.organizations.inputs import (
    AddMemberInput,
    CreateOrganizationInput,
    UpdateMemberRoleInput,
)
from schema.organizations.types import Member, MemberPayload, Organization, OrganizationPayload
from server.apikeys.service import evict_cached_keys
from server.clock import utcnow
from server.organizations import service


@strawberry.type
class OrganizationMutations:
    @strawberry.mutation(description="Create an organization; the caller becomes its owner.")
    async def create_organization(
        self, info: Info, input: CreateOrganizationInput
    ) -> OrganizationPayload:
        org, errors = await run_mutation(
            info,
            lambda s: service.create_organization(
                s, actor=info.context.actor, name=input.name, slug=input.slug
            ),
        )
        return OrganizationPayload(
            organization=Organization.from_model(org) if org else None, errors=errors
        )

    @strawberry.mutation(description="Add a registered user to the organization.")
    async def add_member(self, info: Info, input: AddMemberInput) -> MemberPayload:
        async def work(s):  # type: ignore[no-untyped-def]
            return await service.add_member(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                email=input.email,
                role=input.role,
            )

        view, errors = await run_mutation(info, work)
        return MemberPayload(
            member=Member.of(view.user, view.role) if view else None, errors=errors
        )

    @strawberry.mutation
    async def update_member_role(self, info: Info, input: UpdateMemberRoleInput) -> MemberPayload:
        async def work(s):  # type: ignore[no-untyped-def]
            return await service.update_member_role(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                user_id=input_id(input.user_id, "userId"),
                role=input.role,
            )

        view, errors = await run_mutation(info, work)
        return MemberPayload(
            member=Member.of(view.user, view.role) if view else None, errors=errors
        )

    @strawberry.mutation(description="Remove a member (or leave, when userId is yourself).")
    async def remove_member(
        self, info: Info, organization_id: strawberry.ID, user_id: strawberry.ID
    ) -> bool:
        async def work(s):  # type: ignore[no-untyped-def]
            await service.remove_member(
                s,
                actor=info.context.actor,
                organization_id=input_id(organization_id, "organizationId"),
                user_id=input_id(user_id, "userId"),
            )
            return True

        return await run_boolean_mutation(info, work)

    @strawberry.mutation(
        description="Delete the organization (owners only). Its API keys stop at once."
    )
    async def delete_organization(self, info: Info, id: strawberry.ID) -> bool:
        async def work(s):  # type: ignore[no-untyped-def]
            return await service.delete_organization(
                s, actor=info.context.actor, organization_id=input_id(id, "id"), now=utcnow()
            )

        prefixes: list[str] = []

        async def run(s):  # type: ignore[no-untyped-def]
            prefixes.extend(await work(s))
            return True

        ok = await run_boolean_mutation(info, run)
        await evict_cached_keys(info.context.redis, prefixes)
        return ok
