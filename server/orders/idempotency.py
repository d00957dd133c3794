"""Idempotency keys for money-moving mutations, scoped to the caller, kept 24 hours.

The key row is claimed with INSERT ... ON CONFLICT DO NOTHING inside the mutation's
transaction, so a concurrent duplicate waits for the first request to commit and then
finds its result; a first request that failed (rolled back) leaves nothing behind."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text, update
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
    VALUES (:id, :scope, :key, :operation, :hash, :now, :expires_at)
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
    """
)


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


async def claim(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    operation: str,
    request_hash: str,
    now: datetime,
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """(key row id, the earlier result's order id or None when this request is the first)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"Idempotency keys are 1 to {MAX_KEY_LENGTH} characters.", field="idempotencyKey"
        )
    params = {
        "id": new_id(),
        "scope": scope,
        "key": key,
        "operation": operation,
        "hash": request_hash,
        "now": now,
        "expires_at": now + RETENTION,
    }
    inserted = await session.scalar(_CLAIM, params)
    if inserted is not None:
        return inserted, None
    row = await session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .with_for_update()
    )
    assert row is not None
    if row.expires_at <= now:
        # An expired key starts over, as if new.
        row.operation, row.request_hash, row.order_id = operation, request_hash, None
        row.created_at, row.expires_at = now, now + RETENTION
        await session.flush()
        return row.id, None
    if row.operation != operation or row.request_hash != request_hash:
        raise KeyReused(field="idempotencyKey")
    return row.id, row.order_id


async def record_result(session: AsyncSession, *, key_id: uuid.UUID, order_id: uuid.UUID) -> None:
    await session.execute(
        update(IdempotencyKey).where(IdempotencyKey.id == key_id).values(order_id=order_id)
    )


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        text("DELETE FROM idempotency_keys WHERE expires_at <= :now"), {"now": now}
    )
    return int(getattr(result, "rowcount", 0) or 0)
