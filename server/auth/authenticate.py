"""Turn a request's credentials into an `Actor`.

`Authorization: Bearer <jwt>` is a user's access token; `Authorization: Bearer <api key>`
or `X-API-Key: <api key>` is an organization's key. Bad credentials are an error, never a
silent downgrade to anonymous: a client with an expired token must learn to refresh it."""

from __future__ import annotations

import uuid
from datetime import datetime

from redis.asyncio import Redis

from server.apikeys.service import authenticate_api_key, looks_like_api_key
from server.auth.actor import Actor
from server.auth.service import session_is_active
from server.auth.tokens import InvalidToken, decode_access_token, looks_like_jwt
from server.config import Settings
from server.db import Database
from server.errors import Unauthenticated

SESSION_CACHE_PREFIX = "session:"


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
    token: str | None = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Use `Authorization: Bearer <token>`.")
        token = value.strip()
    elif api_key:
        token = api_key.strip()
    if not token:
        return Actor(ip=ip)
    if looks_like_api_key(token):
        return await authenticate_api_key(db, redis, token, now=now, ip=ip)
    if not looks_like_jwt(token):
        raise Unauthenticated("Invalid access token.")
    try:
        claims = decode_access_token(token, key=settings.jwt_key, now=now)
    except InvalidToken:
        raise Unauthenticated("Invalid or expired access token.") from None
    if not await session_active(
        db, redis, claims.session_id, now=now, ttl=settings.access_token_ttl
    ):
        raise Unauthenticated("This session has ended; sign in again.")
    return Actor(user_id=claims.user_id, session_id=claims.session_id, ip=ip)


async def session_active(
    db: Database, redis: Redis, session_id: uuid.UUID, *, now: datetime, ttl: int
) -> bool:
    key = f"{SESSION_CACHE_PREFIX}{session_id}"
    cached = await redis.get(key)
    if cached is not None:
        return cached == b"1"
    async with db.read() as session:
        active = await session_is_active(session, session_id=session_id, now=now)
    # NX: a revocation that committed (and wrote "0") while we read must not be
    # overwritten by our older answer.
    await redis.set(key, b"1" if active else b"0", ex=ttl, nx=True)
    return active


async def mark_sessions_revoked(redis: Redis, session_ids: list[uuid.UUID], *, ttl: int) -> None:
    """After the revocation commits: make every app instance see it on the next request."""
    if not session_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for sid in session_ids:
            pipe.set(f"{SESSION_CACHE_PREFIX}{sid}", b"0", ex=ttl)
        await pipe.execute()
