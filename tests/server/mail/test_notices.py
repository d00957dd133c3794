"""Rendering notices: plain text and HTML alternatives, escaping, QR images inline with
the HTML referencing them, the transfer link."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from server.mail.message import build_message
from server.mail.notices import (
    cancellation_notice,
    order_confirmation,
    refund_notice,
    transfer_invitation,
)
from tests.server.mail import samples

NOW = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
BASE_URL = "https://tickets.example.com"


def built(mail: object) -> EmailMessage:
    return build_message(mail, sender="tickets@example.com", now=NOW)  # type: ignore[arg-type]


def test_order_confirmation_has_text_html_and_one_inline_qr_per_ticket() -> None:
    notice = samples.order_confirmation()

    message = built(order_confirmation(notice, base_url=BASE_URL))

    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert "EV-1042" in plain
    assert "2 x General admission: 10000.00 NGN" in plain
    assert "Total: 30350.00 NGN" in plain
    assert "TK-BBB1  VIP  (Charles Babbage)" in plain
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3
    page = html.get_content()
    for image, ticket in zip(images, notice.tickets, strict=True):
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in page
        assert image.get_content() == ticket.png
        assert image.get_content_disposition() == "inline"
        assert image.get_filename() == f"ticket-{ticket.code}.png"


def test_user_supplied_text_is_escaped_in_html_and_left_alone_in_text() -> None:
    notice = samples.order_confirmation(customer_name="<script>alert(1)</script>")

    message = built(order_confirmation(notice, base_url=BASE_URL))

    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lagos Jazz &lt;Night&gt; &amp; Friends" in page
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hello <script>alert(1)</script>," in plain


def test_the_same_notice_gets_the_same_message_id() -> None:
    first = built(order_confirmation(samples.order_confirmation(), base_url=BASE_URL))
    again = built(order_confirmation(samples.order_confirmation(), base_url=BASE_URL))
    other = built(
        order_confirmation(samples.order_confirmation(order_id="other"), base_url=BASE_URL)
    )

    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@example.com>")


def test_transfer_invitation_links_to_the_accept_page_with_the_token() -> None:
    message = built(transfer_invitation(samples.transfer_invitation(), base_url=BASE_URL + "/"))

    link = "https://tickets.example.com/transfers/accept?token=tok_abc%2B%2F%3D123"
    assert link in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{link}"' in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Ada Lovelace sent you a ticket for Lagos Jazz Night"


def test_refund_notice_states_the_amount_and_reason() -> None:
    message = built(refund_notice(samples.refund_notice(), base_url=BASE_URL))

    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert message["Subject"] == "Refund of 10000.00 NGN for order EV-1042"
    assert "We have refunded 10000.00 NGN for order EV-1042 (Lagos Jazz Night)." in plain
    assert "Reason: Requested by the customer" in plain


def test_cancellation_notice_says_whether_the_event_or_the_order_was_cancelled() -> None:
    event = built(cancellation_notice(samples.cancellation_notice("event"), base_url=BASE_URL))
    order = built(cancellation_notice(samples.cancellation_notice("order"), base_url=BASE_URL))

    assert event["Subject"] == "Lagos Jazz Night is cancelled"
    assert "cancelled by the organizer" in event.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "You will be refunded 30350.00 NGN." in event.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert order["Subject"] == "Order EV-1042 is cancelled"
    assert event["Message-ID"] != order["Message-ID"]
