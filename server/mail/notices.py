"""The mails the platform sends, each built from a plain dataclass by the domain that
sends it (commerce renders ticket QR codes to PNG bytes before building the notice).

Templates are `string.Template` files in `templates/`: `$name` placeholders, no logic.
Every value is escaped for the HTML version; repeated parts (order lines, tickets) are
built here."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from string import Template
from typing import Literal
from urllib.parse import urlencode

from server.mail.message import InlineImage, Mail
from server.money import money_text

TEMPLATES = Path(__file__).with_name("templates")
SITE_NAME = "eventapi"


@dataclass(frozen=True)
class OrderLine:
    description: str
    quantity: int
    amount: int  # the line's total, minor units


@dataclass(frozen=True)
class TicketQr:
    code: str  # short ticket reference printed under the QR code
    ticket_type: str
    png: bytes  # the QR code image
    holder_name: str | None = None


@dataclass(frozen=True)
class OrderConfirmation:
    order_id: str
    to: str
    customer_name: str
    order_number: str
    event_name: str
    currency: str
    lines: tuple[OrderLine, ...]
    subtotal: int
    discount: int
    fees: int
    total: int
    tickets: tuple[TicketQr, ...]
    starts_at: datetime | None = None
    venue: str | None = None


@dataclass(frozen=True)
class TransferInvitation:
    transfer_id: str
    to: str
    sender_name: str
    event_name: str
    ticket_type: str
    token: str
    starts_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class RefundNotice:
    refund_id: str
    to: str
    customer_name: str
    order_number: str
    event_name: str
    amount: int
    currency: str
    reason: str | None = None


@dataclass(frozen=True)
class CancellationNotice:
    order_id: str
    to: str
    customer_name: str
    order_number: str
    event_name: str
    cause: Literal["order", "event"]  # the order alone, or the whole event, was cancelled
    currency: str
    refund_amount: int | None = None
    reason: str | None = None


Notice = OrderConfirmation | TransferInvitation | RefundNotice | CancellationNotice


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _text(name: str, values: dict[str, str]) -> str:
    return _template(f"{name}.txt").substitute(values)


def _html(name: str, values: dict[str, str], *, raw: frozenset[str] = frozenset()) -> str:
    """The HTML page; values are escaped except those in `raw` (fragments built here from
    escaped parts)."""
    escaped = {k: (v if k in raw else html.escape(v)) for k, v in values.items()}
    body = _template(f"{name}.html").substitute(escaped)
    return _template("layout.html").substitute(
        title=html.escape(values["subject"]), body=body, site=SITE_NAME
    )


def _render(name: str, values: dict[str, str]) -> tuple[str, str]:
    return _text(name, values), _html(name, values)


def _datetime(value: datetime) -> str:
    return f"{value:%A %d %B %Y, %H:%M} {value.tzname() or ''}".rstrip()


def _when(starts_at: datetime | None) -> str:
    return f"When: {_datetime(starts_at)}\n" if starts_at else ""


def order_confirmation(notice: OrderConfirmation, *, base_url: str) -> Mail:
    subject = f"Your tickets for {notice.event_name} (order {notice.order_number})"
    money = notice.currency
    text_lines = "".join(
        f"  {line.quantity} x {line.description}: {money_text(line.amount, money)}\n"
        for line in notice.lines
    )
    html_lines = "".join(
        f"<tr><td>{html.escape(line.description)}</td><td>{line.quantity}</td>"
        f'<td style="text-align:right">{html.escape(money_text(line.amount, money))}</td></tr>'
        for line in notice.lines
    )
    images = tuple(
        InlineImage(f"ticket-{i}-{_safe(t.code)}@eventapi", f"ticket-{_safe(t.code)}.png", t.png)
        for i, t in enumerate(notice.tickets)
    )
    text_tickets = "".join(
        f"  {t.code}  {t.ticket_type}" + (f"  ({t.holder_name})" if t.holder_name else "") + "\n"
        for t in notice.tickets
    )
    html_tickets = "".join(
        '<div style="display:inline-block;margin:8px;text-align:center">'
        f'<img src="cid:{image.content_id}" alt="QR code for ticket {html.escape(t.code)}" '
        'width="180" height="180"><br>'
        f"<strong>{html.escape(t.ticket_type)}</strong><br>"
        f'<span style="font-family:monospace">{html.escape(t.code)}</span>'
        + (f"<br>{html.escape(t.holder_name)}" if t.holder_name else "")
        + "</div>"
        for t, image in zip(notice.tickets, images, strict=True)
    )
    values = {
        "subject": subject,
        "name": notice.customer_name,
        "order_number": notice.order_number,
        "event": notice.event_name,
        "when": _when(notice.starts_at),
        "venue": f"Where: {notice.venue}\n" if notice.venue else "",
        "subtotal": money_text(notice.subtotal, money),
        "discount": money_text(notice.discount, money),
        "fees": money_text(notice.fees, money),
        "total": money_text(notice.total, money),
    }
    text = _text("order_confirmation", {**values, "lines": text_lines, "tickets": text_tickets})
    page = _html(
        "order_confirmation",
        {**values, "lines": html_lines, "tickets": html_tickets},
        raw=frozenset({"lines", "tickets"}),
    )
    return Mail(
        to=notice.to,
        subject=subject,
        text=text,
        html=page,
        inline_images=images,
        idempotency_key=f"order-confirmation:{notice.order_id}",
    )


def transfer_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/transfers/accept?{urlencode({'token': token})}"


def transfer_invitation(notice: TransferInvitation, *, base_url: str) -> Mail:
    subject = f"{notice.sender_name} sent you a ticket for {notice.event_name}"
    expiry = f"The offer stands until {_datetime(notice.expires_at)}." if notice.expires_at else ""
    text, page = _render(
        "transfer_invitation",
        {
            "subject": subject,
            "sender": notice.sender_name,
            "event": notice.event_name,
            "ticket_type": notice.ticket_type,
            "when": _when(notice.starts_at),
            "link": transfer_link(base_url, notice.token),
            "expiry": expiry,
        },
    )
    return Mail(
        to=notice.to,
        subject=subject,
        text=text,
        html=page,
        idempotency_key=f"transfer-invitation:{notice.transfer_id}",
    )


def refund_notice(notice: RefundNotice, *, base_url: str) -> Mail:
    amount = money_text(notice.amount, notice.currency)
    subject = f"Refund of {amount} for order {notice.order_number}"
    text, page = _render(
        "refund_notice",
        {
            "subject": subject,
            "name": notice.customer_name,
            "amount": amount,
            "order_number": notice.order_number,
            "event": notice.event_name,
            "reason": f"Reason: {notice.reason}" if notice.reason else "",
        },
    )
    return Mail(
        to=notice.to,
        subject=subject,
        text=text,
        html=page,
        idempotency_key=f"refund:{notice.refund_id}",
    )


def cancellation_notice(notice: CancellationNotice, *, base_url: str) -> Mail:
    if notice.cause == "event":
        title = f"{notice.event_name} is cancelled"
        headline = (
            f"{notice.event_name} has been cancelled by the organizer, "
            f"so your order {notice.order_number} is cancelled."
        )
    else:
        title = f"Order {notice.order_number} is cancelled"
        headline = f"Your order {notice.order_number} for {notice.event_name} has been cancelled."
    refund = (
        f"You will be refunded {money_text(notice.refund_amount, notice.currency)}."
        if notice.refund_amount
        else ""
    )
    text, page = _render(
        "cancellation_notice",
        {
            "subject": title,
            "title": title,
            "name": notice.customer_name,
            "headline": headline,
            "reason": f"Reason: {notice.reason}" if notice.reason else "",
            "refund": refund,
        },
    )
    return Mail(
        to=notice.to,
        subject=title,
        text=text,
        html=page,
        idempotency_key=f"cancellation:{notice.cause}:{notice.order_id}",
    )


def render_notice(notice: Notice, *, base_url: str) -> Mail:
    if isinstance(notice, OrderConfirmation):
        return order_confirmation(notice, base_url=base_url)
    if isinstance(notice, TransferInvitation):
        return transfer_invitation(notice, base_url=base_url)
    if isinstance(notice, RefundNotice):
        return refund_notice(notice, base_url=base_url)
    return cancellation_notice(notice, base_url=base_url)


def _safe(code: str) -> str:
    return "".join(c for c in code if c.isalnum() or c in "-_")[:64] or "ticket"
