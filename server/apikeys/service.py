"""API keys: `<prefix>_<secret>`, bound to one organization and a set of scopes.

Keys are looked up by prefix (unique, indexed) and checked by comparing SHA-256 digests in
constant time. Lookups are cached in Redis for a minute; revocation evicts the cache entry
after commit, so a revoked key stops working at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.apikeys.errors import ApiKeyNotFound
from server.apikeys.models import ApiKey
from server.auth.actor import Actor
from server.db import Database
from server.errors import Unauthenticated, Validator
from server.ids import new_id
from server.organizations.access import SCOPES, Permission, authorize
from server.organizations.models import Organization

PREFIX_HEAD = "evk"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
CACHE_TTL = 60
LAST_USED_RESOLUTION = 60  # seconds between lastUsedAt writes for one key
TOMBSTONE = b"{}"  # a cached "no such usable key"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    api_key: ApiKey
    secret: str  # the whole `<prefix>_<secret>`; shown once, never stored


def looks_like_api_key(token: str) -> bool:
    return token.startswith(PREFIX_HEAD) and "_" in token


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


async def create_api_key(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    now: datetime,
) -> CreatedKey:
    await authorize(session, actor, organization_id, Permission.API_KEYS_MANAGE)
    checks = Validator()
    clean_name = name.strip()
    checks.check(0 < len(clean_name) <= 200, "name", "Enter a name (up to 200 characters).")
    unknown = sorted(set(scopes) - SCOPES)
    checks.check(
        not unknown,
        "scopes",
        f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(sorted(SCOPES))}.",
    )
    checks.check(bool(scopes), "scopes", "Give the key at least one scope.")
    checks.check(
        expires_at is None or expires_at > now, "expiresAt", "The expiry must be in the future."
    )
    checks.raise_if_any()

    prefix = PREFIX_HEAD + "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        organization_id=organization_id,
        created_by_id=actor.user_id,
        name=clean_name,
        prefix=prefix,
        secret_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return CreatedKey(key, f"{prefix}_{secret}")


async def revoke_api_key(
    session: AsyncSession, *, actor: Actor, key_id: uuid.UUID, now: datetime
) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyNotFound(field="id")
    await authorize(
        session,
        actor,
        key.organization_id,
        Permission.API_KEYS_MANAGE,
        not_found=ApiKeyNotFound(field="id"),
    )
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def list_api_keys(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> list[ApiKey]:
    await authorize(session, actor, organization_id, Permission.API_KEYS_MANAGE)
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.organization_id == organization_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at)
    )
    return list(rows)


async def evict_cached_keys(redis: Redis, prefixes: list[str]) -> None:
    """After a revocation commits: every instance refuses these keys from now on. The
    entries are overwritten with a tombstone rather than deleted, so a lookup that read the
    row before the commit cannot put the old answer back (lookups only fill empty entries)."""
    if not prefixes:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for prefix in prefixes:
            pipe.set(_cache_key(prefix), TOMBSTONE, ex=CACHE_TTL)
        await pipe.execute()


def cache_key(prefix: str) -> str:
    """Where a key's record (or the tombstone) is cached."""
    return _cache_key(prefix)


def secret_digest(token: str) -> str:
    """The stored digest a presented key must match."""
    return _digest(split_key(token)[1])


def split_key(token: str) -> tuple[str, str]:
    """(prefix, secret) of a presented key, or Unauthenticated."""
    prefix, _, secret = token.partition("_")
    if not secret or len(prefix) > 32:
        raise Unauthenticated("Invalid API key.")
    return prefix, secret


async def load_key_record(db: Database, redis: Redis, prefix: str) -> dict[str, object] | None:
    """The key's record from the database (its cache entry was empty), cached for the next
    request; None for an unknown, revoked or orphaned key."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(ApiKey)
                .join(Organization, Organization.id == ApiKey.organization_id)
                .where(ApiKey.prefix == prefix, Organization.deleted_at.is_(None))
            )
        ).scalar_one_or_none()
    record: dict[str, object] = {}
    if row is not None and row.revoked_at is None:
        record = {
            "id": str(row.id),
            "organization_id": str(row.organization_id),
            "hash": row.secret_hash,
            "scopes": row.scopes,
            "expires_at": row.expires_at.timestamp() if row.expires_at else None,
        }
    await redis.set(_cache_key(prefix), orjson.dumps(record), ex=CACHE_TTL, nx=True)
    return record or None


def cached_record(cached: bytes) -> dict[str, object] | None:
    value = orjson.loads(cached)
    return value if value else None


def key_actor(
    record: dict[str, object] | None, secret: str, *, now: datetime, ip: str | None
) -> Actor:
    """The actor of a key whose record was found (or Unauthenticated)."""
    if record is None or not hmac.compare_digest(str(record["hash"]), _digest(secret)):
        raise Unauthenticated("Invalid API key.")
    expires = record.get("expires_at")
    if isinstance(expires, float | int) and expires <= now.timestamp():
        raise Unauthenticated("This API key has expired.")
    scopes = record["scopes"]
    assert isinstance(scopes, list)
    return Actor(
        api_key_id=uuid.UUID(str(record["id"])),
        api_key_organization_id=uuid.UUID(str(record["organization_id"])),
        scopes=frozenset(str(s) for s in scopes),
        ip=ip,
    )


def used_marker(prefix: str) -> str:
    """Set (NX, for LAST_USED_RESOLUTION seconds) when a key's lastUsedAt is due a write."""
    return f"apikey-used:{prefix}"


async def record_use(db: Database, key_id: uuid.UUID, now: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
