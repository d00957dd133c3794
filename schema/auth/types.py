from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from schema.context import Info
from schema.errors import UserError
from schema.organizations.types import Membership, Organization
from server.auth.models import User as UserModel


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
        from schema.organizations.loaders import MembershipsByUserLoader

        rows = await info.context.loader(MembershipsByUserLoader).load(uuid.UUID(self.id))
        return [
            Membership(organization=Organization.from_model(org), role=role) for org, role in rows
        ]


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    retry_after: int | None = strawberry.field(
        default=None,
        description="With a RATE_LIMITED error: seconds to wait before signing in again "
        "(also sent as the Retry-After header).",
    )


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str


@strawberry.input
class LoginInput:
    email: str
    password: str
