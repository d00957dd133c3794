"""Accounts and sessions: register, log in, rotate refresh tokens, log out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.emails import (
    email_skeleton,
    mixed_script_lookalikes,
    normalize_email,
    validate_email,
)
from server.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    LookAlikeEmail,
    WeakPassword,
)
from server.auth.models import Session, User
from server.auth.passwords import (
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_LENGTH,
    hash_cost,
    hash_password,
    verify_password,
)
from server.auth.tokens import hash_token, new_refresh_token
from server.errors import ValidationError, Validator
from server.ids import new_id

MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IssuedSession:
    session: Session
    refresh_token: str


async def register_user(
    session: AsyncSession, *, email: str, password: str, name: str, rounds: int
) -> User:
    checks = Validator()
    normalized = ""
    try:
        normalized = validate_email(email)
    except ValidationError as invalid:
        checks.add("email", invalid.message)
    checks.check(
        len(password) >= MIN_PASSWORD_LENGTH and len(password.encode()) <= MAX_PASSWORD_BYTES,
        "password",
        WeakPassword.message,
    )
    clean_name = name.strip()
    checks.check(
        0 < len(clean_name) <= MAX_NAME_LENGTH, "name", "Enter a name (up to 200 characters)."
    )
    checks.raise_if_any()

    skeleton = email_skeleton(normalized)
    await _refuse_look_alikes(session, normalized, skeleton)
    user = User(
        id=new_id(),
        email=normalized,
        email_skeleton=skeleton,
        name=clean_name,
        password_hash=await hash_password(password, rounds),
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise EmailTaken(field="email") from None
    return user


async def _refuse_look_alikes(session: AsyncSession, email: str, skeleton: str) -> None:
    """No account may read as another one written in other scripts. Registrations that
    read alike wait for each other (a transaction lock on the skeleton), so two look-alikes
    registering at once cannot both get through."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(skeleton, 0))))
    others = await session.scalars(select(User.email).where(User.email_skeleton == skeleton))
    for other in others:
        if other == email:
            raise EmailTaken(field="email")
        if mixed_script_lookalikes(email, other):
            raise LookAlikeEmail(field="email")


async def authenticate_password(
    session: AsyncSession, *, email: str, password: str, rounds: int
) -> User:
    """The user with these credentials. Unknown email and wrong password give the same
    error after the same amount of bcrypt work. A hash made at another cost than the
    configured one is replaced on a successful sign-in."""
    user = await session.scalar(
        select(User).where(func.lower(User.email) == normalize_email(email))
    )
    ok = await verify_password(password, user.password_hash if user else None, rounds=rounds)
    if user is None or not ok:
        raise InvalidCredentials()
    if hash_cost(user.password_hash) != rounds:
        user.password_hash = await hash_password(password, rounds)
        await session.flush()
    return user


async def start_session(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    now: datetime,
    ttl: int,
    user_agent: str | None = None,
    ip: str | None = None,
    family_id: uuid.UUID | None = None,
) -> IssuedSession:
    token = new_refresh_token()
    row = Session(
        id=new_id(),
        user_id=user_id,
        family_id=family_id or new_id(),
        token=hash_token(token),
        expires_at=now + timedelta(seconds=ttl),
        user_agent=(user_agent or "")[:300] or None,
        ip=ip,
    )
    session.add(row)
    await session.flush()
    return IssuedSession(row, token)


@dataclass(frozen=True, slots=True)
class Rotation:
    user: User
    issued: IssuedSession | None  # None when reuse was detected and the family revoked
    revoked_session_ids: list[uuid.UUID]


async def rotate_session(
    session: AsyncSession,
    *,
    refresh_token: str,
    now: datetime,
    ttl: int,
    user_agent: str | None = None,
    ip: str | None = None,
) -> Rotation:
    """Exchange a refresh token for the next one in its family.

    The row is locked, so two concurrent uses of one token cannot both rotate it: the
    second sees it rotated and is treated as reuse. Reuse of a rotated token means it was
    copied; the whole family is revoked (the caller must commit that, then fail)."""
    current = await session.scalar(
        select(Session).where(Session.token == hash_token(refresh_token)).with_for_update()
    )
    if current is None or current.revoked_at is not None or current.expires_at <= now:
        raise InvalidRefreshToken()
    user = await session.get(User, current.user_id)
    if user is None:
        raise InvalidRefreshToken()
    if current.rotated_at is not None:
        revoked = await revoke_family(session, family_id=current.family_id, now=now)
        return Rotation(user, None, revoked)
    current.rotated_at = now
    issued = await start_session(
        session,
        user_id=current.user_id,
        now=now,
        ttl=ttl,
        user_agent=user_agent,
        ip=ip,
        family_id=current.family_id,
    )
    return Rotation(user, issued, [])


async def revoke_family(
    session: AsyncSession, *, family_id: uuid.UUID, now: datetime
) -> list[uuid.UUID]:
    result = await session.execute(
        update(Session)
        .where(Session.family_id == family_id, Session.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(Session.id)
    )
    return list(result.scalars())


async def end_session(
    session: AsyncSession,
    *,
    now: datetime,
    session_id: uuid.UUID | None = None,
    refresh_token: str | None = None,
) -> list[uuid.UUID]:
    """Log out: revoke the session family identified by an access token's session id or
    by a refresh token. Returns the revoked session ids (empty if nothing matched)."""
    if session_id is not None:
        family = await session.scalar(select(Session.family_id).where(Session.id == session_id))
    elif refresh_token is not None:
        family = await session.scalar(
            select(Session.family_id).where(Session.token == hash_token(refresh_token))
        )
    else:
        raise ValidationError("Nothing identifies a session to end.")
    if family is None:
        return []
    return await revoke_family(session, family_id=family, now=now)


async def session_is_active(session: AsyncSession, *, session_id: uuid.UUID, now: datetime) -> bool:
    row = await session.execute(
        select(Session.revoked_at, Session.expires_at).where(Session.id == session_id)
    )
    found = row.first()
    if found is None:
        return False
    revoked_at, _expires_at = found
    # An access token outlives a rotation of its refresh token, but not a revocation.
    return revoked_at is None


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)
