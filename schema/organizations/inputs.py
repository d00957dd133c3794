from __future__ import annotations

import strawberry

from schema.organizations.types import Role


@strawberry.input
class CreateOrganizationInput:
    name: str
    slug: str | None = None


@strawberry.input
class AddMemberInput:
    organization_id: strawberry.ID
    email: str
    role: Role  # type: ignore[valid-type]


@strawberry.input
class UpdateMemberRoleInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID
    role: Role  # type: ignore[valid-type]
