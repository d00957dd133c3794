"""Stripe events, normalized. Only the five types commerce acts on are read closely:

| Stripe type                      | kind              | data.object   |
|----------------------------------|-------------------|---------------|
| payment_intent.succeeded         | payment_succeeded | PaymentIntent |
| payment_intent.payment_failed    | payment_failed    | PaymentIntent |
| charge.refunded                  | refunded          | Charge        |
| charge.dispute.created           | dispute_opened    | Dispute       |
| charge.dispute.closed            | dispute_closed    | Dispute       |

Every other type is kept as `other`. Our reference travels in the PaymentIntent's
`metadata[reference]` (Stripe copies it onto the charge); disputes carry only the
PaymentIntent id. For `charge.refunded`, `amount_refunded` is the running total; the
amount of this refund is the growth since `previous_attributes.amount_refunded`.
"""

from __future__ import annotations

from typing import Any

from server.payments.base import (
    DisputeOutcome,
    EventKind,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
)
from server.payments.errors import MalformedWebhook

KINDS = {
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "charge.refunded": EventKind.REFUNDED,
    "charge.dispute.created": EventKind.DISPUTE_OPENED,
    "charge.dispute.closed": EventKind.DISPUTE_CLOSED,
}
PENDING_INTENT_STATUSES = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
}


def intent_status(intent: dict[str, Any]) -> PaymentStatus:
    status = intent.get("status")
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status == "canceled":
        return PaymentStatus.CANCELED
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentStatus.FAILED
    return PaymentStatus.PENDING


def normalize(event: Any) -> ProviderEvent:
    if not isinstance(event, dict):
        raise MalformedWebhook("The webhook body is not a JSON object.")
    event_id = _text(event, "id", "id")
    event_type = _text(event, "type", "type")
    kind = KINDS.get(event_type, EventKind.OTHER)
    data = event.get("data")
    if not isinstance(data, dict):
        data = {}
    obj = data.get("object")
    if not isinstance(obj, dict):
        if kind is EventKind.OTHER:
            return _event(event, event_id, event_type, kind)
        raise MalformedWebhook("The Stripe event has no data.object.")
    if kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED):
        return _payment(event, event_id, event_type, kind, obj)
    if kind is EventKind.REFUNDED:
        return _refund(event, event_id, event_type, obj, data)
    if kind in (EventKind.DISPUTE_OPENED, EventKind.DISPUTE_CLOSED):
        return _dispute(event, event_id, event_type, kind, obj)
    return _event(event, event_id, event_type, kind)


def _payment(
    event: dict[str, Any], event_id: str, event_type: str, kind: EventKind, intent: dict[str, Any]
) -> ProviderEvent:
    amount_field = "amount_received" if kind is EventKind.PAYMENT_SUCCEEDED else "amount"
    amount = _int(intent, amount_field, f"data.object.{amount_field}")
    error = intent.get("last_payment_error")
    return ProviderEvent(
        provider=ProviderName.STRIPE,
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        reference=_metadata_reference(intent),
        provider_ref=_text(intent, "id", "data.object.id"),
        amount_minor=amount,
        currency=_currency(intent),
        failure_message=error.get("message") if isinstance(error, dict) else None,
        raw=event,
    )


def _refund(
    event: dict[str, Any],
    event_id: str,
    event_type: str,
    charge: dict[str, Any],
    data: dict[str, Any],
) -> ProviderEvent:
    total = _int(charge, "amount_refunded", "data.object.amount_refunded")
    previous = data.get("previous_attributes")
    before = previous.get("amount_refunded") if isinstance(previous, dict) else None
    this_refund = total - before if isinstance(before, int) and 0 <= before <= total else total
    refunds = charge.get("refunds")
    latest = refunds.get("data") if isinstance(refunds, dict) else None
    refund_ref = latest[0].get("id") if isinstance(latest, list) and latest else None
    return ProviderEvent(
        provider=ProviderName.STRIPE,
        event_id=event_id,
        event_type=event_type,
        kind=EventKind.REFUNDED,
        reference=_metadata_reference(charge),
        provider_ref=_text(charge, "payment_intent", "data.object.payment_intent"),
        amount_minor=this_refund,
        currency=_currency(charge),
        refunded_total_minor=total,
        refund_ref=refund_ref if isinstance(refund_ref, str) else None,
        raw=event,
    )


def _dispute(
    event: dict[str, Any], event_id: str, event_type: str, kind: EventKind, dispute: dict[str, Any]
) -> ProviderEvent:
    outcome = None
    if kind is EventKind.DISPUTE_CLOSED:
        status = dispute.get("status")
        # "warning_closed": an inquiry that closed without the money moving.
        outcome = DisputeOutcome.LOST if status == "lost" else DisputeOutcome.WON
    return ProviderEvent(
        provider=ProviderName.STRIPE,
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        reference=_metadata_reference(dispute),
        provider_ref=_text(dispute, "payment_intent", "data.object.payment_intent"),
        amount_minor=_int(dispute, "amount", "data.object.amount"),
        currency=_currency(dispute),
        dispute_outcome=outcome,
        raw=event,
    )


def _event(event: dict[str, Any], event_id: str, event_type: str, kind: EventKind) -> ProviderEvent:
    return ProviderEvent(
        provider=ProviderName.STRIPE,
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        reference=None,
        provider_ref=None,
        amount_minor=None,
        currency=None,
        raw=event,
    )


def _metadata_reference(obj: dict[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    value = metadata.get("reference") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None


def _text(obj: dict[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedWebhook(f"The Stripe event is missing {path}.")
    return value


def _int(obj: dict[str, Any], key: str, path: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedWebhook(f"The Stripe event is missing {path} (an amount in minor units).")
    return value


def _currency(obj: dict[str, Any]) -> str:
    value = obj.get("currency")
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise MalformedWebhook("The Stripe event is missing data.object.currency.")
    return value.upper()
