from __future__ import annotations

import strawberry

from schema.auth.types import User
from schema.context import Info
from schema.errors import run_query
from server.auth.service import get_user


@strawberry.type
class AuthQueries:
    @strawberry.field(description="The signed-in user; null for anonymous callers and API keys.")
    async def me(self, info: Info) -> User | None:
        user_id = info.context.actor.user_id
        if user_id is None:
            return None
        user = await run_query(info, lambda s: get_user(s, user_id))
        return User.from_model(user) if user else None
