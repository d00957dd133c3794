"""Access tokens (JWT, HS256 only) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "eventapi"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class InvalidToken(Exception):
    pass


def issue_access_token(
    *, key: str, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime, ttl: int
) -> tuple[str, datetime]:
    # Whole seconds, so the `expiresAt` clients see is exactly the token's `exp`.
    now = now.replace(microsecond=0)
    expires_at = now + timedelta(seconds=ttl)
    claims = {
        "iss": ISSUER,
        "typ": "access",
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires_at


# Tokens whose signature was verified, by (key, token): a client sends the same token with
# every request for its whole life, and verifying it is most of what reading it costs.
# Expiry is still checked on every use; revocation is the session's (server.gate).
VERIFIED_MEMORY = 20_000
_verified: OrderedDict[tuple[str, str], AccessClaims] = OrderedDict()


def decode_access_token(token: str, *, key: str, now: datetime) -> AccessClaims:
    """Verify signature, issuer and expiry. Only HS256 is accepted, so `alg: none` and
    algorithm-confusion tokens fail here."""
    known = _verified.get((key, token))
    if known is None:
        known = _verify(token, key=key, now=now)
        _verified[(key, token)] = known
        if len(_verified) > VERIFIED_MEMORY:
            _verified.popitem(last=False)
    if known.expires_at <= now:
        raise InvalidToken("expired")
    return known


def _verify(token: str, *, key: str, now: datetime) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "iss"], "verify_exp": False},
        )
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        if int(claims["exp"]) <= int(now.timestamp()):
            raise InvalidToken("expired")
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
