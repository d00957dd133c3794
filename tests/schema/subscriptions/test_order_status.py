"""`orderStatus`: the buyer (or the organization's staff) sees the order now, then after
every change; nobody else may watch it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import ORDER_STATUS, InProcessServer, connect

CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"


def status(data: dict[str, Any]) -> tuple[str, str, list[str]]:
    order = data["orderStatus"]
    return order["id"], order["status"], [p["status"] for p in order["payments"]]


async def test_the_buyer_sees_pending_then_confirmed(
    gql: GraphQLClient, client: httpx.AsyncClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    placed = await commerce.order(gql, sale, 2, token=buyer.token)
    order_id = placed["order"]["id"]
    async with connect(ws_server.url, token=buyer.token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert status(await sub.next()) == (order_id, "PENDING", [])

        await commerce.pay_with_test(gql, client, order_id, token=buyer.token)
        # Creating the payment may or may not be its own update; the last is confirmed.
        seen = status(await sub.next())
        while seen[1] == "PENDING":
            seen = status(await sub.next())
        assert seen == (order_id, "CONFIRMED", ["SUCCEEDED"])


async def test_a_cancelled_order_is_told(gql: GraphQLClient, ws_server: InProcessServer) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]
    async with connect(ws_server.url, token=buyer.token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert status(await sub.next())[1] == "PENDING"
        cancelled = await gql(CANCEL, {"id": order_id}, token=buyer.token)
        assert cancelled["cancelOrder"]["errors"] == []
        assert status(await sub.next())[1] == "CANCELLED"


async def test_staff_of_the_organization_may_watch_an_order(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    staff = await factories.add_member(gql, sale.org, "STAFF")
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]
    async with connect(ws_server.url, token=staff.token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert status(await sub.next()) == (order_id, "PENDING", [])


async def refused(url: str, order_id: str, token: str | None) -> dict[str, Any]:
    async with connect(url, token=token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        message = await sub.message()
        assert message["type"] == "error", message
        return dict(message["payload"][0])


async def test_nobody_else_may_watch_an_order(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    other_buyer = await factories.register(gql)
    outsider = await factories.create_org(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]

    for token in (other_buyer.token, outsider.owner.token, None):
        error = await refused(ws_server.url, order_id, token)
        assert error["extensions"] == {"code": "NOT_FOUND"}, token
    unknown = await refused(ws_server.url, str(uuid.uuid4()), buyer.token)
    assert unknown["extensions"] == {"code": "NOT_FOUND"}
    malformed = await refused(ws_server.url, "123", buyer.token)
    assert malformed["extensions"] == {"code": "BAD_USER_INPUT"}


REMOVE_MEMBER = "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }"
LOGOUT = "mutation { logout }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"


async def ended_with(sub: Any) -> str:
    """The stream's closing error code (a `next` carrying errors, or `error`)."""
    message = await sub.message()
    while message["type"] == "next" and "errors" not in message["payload"]:
        message = await sub.message()
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert "data" not in message["payload"] or message["payload"]["data"] is None, message
    return str(errors[0]["extensions"]["code"])


async def test_a_member_removed_mid_stream_sees_no_further_update(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    staff = await factories.add_member(gql, sale.org, "STAFF")
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]
    async with connect(ws_server.url, token=staff.token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert status(await sub.next())[1] == "PENDING"

        removed = await gql(
            REMOVE_MEMBER, {"o": sale.org.id, "u": staff.id}, token=sale.org.owner.token
        )
        assert removed["removeMember"] is True
        cancelled = await gql(CANCEL, {"id": order_id}, token=buyer.token)
        assert cancelled["cancelOrder"]["errors"] == []

        assert await ended_with(sub) == "NOT_FOUND"


async def test_a_buyer_who_signed_out_sees_no_further_update(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]
    async with connect(ws_server.url, token=buyer.token) as ws:
        sub = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert status(await sub.next())[1] == "PENDING"

        # The socket's session ends; the buyer goes on in a new one.
        assert (await gql(LOGOUT, token=buyer.token))["logout"] is True
        login = await gql(LOGIN, {"input": {"email": buyer.email, "password": buyer.password}})
        fresh = login["login"]["accessToken"]
        cancelled = await gql(CANCEL, {"id": order_id}, token=fresh)
        assert cancelled["cancelOrder"]["errors"] == []

        assert await ended_with(sub) == "UNAUTHENTICATED"
