"""The per-request context every resolver receives (`strawberry.Info[Context, None]`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from schema.persisted.tags import CacheTags
from server.auth.actor import Actor
from server.config import Settings
from server.db import Database
from server.replicas.positions import scope_of

if TYPE_CHECKING:
    from server.app_state import AppState

L = TypeVar("L")


@dataclass
class CookieToSet:
    key: str
    value: str
    max_age: int | None
    path: str = "/"
    httponly: bool = True
    secure: bool = True
    samesite: str = "strict"


@dataclass
class Context:
    connection: HTTPConnection  # the Request, or the WebSocket for subscriptions
    state: AppState
    actor: Actor
    request_id: str
    cookies: list[CookieToSet] = field(default_factory=list)
    # What the response was read from, for the public response cache (schema.persisted.tags)
    cache_tags: CacheTags = field(default_factory=CacheTags)
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init payload
    # Units of the client IP's budget the request has already spent (the gate's one, for an
    # anonymous HTTP request): they pay for as many sign-in attempts (server.auth.throttle).
    prepaid_ip_units: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # added to the HTTP response
    # An HTTP query: catalog loaders may read a replica too (schema.loaders).
    replica_reads: bool = False
    _loaders: dict[type, Any] = field(default_factory=dict)
    _db: tuple[Actor, Database] | None = None

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def db(self) -> Database:
        """The request's view of the database: its transactions count as the caller's
        writes, and its replica reads see them (read-your-writes, docs/scale.md)."""
        if self._db is None or self._db[0] is not self.actor:
            view = self.state.db.for_caller(
                scope_of(self.actor), on_replica_read=self.cache_tags.read_as_of
            )
            self._db = (self.actor, view)
        return self._db[1]

    @property
    def redis(self) -> Redis:
        return self.state.redis

    def take_prepaid_ip_unit(self) -> bool:
        """Whether a unit of the IP's budget already spent pays for one more attempt."""
        if self.prepaid_ip_units <= 0:
            return False
        self.prepaid_ip_units -= 1
        return True

    def loader(self, cls: type[L]) -> L:
        """The request's instance of a DataLoader class (created on first use)."""
        instance = self._loaders.get(cls)
        if instance is None:
            instance = cls(self)  # type: ignore[call-arg]
            self._loaders[cls] = instance
        return instance

    def clear_loaders(self) -> None:
        """Forget cached loads: a WebSocket's context outlives one result, and each new
        subscription result must read current rows."""
        self._loaders.clear()
        self._db = None


Info = strawberry.Info[Context, None]
