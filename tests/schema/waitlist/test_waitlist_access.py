"""Joining and reading waitlists: bad input is refused with a code and changes nothing;
members of other organizations, anonymous callers and lesser roles are refused."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.app_state import AppState
from server.waitlist.models import WaitlistEntry
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.waitlist import (
    MINE,
    OFFER,
    REMOVE,
    WAITLIST,
    join,
    sell_out,
    waitlisted_sale,
)


async def _entries(state: AppState) -> int:
    async with state.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(WaitlistEntry)) or 0)


async def test_bad_joins_are_refused_and_change_nothing(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    on_sale = await join(gql, sale, email="early@example.com")
    assert payload_errors(on_sale) == [("INVALID_STATE", ["ticketTypeId"])]

    await sell_out(gql, sale, 1)
    assert (await join(gql, sale, email="me@example.com"))["errors"] == []
    twice = await join(gql, sale, email="ME@example.com")
    assert payload_errors(twice) == [("CONFLICT", ["email"])]
    too_many = await join(gql, sale, email="big@example.com", quantity=5)
    assert payload_errors(too_many) == [("LIMIT_EXCEEDED", ["quantity"])]
    no_email = await join(gql, sale)
    assert payload_errors(no_email) == [("VALIDATION", ["email"])]
    bad_email = await join(gql, sale, email="not an email")
    assert payload_errors(bad_email)[0][1] == ["email"]
    plain = await commerce.sale(gql, quantity=1)
    await sell_out(gql, plain, 1)
    disabled = await join(gql, plain, email="x@example.com")
    assert payload_errors(disabled) == [("INVALID_STATE", ["ticketTypeId"])]
    assert await _entries(state) == 1


async def test_another_organizations_private_type_reads_as_a_random_id(
    gql: GraphQLClient, state: AppState
) -> None:
    sale = await waitlisted_sale(gql, quantity=1, visibility="PRIVATE")
    await sell_out_private(gql, sale)
    outsider = await factories.create_org(gql)
    private = await join(gql, sale, token=outsider.owner.token)
    random = await join(gql, sale, token=outsider.owner.token, ticket_type_id=str(uuid.uuid4()))
    assert payload_errors(private) == payload_errors(random) == [("NOT_FOUND", ["ticketTypeId"])]
    assert private["errors"][0]["message"] == random["errors"][0]["message"]
    guest = await join(gql, sale, email="guest@example.com")
    assert payload_errors(guest) == [("NOT_FOUND", ["ticketTypeId"])]
    assert await _entries(state) == 0


async def sell_out_private(gql: GraphQLClient, sale: commerce.Sale) -> None:
    placed = await commerce.order(gql, sale, token=sale.org.owner.token)
    assert placed["errors"] == [], placed["errors"]


async def test_members_read_the_waitlist_and_only_managers_change_it(
    gql: GraphQLClient, state: AppState
) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(
        gql,
        cast.org,
        quantity=1,
        ticket_type={"waitlistEnabled": True, "maxPerOrder": 4},
    )
    await sell_out(gql, sale, 1)
    buyer = await factories.register(gql)
    mine = (await join(gql, sale, token=buyer.token, quantity=2))["entry"]
    other = (await join(gql, sale, email="other@example.com"))["entry"]

    listed = await gql(WAITLIST, {"ticketTypeId": sale.ticket_type_id}, token=cast.staff.token)
    assert [e["id"] for e in listed["waitlist"]] == [mine["id"], other["id"]]
    assert [e["position"] for e in listed["waitlist"]] == [1, 2]
    for caller in (cast.outsider.token, None):
        code = await gql.error_code(WAITLIST, {"ticketTypeId": sale.ticket_type_id}, token=caller)
        random = await gql.error_code(WAITLIST, {"ticketTypeId": str(uuid.uuid4())}, token=caller)
        assert code == random == ("NOT_FOUND" if caller else "UNAUTHENTICATED")

    for caller in (cast.staff.token, cast.outsider.token):
        refused = await gql.raw(REMOVE, {"id": other["id"]}, token=caller)
        body = refused.json()
        answer = body.get("errors") or body["data"]["removeWaitlistEntry"]["errors"]
        assert answer, body
    assert (await gql.error_code(REMOVE, {"id": other["id"]}, token=cast.staff.token)) == (
        "FORBIDDEN"
    )
    outsider = (await gql(REMOVE, {"id": other["id"]}, token=cast.outsider.token))[
        "removeWaitlistEntry"
    ]
    random = (await gql(REMOVE, {"id": str(uuid.uuid4())}, token=cast.outsider.token))[
        "removeWaitlistEntry"
    ]
    assert payload_errors(outsider) == payload_errors(random) == [("NOT_FOUND", ["id"])]

    # A manager offers out of turn; nothing is free, so it is refused and nothing changes.
    refused = (await gql(OFFER, {"id": other["id"]}, token=cast.manager.token))[
        "offerWaitlistEntry"
    ]
    assert payload_errors(refused) == [("SOLD_OUT", ["id"])]
    await gql(
        "mutation($input: UpdateTicketTypeInput!) { updateTicketType(input: $input) {"
        " errors { code } } }",
        {"input": {"id": sale.ticket_type_id, "quantity": 2}},
        token=cast.owner.token,
    )
    # The raised unit went to the waitlist's pool; the manager gives it to the second entry.
    offered = (await gql(OFFER, {"id": other["id"]}, token=cast.manager.token))[
        "offerWaitlistEntry"
    ]
    assert offered["errors"] == [] and offered["entry"]["status"] == "OFFERED"
    assert offered["entry"]["offerToken"]
    removed = (await gql(REMOVE, {"id": mine["id"]}, token=cast.manager.token))[
        "removeWaitlistEntry"
    ]
    assert removed["entry"]["status"] == "LEFT"

    staff_view = await gql(WAITLIST, {"ticketTypeId": sale.ticket_type_id}, token=cast.staff.token)
    assert [e["offerToken"] for e in staff_view["waitlist"]] == [None, None]
    manager_view = await gql(
        WAITLIST,
        {"ticketTypeId": sale.ticket_type_id, "status": "OFFERED"},
        token=cast.manager.token,
    )
    assert [e["offerToken"] for e in manager_view["waitlist"]] == [offered["entry"]["offerToken"]]

    assert [e["id"] for e in (await gql(MINE, token=buyer.token))["myWaitlistEntries"]] == [
        mine["id"]
    ]
    assert await gql.error_code(MINE) == "UNAUTHENTICATED"


PAGE = """
query($t: ID!, $first: Int, $after: String) {
  waitlist(ticketTypeId: $t, first: $first, after: $after) { id email position }
}
"""


async def test_members_page_through_the_waitlist_after_an_entry(gql: GraphQLClient) -> None:
    sale = await waitlisted_sale(gql, quantity=1)
    await sell_out(gql, sale, 1)
    for n in range(3):
        assert (await join(gql, sale, email=f"w{n}@example.com"))["errors"] == []
    owner = sale.org.owner.token

    first = (await gql(PAGE, {"t": sale.ticket_type_id, "first": 2}, token=owner))["waitlist"]
    rest = (
        await gql(
            PAGE, {"t": sale.ticket_type_id, "first": 2, "after": first[-1]["id"]}, token=owner
        )
    )["waitlist"]
    bad = await gql.raw(PAGE, {"t": sale.ticket_type_id, "after": "not-an-id"}, token=owner)

    assert [e["email"] for e in first] == ["w0@example.com", "w1@example.com"]
    assert [(e["email"], e["position"]) for e in rest] == [("w2@example.com", 3)]
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad.json()["data"] is None
