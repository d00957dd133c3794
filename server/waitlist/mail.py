"""The offer mail: which tickets, how long the offer stands, and the token to redeem."""

from __future__ import annotations

import html

from server.mail.message import Mail
from server.ticketing.models import Hold
from server.waitlist.models import WaitlistEntry


def offer_mail(
    *, entry: WaitlistEntry, hold: Hold, ticket_type: str, event_title: str, base_url: str
) -> Mail:
    until = hold.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    tickets = f"{entry.quantity} x {ticket_type}"
    text = (
        f"Good news: tickets you waited for are yours to buy.\n\n"
        f"{event_title}\n{tickets}\n\n"
        f"The offer stands until {until}. Place the order with this offer token "
        f"(createOrder's holdToken), signed in or with this email:\n\n"
        f"    {hold.token}\n\n"
        f"If you no longer want them, do nothing: when the offer ends they go to the next "
        f"person waiting.\n\n{base_url}\n"
    )
    body = (
        "<p>Good news: tickets you waited for are yours to buy.</p>"
        f"<p><strong>{html.escape(event_title)}</strong><br>{html.escape(tickets)}</p>"
        f"<p>The offer stands until {html.escape(until)}. Place the order with this offer "
        "token (createOrder's holdToken), signed in or with this email:</p>"
        f"<p><code>{html.escape(hold.token)}</code></p>"
        "<p>If you no longer want them, do nothing: when the offer ends they go to the next "
        "person waiting.</p>"
    )
    return Mail(
        to=entry.email,
        subject=f"Your waitlist offer: {event_title}",
        text=text,
        html=f"<!doctype html><html><body>{body}</body></html>",
        idempotency_key=f"waitlist-offer:{entry.id}:{hold.id}",
    )
