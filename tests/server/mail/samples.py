"""Notices as commerce would build them (QR codes rendered to PNG with segno)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import segno

from server.mail.notices import (
    CancellationNotice,
    OrderConfirmation,
    OrderLine,
    RefundNotice,
    TicketQr,
    TransferInvitation,
)


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def order_confirmation(**overrides: object) -> OrderConfirmation:
    values: dict[str, object] = {
        "order_id": "0193-order",
        "to": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "order_number": "EV-1042",
        "event_name": "Lagos Jazz <Night> & Friends",
        "currency": "NGN",
        "lines": (OrderLine("General admission", 2, 1_000_000), OrderLine("VIP", 1, 2_500_000)),
        "subtotal": 3_500_000,
        "discount": 500_000,
        "fees": 35_000,
        "total": 3_035_000,
        "tickets": (
            TicketQr("TK-AAA1", "General admission", qr_png("ticket-1")),
            TicketQr("TK-AAA2", "General admission", qr_png("ticket-2")),
            TicketQr("TK-BBB1", "VIP", qr_png("ticket-3"), holder_name="Charles Babbage"),
        ),
        "starts_at": datetime(2027, 3, 14, 19, 30, tzinfo=UTC),
        "venue": "Freedom Park, Lagos",
    }
    values.update(overrides)
    return OrderConfirmation(**values)  # type: ignore[arg-type]


def transfer_invitation() -> TransferInvitation:
    return TransferInvitation(
        transfer_id="0193-transfer",
        to="grace@example.com",
        sender_name="Ada Lovelace",
        event_name="Lagos Jazz Night",
        ticket_type="VIP",
        token="tok_abc+/=123",
        expires_at=datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
    )


def refund_notice() -> RefundNotice:
    return RefundNotice(
        refund_id="0193-refund",
        to="ada@example.com",
        customer_name="Ada Lovelace",
        order_number="EV-1042",
        event_name="Lagos Jazz Night",
        amount=1_000_000,
        currency="NGN",
        reason="Requested by the customer",
    )


def cancellation_notice(cause: str = "event") -> CancellationNotice:
    return CancellationNotice(
        order_id="0193-order",
        to="ada@example.com",
        customer_name="Ada Lovelace",
        order_number="EV-1042",
        event_name="Lagos Jazz Night",
        cause=cause,  # type: ignore[arg-type]
        currency="NGN",
        refund_amount=3_035_000,
        reason="The venue flooded",
    )
