"""`ticketAvailability` over graphql-transport-ws: a snapshot per ticket type and date,
then every change (orders, payments, cancellations, holds), as each viewer may see it.
Changes are made through another app instance, so every update has crossed Redis."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import (
    AVAILABILITY,
    PROTOCOL,
    InProcessServer,
    Subscription,
    connect,
)

CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"
CREATE_HOLD = """
mutation($input: CreateHoldInput!) { createHold(input: $input) { hold { id } errors { code message } } }
"""
RELEASE_HOLD = "mutation($id: ID!) { releaseHold(id: $id) { hold { id } errors { code } } }"


def counts(data: dict[str, Any]) -> tuple[str, int, int, int, int, str]:
    row = data["ticketAvailability"]
    return (
        row["ticketTypeId"],
        row["available"],
        row["sold"],
        row["reserved"],
        row["held"],
        row["status"],
    )


async def snapshot(sub: Subscription, count: int) -> set[tuple[str, int, int, int, int, str]]:
    return {counts(d) for d in await sub.take(count)}


async def test_anonymous_subscriber_gets_a_snapshot_then_each_change(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=100)
    second = await commerce.add_ticket_type(gql, sale, quantity=50)
    first = sale.ticket_type_id
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert await snapshot(sub, 2) == {
            (first, 100, 0, 0, 0, "ON_SALE"),
            (second, 50, 0, 0, 0, "ON_SALE"),
        }

        assert (await commerce.order(gql, sale, 2))["errors"] == []
        assert counts(await sub.next()) == (first, 98, 0, 2, 0, "ON_SALE")

        # Only what changed is sent: the next message is the second type's, not the first's again.
        assert (await commerce.order(gql, sale, 1, ticket_type_id=second))["errors"] == []
        assert counts(await sub.next()) == (second, 49, 0, 1, 0, "ON_SALE")


async def test_payment_cancellation_and_sell_out_reach_subscribers(
    gql: GraphQLClient, client: httpx.AsyncClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=3)
    buyer = await factories.register(gql)
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert counts(await sub.next()) == (sale.ticket_type_id, 3, 0, 0, 0, "ON_SALE")

        paid = await commerce.order(gql, sale, 2, token=buyer.token)
        assert counts(await sub.next()) == (sale.ticket_type_id, 1, 0, 2, 0, "ON_SALE")
        await commerce.pay_with_test(gql, client, paid["order"]["id"], token=buyer.token)
        assert counts(await sub.next()) == (sale.ticket_type_id, 1, 2, 0, 0, "ON_SALE")

        last = await commerce.order(gql, sale, 1, token=buyer.token)
        assert counts(await sub.next()) == (sale.ticket_type_id, 0, 2, 1, 0, "SOLD_OUT")
        cancelled = await gql(CANCEL, {"id": last["order"]["id"]}, token=buyer.token)
        assert cancelled["cancelOrder"]["errors"] == []
        assert counts(await sub.next()) == (sale.ticket_type_id, 1, 2, 0, 0, "ON_SALE")


async def test_holds_and_their_release_reach_subscribers(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=20)
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert counts(await sub.next()) == (sale.ticket_type_id, 20, 0, 0, 0, "ON_SALE")

        expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        held = await gql(
            CREATE_HOLD,
            {"input": {"ticketTypeId": sale.ticket_type_id, "quantity": 5, "expiresAt": expires}},
            token=sale.org.owner.token,
        )
        assert held["createHold"]["errors"] == []
        assert counts(await sub.next()) == (sale.ticket_type_id, 15, 0, 0, 5, "ON_SALE")

        hold_id = held["createHold"]["hold"]["id"]
        released = await gql(RELEASE_HOLD, {"id": hold_id}, token=sale.org.owner.token)
        assert released["releaseHold"]["errors"] == []
        assert counts(await sub.next()) == (sale.ticket_type_id, 20, 0, 0, 0, "ON_SALE")


async def test_a_date_filter_gets_only_that_date(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10, dates=2)
    first_date, second_date = sale.occurrence_ids
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(
            AVAILABILITY, {"eventId": sale.event_id, "occurrenceId": second_date}
        )
        row = (await sub.next())["ticketAvailability"]
        assert (row["occurrenceId"], row["available"]) == (second_date, 10)

        assert (await commerce.order(gql, sale, 1, occurrenceId=first_date))["errors"] == []
        assert (await commerce.order(gql, sale, 3, occurrenceId=second_date))["errors"] == []
        row = (await sub.next())["ticketAvailability"]
        assert (row["occurrenceId"], row["available"], row["reserved"]) == (second_date, 7, 3)


async def test_whole_event_subscription_covers_every_date(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10, dates=3)
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        rows = [d["ticketAvailability"] for d in await sub.take(3)]
        assert sorted(r["occurrenceId"] for r in rows) == sorted(sale.occurrence_ids)
        assert {r["available"] for r in rows} == {10}


async def test_private_ticket_types_only_for_members(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    private = await commerce.add_ticket_type(gql, sale, quantity=4, visibility="PRIVATE")
    staff = await factories.add_member(gql, sale.org, "STAFF")
    outsider = await factories.create_org(gql)
    async with (
        connect(ws_server.url) as anonymous,
        connect(ws_server.url, token=outsider.owner.token) as other_org,
        connect(ws_server.url, token=staff.token) as member,
    ):
        public_sub = await anonymous.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        outsider_sub = await other_org.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        member_sub = await member.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert {r[0] for r in await snapshot(member_sub, 2)} == {sale.ticket_type_id, private}
        assert counts(await public_sub.next())[0] == sale.ticket_type_id
        assert counts(await outsider_sub.next())[0] == sale.ticket_type_id

        # A change to the private type reaches the member only; the public type's next
        # change is then the first thing the others hear.
        expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        held = await gql(
            CREATE_HOLD,
            {"input": {"ticketTypeId": private, "quantity": 1, "expiresAt": expires}},
            token=sale.org.owner.token,
        )
        assert held["createHold"]["errors"] == []
        assert counts(await member_sub.next()) == (private, 3, 0, 0, 1, "ON_SALE")
        assert (await commerce.order(gql, sale, 2))["errors"] == []
        expected = (sale.ticket_type_id, 8, 0, 2, 0, "ON_SALE")
        assert counts(await public_sub.next()) == expected
        assert counts(await outsider_sub.next()) == expected
        assert counts(await member_sub.next()) == expected


async def refusal(url: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    async with connect(url, token=token) as ws:
        sub = await ws.subscribe(AVAILABILITY, variables)
        message = await sub.message()
        assert message["type"] == "error", message
        assert len(message["payload"]) == 1
        return dict(message["payload"][0])


async def test_a_draft_is_refused_to_everyone_but_its_members(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, publish=False)
    staff = await factories.add_member(gql, sale.org, "STAFF")
    outsider = await factories.create_org(gql)
    variables = {"eventId": sale.event_id}

    anonymous = await refusal(ws_server.url, variables)
    assert anonymous["extensions"] == {"code": "NOT_FOUND"}
    other_org = await refusal(ws_server.url, variables, token=outsider.owner.token)
    assert other_org["extensions"] == {"code": "NOT_FOUND"}
    assert other_org["message"] == anonymous["message"]  # no hint that it exists

    async with connect(ws_server.url, token=staff.token) as ws:
        sub = await ws.subscribe(AVAILABILITY, variables)
        assert counts(await sub.next()) == (sale.ticket_type_id, 100, 0, 0, 0, "NOT_ON_SALE")


async def test_bad_ids_are_refused_with_a_code(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql)
    other = await commerce.sale(gql)

    malformed = await refusal(ws_server.url, {"eventId": "not-an-id"})
    assert malformed["extensions"] == {"code": "BAD_USER_INPUT"}
    unknown = await refusal(ws_server.url, {"eventId": str(uuid.uuid4())})
    assert unknown["extensions"] == {"code": "NOT_FOUND"}
    wrong_date = await refusal(
        ws_server.url, {"eventId": sale.event_id, "occurrenceId": other.occurrence_ids[0]}
    )
    assert wrong_date["extensions"] == {"code": "NOT_FOUND"}
    missing_argument = await refusal(ws_server.url, {})
    assert missing_argument["extensions"]["code"] == "BAD_USER_INPUT"


async def test_bad_credentials_close_the_connection(ws_server: InProcessServer) -> None:
    ws_url = ws_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(
            '{"type": "connection_init", "payload": {"authorization": "Bearer nope"}}'
        )
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 4403
