"""`seatAvailability` over graphql-transport-ws: every seat of a date first, then each seat
whose state changes, for whoever may read the event. Orders go through another app
instance, so every update has crossed Redis."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer, Subscription, connect

SEAT_STREAM = """
subscription($o: ID!, $section: String) {
  seatAvailability(occurrenceId: $o, section: $section) { seat { id section row number } state }
}
"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"


def seat(data: dict[str, Any]) -> tuple[str, str]:
    entry = data["seatAvailability"]
    return entry["seat"]["id"], entry["state"]


async def states(sub: Subscription, count: int) -> dict[str, str]:
    return dict(seat(d) for d in await sub.take(count))


async def test_every_seat_first_then_each_seat_that_changes(
    gql: GraphQLClient, client: httpx.AsyncClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 3)})
    ids = await commerce.seat_ids(gql, sale)
    buyer = await factories.register(gql)
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(SEAT_STREAM, {"o": sale.occurrence_ids[0]})
        assert await states(sub, 3) == dict.fromkeys(ids.values(), "AVAILABLE")

        first = await commerce.order(
            gql, sale, 1, token=buyer.token, item={"seatIds": [ids["A/1/1"]]}
        )
        assert first["errors"] == []
        assert seat(await sub.next()) == (ids["A/1/1"], "RESERVED")

        await commerce.pay_with_test(gql, client, first["order"]["id"], token=buyer.token)
        assert seat(await sub.next()) == (ids["A/1/1"], "SOLD")

        second = await commerce.order(
            gql, sale, 2, token=buyer.token, item={"seatIds": [ids["A/1/2"], ids["A/1/3"]]}
        )
        assert await states(sub, 2) == {ids["A/1/2"]: "RESERVED", ids["A/1/3"]: "RESERVED"}
        cancelled = await gql(CANCEL, {"id": second["order"]["id"]}, token=buyer.token)
        assert cancelled["cancelOrder"]["errors"] == []
        assert await states(sub, 2) == {ids["A/1/2"]: "AVAILABLE", ids["A/1/3"]: "AVAILABLE"}
        # Only seats that changed are sent: nothing about A/1/1 came again.
        assert sub.pending() == 0


async def test_one_section_and_two_watchers_of_one_date(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 2), "B": (1, 2)})
    ids = await commerce.seat_ids(gql, sale)
    async with connect(ws_server.url) as ws:
        only_b = await ws.subscribe(SEAT_STREAM, {"o": sale.occurrence_ids[0], "section": "B"})
        everything = await ws.subscribe(SEAT_STREAM, {"o": sale.occurrence_ids[0]})
        assert set(await states(only_b, 2)) == {ids["B/1/1"], ids["B/1/2"]}
        assert len(await states(everything, 4)) == 4

        placed = await commerce.order(gql, sale, 1, item={"seatIds": [ids["A/1/2"]]})
        assert placed["errors"] == []
        assert seat(await everything.next()) == (ids["A/1/2"], "RESERVED")
        placed = await commerce.order(gql, sale, 1, item={"seatIds": [ids["B/1/1"]]})
        assert placed["errors"] == []
        assert seat(await only_b.next()) == (ids["B/1/1"], "RESERVED")
        assert seat(await everything.next()) == (ids["B/1/1"], "RESERVED")
        assert only_b.pending() == 0  # the section A change never reached it


async def refusal(url: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    async with connect(url, token=token) as ws:
        sub = await ws.subscribe(SEAT_STREAM, variables)
        message = await sub.message()
        assert message["type"] == "error", message
        return dict(message["payload"][0])


async def test_a_draft_seat_map_is_for_its_members_and_bad_ids_are_refused(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 2)}, publish=False)
    outsider = await factories.create_org(gql)
    staff = await factories.add_member(gql, sale.org, "STAFF")
    draft = {"o": sale.occurrence_ids[0]}

    assert (await refusal(ws_server.url, draft))["extensions"] == {"code": "NOT_FOUND"}
    other_org = await refusal(ws_server.url, draft, token=outsider.owner.token)
    assert other_org["extensions"] == {"code": "NOT_FOUND"}
    unknown = await refusal(ws_server.url, {"o": str(uuid.uuid4())}, token=outsider.owner.token)
    assert (unknown["extensions"], unknown["message"]) == (
        other_org["extensions"],
        other_org["message"],
    )
    malformed = await refusal(ws_server.url, {"o": "not-an-id"})
    assert malformed["extensions"] == {"code": "BAD_USER_INPUT"}

    async with connect(ws_server.url, token=staff.token) as ws:
        sub = await ws.subscribe(SEAT_STREAM, draft)
        assert set((await states(sub, 2)).values()) == {"AVAILABLE"}
