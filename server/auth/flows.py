"""Sign-in flows that own their transaction: used alike by the GraphQL mutations and the
REST `/auth/refresh` endpoint, so cookie, token and revocation handling exist once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from redis.asyncio import Redis

from server.auth import throttle
from server.auth.authenticate import mark_sessions_revoked
from server.auth.errors import InvalidRefreshToken
from server.auth.models import User
from server.auth.service import (
    IssuedSession,
    authenticate_password,
    end_session,
    register_user,
    rotate_session,
    start_session,
)
from server.auth.tokens import issue_access_token
from server.config import Settings
from server.db import Database

REFRESH_COOKIE = "eventapi_refresh"


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    access_token: str
    expires_at: datetime
    refresh_token: str
    device_token: str | None = None  # names this client as one that signed in (login only)


def _signed_in(settings: Settings, user: User, issued: IssuedSession, now: datetime) -> SignedIn:
    token, expires_at = issue_access_token(
        key=settings.jwt_key,
        user_id=user.id,
        session_id=issued.session.id,
        now=now,
        ttl=settings.access_token_ttl,
    )
    return SignedIn(user, token, expires_at, issued.refresh_token)


async def register(
    db: Database,
    settings: Settings,
    *,
    email: str,
    password: str,
    name: str,
    now: datetime,
    user_agent: str | None,
    ip: str | None,
) -> SignedIn:
    async with db.transaction() as session:
        user = await register_user(
            session, email=email, password=password, name=name, rounds=settings.bcrypt_rounds
        )
        issued = await start_session(
            session,
            user_id=user.id,
            now=now,
            ttl=settings.refresh_token_ttl,
            user_agent=user_agent,
            ip=ip,
        )
    return _signed_in(settings, user, issued, now)


async def login(
    db: Database,
    redis: Redis,
    settings: Settings,
    *,
    email: str,
    password: str,
    now: datetime,
    user_agent: str | None,
    ip: str | None,
    device_token: str | None = None,
    prepaid: bool = False,
) -> SignedIn:
    """Check a password and start a session. Every call is one attempt against the client
    IP's budget (unless `prepaid`) and the account's backoff (`server.auth.throttle`)."""
    attempt = await throttle.admit(
        redis, settings, email=email, ip=ip, device_token=device_token, prepaid=prepaid
    )
    async with db.transaction() as session:
        user = await authenticate_password(
            session, email=email, password=password, rounds=settings.bcrypt_rounds
        )
        issued = await start_session(
            session,
            user_id=user.id,
            now=now,
            ttl=settings.refresh_token_ttl,
            user_agent=user_agent,
            ip=ip,
        )
    await throttle.succeeded(redis, attempt)
    signed_in = _signed_in(settings, user, issued, now)
    return replace(signed_in, device_token=throttle.new_device_token(settings, attempt))


async def refresh(
    db: Database,
    redis: Redis,
    settings: Settings,
    *,
    refresh_token: str,
    now: datetime,
    user_agent: str | None,
    ip: str | None,
) -> SignedIn:
    async with db.transaction() as session:
        rotation = await rotate_session(
            session,
            refresh_token=refresh_token,
            now=now,
            ttl=settings.refresh_token_ttl,
            user_agent=user_agent,
            ip=ip,
        )
    if rotation.issued is None:
        # Reuse of a rotated token: the family is revoked (committed above); tell every
        # instance at once, then refuse.
        await mark_sessions_revoked(
            redis, rotation.revoked_session_ids, ttl=settings.access_token_ttl
        )
        raise InvalidRefreshToken()
    return _signed_in(settings, rotation.user, rotation.issued, now)


async def logout(
    db: Database,
    redis: Redis,
    settings: Settings,
    *,
    now: datetime,
    session_id: uuid.UUID | None = None,
    refresh_token: str | None = None,
) -> bool:
    if session_id is None and not refresh_token:
        return False
    async with db.transaction() as session:
        revoked = await end_session(
            session, now=now, session_id=session_id, refresh_token=refresh_token
        )
    await mark_sessions_revoked(redis, revoked, ttl=settings.access_token_ttl)
    return bool(revoked)
