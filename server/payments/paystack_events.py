"""Paystack events, normalized.

| Paystack event          | kind              | data                              |
|-------------------------|-------------------|-----------------------------------|
| charge.success          | payment_succeeded | Transaction (reference, amount)   |
| charge.failed           | payment_failed    | Transaction                       |
| refund.processed        | refunded          | Refund (transaction_reference)    |
| charge.dispute.create   | dispute_opened    | Dispute (transaction.reference)   |
| charge.dispute.resolve  | dispute_closed    | Dispute (resolution)              |

Paystack events carry no event id, so one is derived from what identifies the change:
`"{event}:{data.id}:{data.status}"` (falling back to the refund reference, then the
transaction reference, when `data.id` is absent). A redelivery of the same event has the
same body and so the same id; a later change of the same object (a refund moving from
pending to processed, a dispute being resolved) has another status and so another id.

The transaction reference is ours (we set it at initialize), so it is both `reference`
and `provider_ref`. A resolved dispute is won when the merchant declined it
(`resolution: "declined"`) and lost otherwise (`"merchant-accepted"`: the card holder is
refunded).
"""

from __future__ import annotations

from typing import Any

from server.numbers import whole_number
from server.payments.base import DisputeOutcome, EventKind, ProviderEvent, ProviderName
from server.payments.errors import MalformedWebhook

KINDS = {
    "charge.success": EventKind.PAYMENT_SUCCEEDED,
    "charge.failed": EventKind.PAYMENT_FAILED,
    "refund.processed": EventKind.REFUNDED,
    "charge.dispute.create": EventKind.DISPUTE_OPENED,
    "charge.dispute.resolve": EventKind.DISPUTE_CLOSED,
}


def event_id(event_type: str, data: dict[str, Any]) -> str:
    ident = (
        data.get("id")
        or data.get("refund_reference")
        or data.get("reference")
        or data.get("transaction_reference")
    )
    if ident is None or isinstance(ident, dict | list) or str(ident) == "":
        raise MalformedWebhook("The Paystack event is missing data.id.")
    return f"{event_type}:{ident}:{data.get('status') or ''}"


def normalize(event: Any) -> ProviderEvent:
    if not isinstance(event, dict):
        raise MalformedWebhook("The webhook body is not a JSON object.")
    event_type = event.get("event")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedWebhook("The Paystack event is missing event.")
    data = event.get("data")
    if not isinstance(data, dict):
        raise MalformedWebhook("The Paystack event is missing data.")
    kind = KINDS.get(event_type, EventKind.OTHER)
    ident = event_id(event_type, data)
    reference: str | None = None
    amount: int | None = None
    currency: str | None = None
    outcome: DisputeOutcome | None = None
    refund_ref: str | None = None
    failure: str | None = None
    if kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED):
        reference = _text(data.get("reference"), "data.reference")
        amount = _amount(data.get("amount"), "data.amount")
        currency = _currency(data.get("currency"), "data.currency")
        if kind is EventKind.PAYMENT_FAILED:
            failure = _optional_text(data.get("gateway_response"))
    elif kind is EventKind.REFUNDED:
        transaction = data.get("transaction")
        nested = transaction.get("reference") if isinstance(transaction, dict) else None
        reference = _text(data.get("transaction_reference") or nested, "data.transaction_reference")
        amount = _amount(data.get("amount"), "data.amount")
        currency = _currency(data.get("currency"), "data.currency")
        refund_ref = _optional_text(data.get("id") or data.get("refund_reference"))
    elif kind in (EventKind.DISPUTE_OPENED, EventKind.DISPUTE_CLOSED):
        transaction = data.get("transaction")
        if not isinstance(transaction, dict):
            raise MalformedWebhook("The Paystack event is missing data.transaction.")
        reference = _text(transaction.get("reference"), "data.transaction.reference")
        disputed = data.get("refund_amount")
        if disputed is None:
            disputed = transaction.get("amount")
        amount = _amount(disputed, "data.refund_amount")
        currency = _currency(data.get("currency") or transaction.get("currency"), "data.currency")
        if kind is EventKind.DISPUTE_CLOSED:
            won = data.get("resolution") == "declined"
            outcome = DisputeOutcome.WON if won else DisputeOutcome.LOST
    return ProviderEvent(
        provider=ProviderName.PAYSTACK,
        event_id=ident,
        event_type=event_type,
        kind=kind,
        reference=reference,
        provider_ref=reference,
        amount_minor=amount,
        currency=currency,
        refund_ref=refund_ref,
        dispute_outcome=outcome,
        failure_message=failure,
        raw=event,
    )


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedWebhook(f"The Paystack event is missing {path}.")
    return value


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value) or None


def _amount(value: Any, path: str) -> int:
    """Paystack sends amounts in the currency's subunit, as a number or a numeric string."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        value = whole_number(value)
    if not isinstance(value, int) or value < 0:
        raise MalformedWebhook(f"The Paystack event is missing {path} (an amount in subunits).")
    return value


def _currency(value: Any, path: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise MalformedWebhook(f"The Paystack event is missing {path}.")
    return value.upper()
