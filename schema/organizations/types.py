from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.errors import UserError
from server.auth.models import User as UserModel
from server.organizations.models import Organization as OrganizationModel
from server.organizations.models import Role as RoleModel

if TYPE_CHECKING:
    from schema.auth.types import User
    from schema.events.types import EventConnection, EventStatus

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
        from schema.organizations.loaders import MembersByOrganizationLoader

        views = await info.context.loader(MembersByOrganizationLoader).load(uuid.UUID(self.id))
        return [Member.of(v.user, v.role) for v in views]

    @strawberry.field(description="The organization's events: every status for its members.")
    async def events(
        self,
        info: Info,
        status: Annotated[EventStatus, strawberry.lazy("schema.events.types")]  # type: ignore[valid-type]
        | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Annotated[EventConnection, strawberry.lazy("schema.events.types")]:
        from schema.events.queries import organization_events

        return await organization_events(info, uuid.UUID(self.id), status, first, after)


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
