"""Storing and applying provider events: each event once, by its provider event id.

`record_event` runs inside the caller's transaction. Its `INSERT ... ON CONFLICT DO
NOTHING` is the deduplication: of any number of deliveries of one event, sequential or
concurrent, exactly one insert returns a row (concurrent ones wait on the unique index
until the first transaction ends), and only that delivery applies the event, in the
same transaction. If that transaction rolls back, the row goes with it and the next
delivery applies the event instead.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import EFFECTS_KEY
from server.errors import DomainError, DomainErrors
from server.ids import new_id
from server.money import MAX_MINOR
from server.payments.base import ProviderEvent
from server.payments.errors import MalformedWebhook
from server.payments.events import handler_for
from server.payments.models import PaymentEvent

# The columns each value is stored in (payment_events; refunds.provider_ref for refund_ref).
MAX_TEXT = {
    "event_id": 255,
    "event_type": 64,
    "reference": 255,
    "provider_ref": 255,
    "refund_ref": 128,
    "currency": 3,
}
AMOUNTS = ("amount_minor", "refunded_total_minor")
# \u0000 in JSON text, unless its backslash is itself escaped (the six characters \u0000)
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


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
    event = storable(event)
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


def storable(event: ProviderEvent) -> ProviderEvent:
    """The event as PostgreSQL can store it, or MalformedWebhook (answered with 400).
    Identifiers and amounts that do not fit their columns are refused. PostgreSQL text
    cannot hold U+0000: in an identifier it is refused, while in the free text a provider
    relays (a failure message, a buyer's name in the payload) it becomes U+FFFD, so that
    a real payment is never turned away for it."""
    for name, limit in MAX_TEXT.items():
        value = getattr(event, name)
        if value is None:
            continue
        if len(value) > limit:
            raise MalformedWebhook(f"The event's {name} is longer than {limit} characters.")
        if "\x00" in value:
            raise MalformedWebhook(f"The event's {name} contains a NUL character.")
    for name in AMOUNTS:
        amount = getattr(event, name)
        if amount is not None and not 0 <= amount <= MAX_MINOR:
            raise MalformedWebhook(f"The event's {name} is out of range.")
    try:
        payload = json.dumps(event.raw)
    except RecursionError:  # nested just short of what the parser refuses
        raise MalformedWebhook("The webhook body is not a JSON object.") from None
    message = event.failure_message
    if "\\u0000" not in payload and (message is None or "\x00" not in message):
        return event
    return replace(
        event,
        raw=json.loads(_ESCAPED_NUL.sub(r"\1\\ufffd", payload)),
        failure_message=message.replace("\x00", "\ufffd") if message is not None else None,
    )
