"""Storing and applying provider events: each event once, by its provider event id.

`record_event` runs inside the caller's transaction. Its `INSERT ... ON CONFLICT DO
NOTHING` is the deduplication: of any number of deliveries of one event, sequential or
concurrent, exactly one insert returns a row (concurrent ones wait on the unique index
until the first transaction ends), and only that delivery applies the event, in the
same transaction. If that transaction rolls back, the row goes with it and the next
delivery applies the event instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import EFFECTS_KEY
from server.errors import DomainError, DomainErrors
from server.ids import new_id
from server.payments.base import ProviderEvent
from server.payments.errors import MalformedWebhook
from server.payments.events import handler_for
from server.payments.models import PaymentEvent

MAX_TEXT = {"event_id": 255, "event_type": 64, "reference": 255, "provider_ref": 255}


class Outcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"  # no handler for this kind
    REJECTED = "rejected"  # a handler raised a domain error


@dataclass(frozen=True)
class Receipt:
    event_id: str
    duplicate: bool
    outcome: Outcome | None = None  # None for a duplicate: the first delivery decided
    error_code: str | None = None
    error_message: str | None = None
    row_id: uuid.UUID | None = None


async def record_event(session: AsyncSession, *, event: ProviderEvent, now: datetime) -> Receipt:
    _check_sizes(event)
    inserted = await session.execute(
        insert(PaymentEvent)
        .values(
            id=new_id(),
            provider=event.provider.value,
            event_id=event.event_id,
            event_type=event.event_type,
            kind=event.kind.value,
            reference=event.reference,
            provider_ref=event.provider_ref,
            amount_minor=event.amount_minor,
            currency=event.currency,
            payload=event.raw,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(PaymentEvent.id)
    )
    row_id = inserted.scalar_one_or_none()
    if row_id is None:
        return Receipt(event_id=event.event_id, duplicate=True)

    outcome, code, message = await _apply(session, event, now)
    await session.execute(
        update(PaymentEvent)
        .where(PaymentEvent.id == row_id)
        .values(processed_at=now, outcome=outcome.value, error_code=code, error_message=message)
    )
    return Receipt(
        event_id=event.event_id,
        duplicate=False,
        outcome=outcome,
        error_code=code,
        error_message=message,
        row_id=row_id,
    )


async def _apply(
    session: AsyncSession, event: ProviderEvent, now: datetime
) -> tuple[Outcome, str | None, str | None]:
    handler = handler_for(event.kind)
    if handler is None:
        return Outcome.IGNORED, None, None
    effects: list[object] = session.info.setdefault(EFFECTS_KEY, [])
    mark = len(effects)
    try:
        async with session.begin_nested():
            await handler(session, event, now)
    except DomainError as exc:
        del effects[mark:]  # the savepoint's writes are gone; so are their effects
        return Outcome.REJECTED, exc.code.value, exc.message
    except DomainErrors as exc:
        del effects[mark:]
        first = exc.errors[0] if exc.errors else None
        return Outcome.REJECTED, first.code.value if first else None, str(exc)
    return Outcome.APPLIED, None, None


def _check_sizes(event: ProviderEvent) -> None:
    for name, limit in MAX_TEXT.items():
        value = getattr(event, name)
        if value is not None and len(value) > limit:
            raise MalformedWebhook(f"The event's {name} is longer than {limit} characters.")
