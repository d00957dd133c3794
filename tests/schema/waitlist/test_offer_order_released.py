"""An order placed with an offer's token that is cancelled or expires unpaid: while the
offer runs the entry is OFFERED again and its token good again; once the offer has ended
the entry is EXPIRED and the units pass to the next entry."""

from __future__ import annotations

from sqlalchemy import text

from server.app_state import AppState
from server.clock import utcnow
from server.orders import lifecycle
from server.waitlist.jobs import serve_waitlists
from tests.support import commerce
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.waitlist import JOIN, cancel, entry, join, sell_out, waitlisted_sale


async def _offered(gql: GraphQLClient, state: AppState, sale: commerce.Sale) -> list[str]:
    """One ticket, sold out, then freed for two waiting entries: the first is offered it."""
    [order_id] = await sell_out(gql, sale, 1)
    first = (await join(gql, sale, email="first@example.com"))["entry"]["id"]
    second = (await join(gql, sale, email="second@example.com"))["entry"]["id"]
    await cancel(gql, sale, order_id)
    assert await serve_waitlists(state) == 1
    return [first, second]


async def _buy(gql: GraphQLClient, sale: commerce.Sale, token: str) -> str:
    placed = await commerce.order(gql, sale, buyer_email="first@example.com", holdToken=token)
    assert placed["errors"] == [], placed["errors"]
    return str(placed["order"]["id"])


async def test_a_cancelled_or_expired_order_gives_the_running_offer_back_to_its_entry(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    first, second = await _offered(gql, state, sale)
    offer = await entry(gql, first)
    order_id = await _buy(gql, sale, offer["offerToken"])
    assert (await entry(gql, first))["status"] == "ACCEPTED"

    await cancel(gql, sale, order_id)
    again = await entry(gql, first)
    assert (again["status"], again["offerToken"]) == ("OFFERED", offer["offerToken"])
    assert again["offerExpiresAt"] == offer["offerExpiresAt"]  # the same window, not a new one
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["reserved"]) == (0, 1, 0)
    assert await serve_waitlists(state) == 0  # nothing passed on: the offer still runs
    assert (await entry(gql, second))["status"] == "WAITING"

    # Redeemable again; this time the order expires unpaid, with the same result.
    order_id = await _buy(gql, sale, offer["offerToken"])
    assert (await entry(gql, first))["status"] == "ACCEPTED"
    async with state.db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": order_id},
        )
        assert await lifecycle.expire_due(session, now=utcnow()) == 1
    assert (await entry(gql, first))["status"] == "OFFERED"
    await _buy(gql, sale, offer["offerToken"])
    assert (await entry(gql, first))["status"] == "ACCEPTED"


async def test_after_the_offer_has_ended_the_entry_expires_and_the_ticket_passes_on(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    first, second = await _offered(gql, state, sale)
    token = (await entry(gql, first))["offerToken"]
    order_id = await _buy(gql, sale, token)
    async with state.db.transaction() as session:  # the offer's window passes
        await session.execute(
            text(
                "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = "
                "(SELECT hold_id FROM waitlist_entries WHERE id = :id)"
            ),
            {"id": first},
        )

    await cancel(gql, sale, order_id)
    ended = await entry(gql, first)
    assert (ended["status"], ended["position"]) == ("EXPIRED", None)
    # Kept for the next entry, off public sale, then offered to it.
    row = (await commerce.availability(gql, sale))[0]
    assert (row["available"], row["held"], row["reserved"]) == (0, 1, 0)
    assert await serve_waitlists(state) == 1
    passed = await entry(gql, second)
    assert passed["status"] == "OFFERED" and passed["offerToken"] != token
    late = await commerce.order(gql, sale, buyer_email="first@example.com", holdToken=token)
    assert payload_errors(late) == [("EXPIRED", ["holdToken"])]


async def test_a_buyer_who_joined_again_keeps_the_new_entry_and_the_old_offer_passes_on(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    first, second = await _offered(gql, state, sale)
    order_id = await _buy(gql, sale, (await entry(gql, first))["offerToken"])
    rejoined = await gql(
        JOIN,
        {
            "input": {
                "ticketTypeId": sale.ticket_type_id,
                "quantity": 1,
                "email": "first@example.com",
            }
        },
    )
    assert rejoined["joinWaitlist"]["errors"] == []
    again = rejoined["joinWaitlist"]["entry"]

    await cancel(gql, sale, order_id)
    assert (await entry(gql, first))["status"] == "EXPIRED"
    assert (await entry(gql, again["id"]))["status"] == "WAITING"
    assert await serve_waitlists(state) == 1
    # The freed ticket goes in order: to the entry that was waiting before the new one.
    assert (await entry(gql, second))["status"] == "OFFERED"
    assert (await entry(gql, again["id"]))["status"] == "WAITING"
