"""Idempotency keys for money-moving mutations, scoped to the caller, kept 24 hours.

The key row is claimed with INSERT ... ON CONFLICT DO NOTHING inside the mutation's
transaction, so a concurrent duplicate waits for the first request to commit and then
finds its result; a first request that failed (rolled back) leaves nothing behind."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ValidationError
from server.ids import new_id
from server.orders.errors import KeyReused
from server.orders.models import IdempotencyKey

RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255

_CLAIM = text(
    """
    INSERT INTO idempotency_keys (id, scope, key, operation, request_hash, created_at, expires_at)
    SELECT x.id, x.scope, x.key, :operation, x.hash, :now, :expires_at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:scopes AS text[]), CAST(:keys AS text[]),
                CAST(:hashes AS text[])) AS x(id, scope, key, hash)
    ORDER BY x.scope, x.key
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id, scope, key
    """
)


@dataclass(frozen=True, slots=True)
class KeyClaim:
    scope: str
    key: str
    request_hash: str


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"Idempotency keys are 1 to {MAX_KEY_LENGTH} characters.", field="idempotencyKey"
        )


async def claim(
    session: AsyncSession, claims: Sequence[KeyClaim], *, operation: str, now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID | None] | KeyReused]:
    """Claim each key for this transaction: (key row id, the earlier result's order id, or
    None when this request is the first), or KeyReused when the key was used with other
    input. Keys are inserted in (scope, key) order, so transactions claiming the same keys
    wait for each other in one order, never in a cycle. A key whose first request is still
    in flight makes this wait until that request commits (its result is then found) or
    rolls back (this request is then the first). Keys are unique within `claims`."""
    if not claims:
        return []
    inserted = {
        (r.scope, r.key): r.id
        for r in await session.execute(
            _CLAIM,
            {
                "ids": [new_id() for _ in claims],
                "scopes": [c.scope for c in claims],
                "keys": [c.key for c in claims],
                "hashes": [c.request_hash for c in claims],
                "operation": operation,
                "now": now,
                "expires_at": now + RETENTION,
            },
        )
    }
    others = [(c.scope, c.key) for c in claims if (c.scope, c.key) not in inserted]
    earlier: dict[tuple[str, str], IdempotencyKey] = {}
    if others:
        rows = await session.scalars(
            select(IdempotencyKey)
            .where(tuple_(IdempotencyKey.scope, IdempotencyKey.key).in_(others))
            .order_by(IdempotencyKey.scope, IdempotencyKey.key)
            .with_for_update()
        )
        earlier = {(row.scope, row.key): row for row in rows}
    results: list[tuple[uuid.UUID, uuid.UUID | None] | KeyReused] = []
    for c in claims:
        found = inserted.get((c.scope, c.key))
        if found is not None:
            results.append((found, None))
            continue
        row = earlier[(c.scope, c.key)]
        if row.expires_at <= now:
            # An expired key starts over, as if new.
            row.operation, row.request_hash, row.order_id = operation, c.request_hash, None
            row.created_at, row.expires_at = now, now + RETENTION
            await session.flush()
            results.append((row.id, None))
        elif row.operation != operation or row.request_hash != c.request_hash:
            results.append(KeyReused(field="idempotencyKey"))
        else:
            results.append((row.id, row.order_id))
    return results


_RECORD = text(
    """
    UPDATE idempotency_keys AS k SET order_id = x.order_id
    FROM unnest(CAST(:ids AS uuid[]), CAST(:orders AS uuid[])) AS x(id, order_id)
    WHERE k.id = x.id
    """
)


async def record_results(
    session: AsyncSession, results: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    """Store each (key row id, order id): retries with those keys get those orders."""
    if results:
        await session.execute(
            _RECORD, {"ids": [k for k, _ in results], "orders": [o for _, o in results]}
        )


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        text("DELETE FROM idempotency_keys WHERE expires_at <= :now"), {"now": now}
    )
    return int(getattr(result, "rowcount", 0) or 0)
