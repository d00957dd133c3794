"""Who is making a request: a signed-in user, an organization's API key, or nobody."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from server.errors import Forbidden, Unauthenticated


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    api_key_organization_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and self.api_key_id is None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def rate_limit_key(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.api_key_id is not None:
            return f"key:{self.api_key_id}"
        return f"ip:{self.ip or 'unknown'}"

    def require_user(self) -> uuid.UUID:
        """The signed-in user's id; API keys act for an organization, never as a person."""
        if self.user_id is not None:
            return self.user_id
        if self.api_key_id is not None:
            raise Forbidden("This needs a signed-in user; API keys cannot do it.")
        raise Unauthenticated()


ANONYMOUS = Actor()
