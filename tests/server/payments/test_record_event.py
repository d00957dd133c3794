"""Storing and applying provider events (`record_event`), against the real database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from server.clock import utcnow
from server.db import EFFECTS_KEY, Database
from server.errors import Conflict
from server.payments.base import EventKind, ProviderEvent, ProviderName
from server.payments.errors import MalformedWebhook
from server.payments.events import handlers_replaced
from server.payments.models import PaymentEvent
from server.payments.service import Outcome, record_event
from tests.fakes.recorder import EventRecorder, applied


def event(event_id: str = "evt_1", **overrides: Any) -> ProviderEvent:
    values: dict[str, Any] = {
        "provider": ProviderName.STRIPE,
        "event_id": event_id,
        "event_type": "payment_intent.succeeded",
        "kind": EventKind.PAYMENT_SUCCEEDED,
        "reference": "pay-1",
        "provider_ref": "pi_1",
        "amount_minor": 2500,
        "currency": "USD",
        "raw": {"id": event_id, "type": "payment_intent.succeeded"},
    }
    values.update(overrides)
    return ProviderEvent(**values)


async def stored(db: Database) -> list[PaymentEvent]:
    async with db.read() as session:
        return list(await session.scalars(select(PaymentEvent).order_by(PaymentEvent.received_at)))


async def test_an_event_is_stored_and_applied(db: Database, event_recorder: EventRecorder) -> None:
    now = utcnow()

    async with db.transaction() as session:
        receipt = await record_event(session, event=event(), now=now)

    [row] = await stored(db)
    assert (receipt.duplicate, receipt.outcome) == (False, Outcome.APPLIED)
    assert (row.provider, row.event_id, row.kind, row.outcome) == (
        "STRIPE",
        "evt_1",
        "payment_succeeded",
        "applied",
    )
    assert (row.reference, row.provider_ref, row.amount_minor, row.currency) == (
        "pay-1",
        "pi_1",
        2500,
        "USD",
    )
    assert row.payload == {"id": "evt_1", "type": "payment_intent.succeeded"}
    assert row.received_at == now and row.processed_at == now
    assert [a["event_id"] for a in await applied(db)] == ["evt_1"]


async def test_a_replay_is_acknowledged_and_ignored(
    db: Database, event_recorder: EventRecorder
) -> None:
    async with db.transaction() as session:
        await record_event(session, event=event(), now=utcnow())

    async with db.transaction() as session:
        replay = await record_event(session, event=event(), now=utcnow())

    assert (replay.duplicate, replay.outcome) == (True, None)
    assert len(await stored(db)) == 1
    assert len(await applied(db)) == 1


async def test_the_same_event_id_from_another_provider_is_another_event(
    db: Database, event_recorder: EventRecorder
) -> None:
    async with db.transaction() as session:
        await record_event(session, event=event("same"), now=utcnow())
        other = await record_event(
            session, event=event("same", provider=ProviderName.PAYSTACK), now=utcnow()
        )

    assert other.duplicate is False
    assert len(await applied(db)) == 2


async def test_concurrent_deliveries_apply_the_event_once(
    db: Database, event_recorder: EventRecorder
) -> None:
    event_recorder.delay_seconds = 0.2

    async def deliver() -> bool:
        async with db.transaction() as session:
            return (await record_event(session, event=event(), now=utcnow())).duplicate

    duplicates = await asyncio.gather(*(deliver() for _ in range(10)))

    assert sorted(duplicates) == [False] + [True] * 9
    assert len(await stored(db)) == 1
    assert len(await applied(db)) == 1


async def test_a_domain_error_rejects_the_event_and_undoes_the_handler(
    db: Database, event_recorder: EventRecorder
) -> None:
    event_recorder.reject_with = Conflict("The order is already cancelled.")

    async with db.transaction() as session:
        receipt = await record_event(session, event=event(), now=utcnow())
        leftover_effects = list(session.info.get(EFFECTS_KEY, []))

    [row] = await stored(db)
    assert (receipt.outcome, receipt.error_code) == (Outcome.REJECTED, "CONFLICT")
    assert (row.outcome, row.error_code, row.error_message) == (
        "rejected",
        "CONFLICT",
        "The order is already cancelled.",
    )
    assert await applied(db) == []
    assert leftover_effects == []


async def test_an_unexpected_error_stores_nothing_so_a_retry_applies_it(
    db: Database, event_recorder: EventRecorder
) -> None:
    event_recorder.crash_with = RuntimeError("database hiccup")

    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await record_event(session, event=event(), now=utcnow())
    assert await stored(db) == []

    event_recorder.crash_with = None
    async with db.transaction() as session:
        retry = await record_event(session, event=event(), now=utcnow())

    assert (retry.duplicate, retry.outcome) == (False, Outcome.APPLIED)
    assert len(await applied(db)) == 1


async def test_an_event_nobody_handles_is_stored_as_ignored(db: Database) -> None:
    with handlers_replaced({}):
        async with db.transaction() as session:
            receipt = await record_event(
                session,
                event=event(kind=EventKind.OTHER, event_type="customer.created"),
                now=utcnow(),
            )

    [row] = await stored(db)
    assert receipt.outcome is Outcome.IGNORED
    assert (row.kind, row.outcome, row.processed_at is not None) == ("other", "ignored", True)


async def test_oversized_identifiers_are_malformed_and_store_nothing(db: Database) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        async with db.transaction() as session:
            await record_event(session, event=event("e" * 256), now=utcnow())

    assert caught.value.message == "The event's event_id is longer than 255 characters."
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentEvent)) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"currency": "USDX"}, "The event's currency is longer than 3 characters."),
        ({"refund_ref": "r" * 129}, "The event's refund_ref is longer than 128 characters."),
        ({"event_id": "evt_\x00"}, "The event's event_id contains a NUL character."),
        ({"reference": "pay\x00"}, "The event's reference contains a NUL character."),
        ({"amount_minor": 2**63}, "The event's amount_minor is out of range."),
        ({"amount_minor": -1}, "The event's amount_minor is out of range."),
        ({"refunded_total_minor": 2**70}, "The event's refunded_total_minor is out of range."),
    ],
)
async def test_values_that_do_not_fit_their_columns_are_malformed_and_store_nothing(
    db: Database, event_recorder: EventRecorder, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        async with db.transaction() as session:
            await record_event(session, event=event(**overrides), now=utcnow())

    assert caught.value.message == message
    assert await stored(db) == []
    assert await applied(db) == []


async def test_nul_characters_in_relayed_text_are_stored_as_replacement_characters(
    db: Database, event_recorder: EventRecorder
) -> None:
    raw = {"id": "evt_1", "data": {"name\x00": ["Ada\x00", "a literal \\u0000"]}}

    async with db.transaction() as session:
        receipt = await record_event(
            session, event=event(raw=raw, failure_message="Card\x00declined"), now=utcnow()
        )

    [row] = await stored(db)
    assert receipt.outcome is Outcome.APPLIED
    assert row.payload == {
        "id": "evt_1",
        "data": {"name\ufffd": ["Ada\ufffd", "a literal \\u0000"]},
    }
    assert [a["event_id"] for a in await applied(db)] == ["evt_1"]
