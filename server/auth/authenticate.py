"""Turn a request's credentials into an `Actor`.

`Authorization: Bearer <jwt>` is a user's access token; `Authorization: Bearer <api key>`
or `X-API-Key: <api key>` is an organization's key. Bad credentials are an error, never a
silent downgrade to anonymous: a client with an expired token must learn to refresh it.

Reading the credentials needs no I/O (`read_credentials`: the token's signature, issuer
and expiry). What they stand for now is kept in Redis (`state_key`: a session's live flag,
a key's record) and read by the caller, so that the request gate (`server.gate`) reads it
in the same round trip as the rate limit; `actor_for` finishes from that value, going to
the database only when Redis had nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from server.apikeys import service as apikeys
from server.auth.actor import Actor
from server.auth.service import session_is_active
from server.auth.tokens import AccessClaims, InvalidToken, decode_access_token, looks_like_jwt
from server.config import Settings
from server.db import Database
from server.errors import Unauthenticated

SESSION_CACHE_PREFIX = "session:"
SESSION_REVOKED = b"0"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presents: nothing, a verified access token, or an API key."""

    claims: AccessClaims | None = None
    api_key: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.claims is None and self.api_key is None

    @property
    def state_key(self) -> str | None:
        """The Redis key holding what these credentials stand for now."""
        if self.claims is not None:
            return f"{SESSION_CACHE_PREFIX}{self.claims.session_id}"
        if self.api_key is not None:
            return apikeys.cache_key(apikeys.split_key(self.api_key)[0])
        return None

    def rate_key(self, ip: str | None) -> str:
        """Whose request budget a request spends: the user's, the key's, or its IP's."""
        if self.claims is not None:
            return f"user:{self.claims.user_id}"
        if self.api_key is not None:
            return f"key:{apikeys.split_key(self.api_key)[0]}"
        return anonymous_rate_key(ip)


def anonymous_rate_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


def read_credentials(
    *, authorization: str | None, api_key: str | None, settings: Settings, now: datetime
) -> Credentials:
    """The request's credentials, checked as far as they can be without I/O."""
    token: str | None = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Use `Authorization: Bearer <token>`.")
        token = value.strip()
    elif api_key:
        token = api_key.strip()
    if not token:
        return Credentials()
    if apikeys.looks_like_api_key(token):
        apikeys.split_key(token)
        return Credentials(api_key=token)
    if not looks_like_jwt(token):
        raise Unauthenticated("Invalid access token.")
    try:
        claims = decode_access_token(token, key=settings.jwt_key, now=now)
    except InvalidToken:
        raise Unauthenticated("Invalid or expired access token.") from None
    return Credentials(claims=claims)


async def actor_for(
    credentials: Credentials,
    state: bytes | None,
    *,
    ip: str | None,
    db: Database,
    redis: Redis,
    settings: Settings,
    now: datetime,
) -> Actor:
    """Who the credentials stand for, given their state as read from Redis (None: not
    cached, so the database decides and the answer is cached)."""
    if credentials.api_key is not None:
        prefix, secret = apikeys.split_key(credentials.api_key)
        record = (
            apikeys.cached_record(state)
            if state is not None
            else await apikeys.load_key_record(db, redis, prefix)
        )
        return apikeys.key_actor(record, secret, now=now, ip=ip)
    claims = credentials.claims
    if claims is None:
        return Actor(ip=ip)
    if state is not None:
        active = state == b"1"
    else:
        active = await _session_from_database(
            db, redis, claims.session_id, now=now, ttl=settings.access_token_ttl
        )
    if not active:
        raise Unauthenticated("This session has ended; sign in again.")
    return Actor(user_id=claims.user_id, session_id=claims.session_id, ip=ip)


async def resolve_actor(
    *,
    authorization: str | None,
    api_key: str | None,
    ip: str | None,
    db: Database,
    redis: Redis,
    settings: Settings,
    now: datetime,
) -> Actor:
    """The actor, without spending a request budget (a WebSocket's credentials, checked
    again while a private stream runs)."""
    credentials = read_credentials(
        authorization=authorization, api_key=api_key, settings=settings, now=now
    )
    key = credentials.state_key
    state = await redis.get(key) if key is not None else None
    actor = await actor_for(
        credentials, state, ip=ip, db=db, redis=redis, settings=settings, now=now
    )
    if actor.api_key_id is not None and credentials.api_key is not None:
        prefix = apikeys.split_key(credentials.api_key)[0]
        if await redis.set(
            apikeys.used_marker(prefix), b"1", nx=True, ex=apikeys.LAST_USED_RESOLUTION
        ):
            await apikeys.record_use(db, actor.api_key_id, now)
    return actor


async def _session_from_database(
    db: Database, redis: Redis, session_id: uuid.UUID, *, now: datetime, ttl: int
) -> bool:
    async with db.read() as session:
        active = await session_is_active(session, session_id=session_id, now=now)
    # NX: a revocation that committed (and wrote "0") while we read must not be
    # overwritten by our older answer.
    await redis.set(
        f"{SESSION_CACHE_PREFIX}{session_id}", b"1" if active else SESSION_REVOKED, ex=ttl, nx=True
    )
    return active


async def mark_sessions_revoked(redis: Redis, session_ids: list[uuid.UUID], *, ttl: int) -> None:
    """After the revocation commits: make every app instance see it on the next request."""
    if not session_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for sid in session_ids:
            pipe.set(f"{SESSION_CACHE_PREFIX}{sid}", SESSION_REVOKED, ex=ttl)
        await pipe.execute()
