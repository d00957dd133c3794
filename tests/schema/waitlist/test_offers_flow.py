"""Freed tickets go to the waitlist in order: pooled off public sale, offered as holds,
redeemed only by their buyer, passed on when they expire."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from server.app_state import AppState
from server.config import Settings
from server.jobs import queues
from server.outbox.models import OutboxEvent
from server.waitlist.jobs import serve_waitlists
from server.waitlist.models import WaitlistPool
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.jobs import run_jobs
from tests.support.waitlist import cancel, end_offers_now, entry, join, sell_out, waitlisted_sale


async def test_a_freed_ticket_is_offered_in_order_and_redeemed_by_its_buyer_only(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=2)
    orders = await sell_out(gql, sale, 2)
    first = await join(gql, sale, email="first@example.com")
    second_buyer = await factories.register(gql)
    second = await join(gql, sale, token=second_buyer.token)
    assert first["errors"] == [] and second["errors"] == []
    assert (first["entry"]["position"], second["entry"]["position"]) == (1, 2)
    assert first["entry"]["status"] == "WAITING"

    await cancel(gql, sale, orders[0])
    # Kept for the waitlist at once: not on public sale, even before any offer is made.
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["status"]) == (0, 1, "SOLD_OUT")
    sniper = await commerce.order(gql, sale)
    assert payload_errors(sniper) == [("SOLD_OUT", ["items", "0", "quantity"])]

    assert await serve_waitlists(state) == 1
    assert await serve_waitlists(state) == 0  # idempotent: nothing offered twice
    offered = await entry(gql, first["entry"]["id"])
    assert offered["status"] == "OFFERED" and offered["position"] is None
    assert offered["offerToken"] and offered["offerExpiresAt"]
    waiting = await entry(gql, second["entry"]["id"], token=second_buyer.token)
    assert (waiting["status"], waiting["position"]) == ("WAITING", 1)
    assert waiting["offerToken"] is None

    # Somebody else with the token is refused, and nothing changes.
    stolen = await commerce.order(
        gql, sale, token=second_buyer.token, holdToken=offered["offerToken"]
    )
    assert payload_errors(stolen) == [("NOT_FOUND", ["holdToken"])]
    stolen = await commerce.order(
        gql, sale, buyer_email="thief@example.com", holdToken=offered["offerToken"]
    )
    assert payload_errors(stolen) == [("NOT_FOUND", ["holdToken"])]
    assert (await entry(gql, first["entry"]["id"]))["status"] == "OFFERED"

    bought = await commerce.order(
        gql, sale, buyer_email="First@Example.com", holdToken=offered["offerToken"]
    )
    assert bought["errors"] == [], bought["errors"]
    assert (await entry(gql, first["entry"]["id"]))["status"] == "ACCEPTED"
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["reserved"]) == (0, 0, 2)
    async with state.db.read() as session:
        offers = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == "waitlist.offered")
        )
    assert offers == 1


async def test_an_expired_offer_passes_to_the_next_entry_and_cannot_be_redeemed(
    gql: GraphQLClient, state: AppState, settings: Settings, data_dir: Path
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    [order_id] = await sell_out(gql, sale, 1)
    first = (await join(gql, sale, email="one@example.com"))["entry"]
    second = (await join(gql, sale, email="two@example.com"))["entry"]
    await cancel(gql, sale, order_id)
    await serve_waitlists(state)
    token = (await entry(gql, first["id"]))["offerToken"]
    await run_jobs(settings, state.redis, only=[queues.MAIL])
    mails = "".join(p.read_text(errors="replace") for p in (data_dir / "mail").rglob("*.eml"))
    assert token in mails and "one@example.com" in mails

    await end_offers_now(state.db)
    assert await serve_waitlists(state) == 1
    assert (await entry(gql, first["id"]))["status"] == "EXPIRED"
    passed = await entry(gql, second["id"])
    assert passed["status"] == "OFFERED" and passed["offerToken"] != token
    late = await commerce.order(gql, sale, buyer_email="one@example.com", holdToken=token)
    assert payload_errors(late) == [("EXPIRED", ["holdToken"])]
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["reserved"]) == (0, 1, 0)

    # The last offer expires with nobody left waiting: the ticket goes back on sale.
    await end_offers_now(state.db)
    await serve_waitlists(state)
    assert (await entry(gql, second["id"]))["status"] == "EXPIRED"
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"]) == (1, 0)
    async with state.db.read() as session:
        assert await session.scalar(select(WaitlistPool.units)) == 0


async def test_leaving_with_an_offer_passes_it_on_and_leaving_twice_is_refused(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    [order_id] = await sell_out(gql, sale, 1)
    first = (await join(gql, sale, email="a@example.com"))["entry"]
    second = (await join(gql, sale, email="b@example.com"))["entry"]
    await cancel(gql, sale, order_id)
    await serve_waitlists(state)
    from tests.support.waitlist import LEAVE

    left = (await gql(LEAVE, {"id": first["id"]}))["leaveWaitlist"]
    assert left["errors"] == [] and left["entry"]["status"] == "LEFT"
    again = (await gql(LEAVE, {"id": first["id"]}))["leaveWaitlist"]
    assert payload_errors(again) == [("INVALID_STATE", ["id"])]
    await serve_waitlists(state)
    assert (await entry(gql, second["id"]))["status"] == "OFFERED"


async def test_a_refund_and_a_raised_quantity_free_tickets_for_the_waitlist(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    placed = await commerce.order(gql, sale, buyer_email="payer@example.com")
    await commerce.pay_with_test(gql, client, placed["order"]["id"])
    waiting = [(await join(gql, sale, email=f"w{i}@example.com"))["entry"] for i in range(3)]
    refund = await gql(
        "mutation($input: RefundOrderInput!) { refundOrder(input: $input) { errors { code } } }",
        {"input": {"orderId": placed["order"]["id"]}},
        token=sale.org.owner.token,
    )
    assert refund["refundOrder"]["errors"] == []
    raised = await gql(
        "mutation($input: UpdateTicketTypeInput!) { updateTicketType(input: $input) {"
        " errors { code } } }",
        {"input": {"id": sale.ticket_type_id, "quantity": 2}},
        token=sale.org.owner.token,
    )
    assert raised["updateTicketType"]["errors"] == []
    await serve_waitlists(state)
    statuses = [(await entry(gql, w["id"]))["status"] for w in waiting]
    assert statuses == ["OFFERED", "OFFERED", "WAITING"]
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["sold"]) == (0, 2, 0)
