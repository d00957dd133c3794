from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from schema.context import Info
from schema.errors import UserError, run_query
from schema.organizations.types import Membership, Organization
from server.auth.models import User as UserModel
from server.organizations.service import memberships_of_user


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    name: str

    @classmethod
    def from_model(cls, model: UserModel) -> User:
        return cls(id=strawberry.ID(str(model.id)), email=model.email, name=model.name)

    @strawberry.field(description="The user's organizations; others see only those they share.")
    async def organizations(self, info: Info) -> list[Membership]:
        user_id = uuid.UUID(self.id)
        rows = await run_query(info, lambda s: memberships_of_user(s, user_id=user_id))
        actor = info.context.actor
        if actor.user_id != user_id:
            shared: set[uuid.UUID] = set()
            viewer_id = actor.user_id
            if viewer_id is not None:
                mine = await run_query(info, lambda s: memberships_of_user(s, user_id=viewer_id))
                shared = {org.id for org, _ in mine}
            elif actor.api_key_organization_id and "members:read" in actor.scopes:
                shared = {actor.api_key_organization_id}
            rows = [(org, role) for org, role in rows if org.id in shared]
        return [
            Membership(organization=Organization.from_model(org), role=role) for org, role in rows
        ]


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str


@strawberry.input
class LoginInput:
    email: str
    password: str
