from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.errors import UserError, run_query
from server.auth.models import User as UserModel
from server.organizations.models import Organization as OrganizationModel
from server.organizations.models import Role as RoleModel
from server.organizations.service import list_members

if TYPE_CHECKING:
    from schema.auth.types import User

Role = strawberry.enum(RoleModel, name="Role")


@strawberry.type
class Organization:
    id: strawberry.ID
    name: str
    slug: str

    @classmethod
    def from_model(cls, model: OrganizationModel) -> Organization:
        return cls(id=strawberry.ID(str(model.id)), name=model.name, slug=model.slug)

    @strawberry.field
    async def members(self, info: Info) -> list[Member]:
        from schema.auth.types import User

        views = await run_query(
            info,
            lambda s: list_members(s, actor=info.context.actor, organization_id=uuid.UUID(self.id)),
        )
        return [Member(user=User.from_model(v.user), role=v.role) for v in views]


@strawberry.type
class Member:
    user: Annotated[User, strawberry.lazy("schema.auth.types")]
    role: Role  # type: ignore[valid-type]

    @classmethod
    def of(cls, user: UserModel, role: RoleModel) -> Member:
        from schema.auth.types import User

        return cls(user=User.from_model(user), role=role)


@strawberry.type
class Membership:
    organization: Organization
    role: Role  # type: ignore[valid-type]


@strawberry.type
class OrganizationPayload:
    organization: Organization | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPayload:
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
