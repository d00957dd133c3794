"""Payment reconciliation: ask the providers about payments whose webhook has not come,
and apply what they say through the same store-once, apply-once path as a webhook.

A provider state becomes a synthetic `ProviderEvent` with a stable id (`reconcile:<payment>:
<state>`), so a reconciliation and the real webhook, in either order, apply once between
them. A state that disagrees with ours (an amount that differs, a payment the provider
never saw) is recorded: the event is stored as rejected with the reason, and logged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from server.config import Settings
from server.db import Database
from server.errors import DomainError
from server.orders.models import Payment, PaymentStatus
from server.payments.base import EventKind, PaymentState, ProviderEvent, ProviderName
from server.payments.base import PaymentStatus as ProviderStatus
from server.payments.registry import get_provider
from server.payments.service import Outcome, record_event

log = structlog.get_logger("eventapi.orders.reconciliation")

GRACE = timedelta(minutes=2)  # let the webhook arrive first
HORIZON = timedelta(days=2)  # older open payments are left to people
BATCH = 100


@dataclass
class Report:
    checked: int = 0
    confirmed: int = 0
    failed: int = 0
    mismatches: int = 0
    unreachable: int = 0


def _event(payment: Payment, state: PaymentState, kind: EventKind) -> ProviderEvent:
    return ProviderEvent(
        provider=ProviderName(payment.provider),
        event_id=f"reconcile:{payment.id}:{state.status.value}",
        event_type=f"reconcile.{state.status.value}",
        kind=kind,
        reference=payment.reference,
        provider_ref=payment.provider_ref,
        amount_minor=state.amount_minor if state.amount_minor is not None else payment.amount_minor,
        currency=state.currency or payment.currency,
        failure_message="The provider reports the payment failed."
        if kind is EventKind.PAYMENT_FAILED
        else None,
        raw={"source": "reconciliation", "state": state.raw},
    )


async def reconcile_payments(db: Database, settings: Settings, *, now: datetime) -> Report:
    report = Report()
    async with db.read() as session:
        payments = (
            await session.scalars(
                select(Payment)
                .where(
                    Payment.status.in_((PaymentStatus.CREATED, PaymentStatus.PENDING)),
                    Payment.provider_ref.is_not(None),
                    Payment.created_at <= now - GRACE,
                    Payment.created_at >= now - HORIZON,
                    Payment.provider != ProviderName.TEST.value,
                )
                .order_by(Payment.created_at)
                .limit(BATCH)
            )
        ).all()
    for payment in payments:
        report.checked += 1
        try:
            provider = get_provider(payment.provider, settings)
            state = await provider.retrieve(
                provider_ref=payment.provider_ref, reference=payment.reference
            )
        except DomainError as error:
            report.unreachable += 1
            log.warning(
                "could not reconcile a payment", payment_id=str(payment.id), error=error.message
            )
            continue
        if state.status is ProviderStatus.SUCCEEDED:
            kind = EventKind.PAYMENT_SUCCEEDED
        elif state.status in (ProviderStatus.FAILED, ProviderStatus.CANCELED):
            kind = EventKind.PAYMENT_FAILED
        else:
            continue
        async with db.transaction() as session:
            receipt = await record_event(session, event=_event(payment, state, kind), now=now)
        if receipt.outcome is Outcome.REJECTED:
            report.mismatches += 1
            log.warning(
                "reconciliation found a mismatch",
                payment_id=str(payment.id),
                reason=receipt.error_message,
            )
        elif kind is EventKind.PAYMENT_SUCCEEDED:
            report.confirmed += 1
        else:
            report.failed += 1
    return report
