"""myTickets: what a signed-in user holds, including guest orders made with their
email; only people see it (not API keys, not anonymous callers)."""

from __future__ import annotations

import httpx

from tests.schema.tickets.helpers import MY_TICKETS, my_tickets, purchase, seated_sale
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient


async def test_a_guest_order_shows_up_once_the_buyer_signs_up_with_that_email(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql)
    email = factories.unique_email("guest")
    placed = await commerce.order(gql, sale, 2, buyer_email=email)
    assert placed["errors"] == []
    await commerce.pay_with_test(gql, client, placed["order"]["id"])

    user = await factories.register(gql, email=email.upper())
    tickets = await my_tickets(gql, user)
    someone_else = await my_tickets(gql, await factories.register(gql))

    assert [(t["status"], t["holderEmail"]) for t in tickets] == [("VALID", email)] * 2
    assert someone_else == []


async def test_tickets_of_several_events_come_soonest_date_first(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    buyer = await factories.register(gql)
    later = await purchase(gql, client, buyer=buyer, dates=2)
    await purchase(gql, client, buyer=buyer, sale=later.sale)  # same event, same (first) date
    sooner_sale = await commerce.sale(gql)
    sooner = await purchase(gql, client, buyer=buyer, sale=sooner_sale)

    tickets = await my_tickets(gql, buyer)

    assert len(tickets) == 3
    assert [t["event"]["id"] for t in tickets].count(later.sale.event_id) == 2
    starts = [t["occurrence"]["startsAt"] for t in tickets]
    assert starts == sorted(starts)
    assert sooner.ticket["id"] in {t["id"] for t in tickets}


async def test_seated_tickets_show_their_seat(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale, seat_ids = await seated_sale(gql, seats=4)

    bought = await purchase(gql, client, sale=sale, quantity=2, item={"seatIds": seat_ids[:2]})

    seats = sorted((t["seat"]["id"], t["seat"]["section"]) for t in bought.tickets)
    assert seats == sorted((s, "A") for s in seat_ids[:2])


async def test_only_signed_in_people_have_tickets(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    key = await factories.create_api_key(gql, org, ["orders:read"])

    assert await gql.error_code(MY_TICKETS) == "UNAUTHENTICATED"
    assert await gql.error_code(MY_TICKETS, api_key=key) == "FORBIDDEN"
