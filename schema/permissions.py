"""Declared checks on fields ("must be signed in"). The service re-checks membership and
role against the row it touches; these only give an early, uniform answer."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from schema.context import Info
from server.errors import Unauthenticated


class IsAuthenticated(BasePermission):
    message = Unauthenticated.message

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return not info.context.actor.is_anonymous

    def on_unauthorized(self) -> None:
        raise Unauthenticated()


class IsUser(BasePermission):
    """A signed-in person (API keys act for organizations, not people)."""

    message = Unauthenticated.message

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        info.context.actor.require_user()
        return True
