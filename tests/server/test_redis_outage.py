"""A real Redis stopped and started again under a running `eventapi serve`: while it is down
every request gets the documented answer (docs/redis-outage.md: a JSON 503 with
`Retry-After` and `SERVICE_UNAVAILABLE` in both GraphQL media types and on REST routes; a
payment webhook is refused whole and applied when delivered again; what needs no Redis
keeps working), and once it is back everything works again without restarting the app. An app started while its Redis is
down stays up, answers the same 503s, and serves once Redis appears."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from server.db import Database
from server.embedded import EmbeddedRedis
from server.orders.models import Order
from server.venues.models import Venue
from tests.schema.tickets.helpers import my_tickets
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import connect
from tests.support.live import LiveServer, free_port
from tests.support.own_servers import own_redis_server
from tests.support.services import ServiceUrls

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
EVENT_PAGE = "query($slug: String!) { event(slug: $slug) { title } }"
CREATE_VENUE = """
mutation($org: ID!) {
  createVenue(input: {organizationId: $org, name: "Hall", timezone: "Africa/Lagos"}) {
    venue { id } errors { code }
  }
}
"""


@pytest.fixture(scope="module")
def own_redis() -> Iterator[EmbeddedRedis]:
    with own_redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def app_started_without_redis(
    services: ServiceUrls, own_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`eventapi serve` started while its (external) Redis is down."""
    tmp = tmp_path_factory.mktemp("outage")
    own_redis.stop()
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": own_redis.url,
        "DATA_DIR": str(tmp / "data"),
        "JWT_SECRET": "test-secret-test-secret-test-secret-0123",
        "BCRYPT_ROUNDS": "4",
        "WORKER_IN_PROCESS": "false",
        "RATE_LIMIT_ANONYMOUS": "100000",
        "RATE_LIMIT_AUTHENTICATED": "100000",
    }
    server = LiveServer(env, free_port(), tmp / "server.log")
    try:
        yield server
    finally:
        server.stop()
        if not _running(own_redis):
            own_redis.start()


@pytest.fixture
async def http(app_started_without_redis: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_started_without_redis.url, timeout=30) as client:
        yield client


async def until(check: Any, what: str, tries: int = 300) -> None:
    for _ in range(tries):
        try:
            if await check():
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def assert_graphql_unavailable(response: httpx.Response, media: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(media)
    assert response.headers["retry-after"] == "5"
    [error] = response.json()["errors"]
    assert "data" not in response.json()
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


def assert_rest_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["requestId"] == response.headers["x-request-id"]


@dataclass
class Bought:
    """A sale, a buyer with one paid ticket, and an unpaid order with its TEST payment."""

    sale: commerce.Sale
    buyer: factories.TestUser
    ticket: dict[str, Any]
    unpaid: dict[str, Any]
    payment: dict[str, Any]


async def bought(gql: GraphQLClient, http: httpx.AsyncClient) -> Bought:
    sale = await commerce.sale(gql)
    buyer = await factories.register(gql)
    paid = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, http, paid["id"], token=buyer.token)
    [ticket] = await my_tickets(gql, buyer)
    unpaid = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    payment = (
        await gql(
            commerce.CREATE_PAYMENT,
            {"input": {"orderId": unpaid["id"], "provider": "TEST"}},
            token=buyer.token,
        )
    )["createPayment"]["payment"]
    return Bought(sale, buyer, ticket, unpaid, payment)


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], media: str, **headers: str
) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"accept": media, **headers},
    )


async def test_an_app_started_while_redis_is_down_stays_up_and_serves_once_it_is_back(
    app_started_without_redis: LiveServer, own_redis: EmbeddedRedis, http: httpx.AsyncClient
) -> None:
    server = app_started_without_redis

    async def live() -> bool:
        return (await http.get("/health/live")).status_code == 200

    await until(live, "the app answers while Redis is down")
    ready = await http.get("/health/ready")
    query = await graphql(http, EVENT_PAGE, {"slug": "none"}, GRAPHQL_RESPONSE)
    own_redis.start()

    async def serving() -> bool:
        return (await http.get("/health/ready")).status_code == 200

    await until(serving, "ready once Redis is up")
    after = await graphql(http, EVENT_PAGE, {"slug": "none"}, GRAPHQL_RESPONSE)

    assert server.process.poll() is None
    assert (ready.status_code, ready.json()["checks"]["redis"]["ok"]) == (503, False)
    assert_graphql_unavailable(query, GRAPHQL_RESPONSE)
    assert (after.status_code, after.json()) == (200, {"data": {"event": None}})
    assert "redis unavailable at start" in server.log_text()


async def test_requests_during_a_redis_outage_get_the_documented_answers(
    app_started_without_redis: LiveServer,
    own_redis: EmbeddedRedis,
    http: httpx.AsyncClient,
    db: Database,
) -> None:
    if not _running(own_redis):  # this test run alone
        own_redis.start()
    await until(
        lambda: _status_is(http, "/health/ready", 200), "the app is ready before the outage"
    )
    gql = GraphQLClient(http)
    setup = await bought(gql, http)
    sale, owner, ticket, unpaid, payment = (
        setup.sale,
        setup.sale.org.owner,
        setup.ticket,
        setup.unpaid,
        setup.payment,
    )
    venues_before = await _count(db, Venue)
    page = {"slug": sale.slug}
    bearer = {"authorization": f"Bearer {owner.token}"}

    own_redis.stop()
    public_new = await graphql(http, EVENT_PAGE, page, GRAPHQL_RESPONSE)
    public_json = await graphql(http, EVENT_PAGE, page, JSON)
    public_get = await http.get(
        "/graphql", params={"query": EVENT_PAGE, "variables": f'{{"slug":"{sale.slug}"}}'}
    )
    signed_in = await graphql(http, CREATE_VENUE, {"org": sale.org.id}, JSON, **bearer)
    qr = await http.get(f"/tickets/{ticket['id']}/qr.png", headers=bearer)
    refresh = await http.post("/auth/refresh", headers={"x-requested-with": "test"})
    report = await http.get(f"/reports/{uuid.uuid4()}/download", headers=bearer)
    asset = await http.get(f"/assets/{uuid.uuid4()}")
    live_page = await http.get(f"/events/{sale.slug}/live")
    paid_during = await http.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )
    health = await http.get("/health")
    alive = await http.get("/health/live")
    socket_close = await _websocket_close(app_started_without_redis.url, owner.token)
    venues_during = await _count(db, Venue)
    order_during = await _order_status(db, unpaid["id"])
    own_redis.start()
    await until(lambda: _status_is(http, "/health/ready", 200), "ready again")

    public_after = await graphql(http, EVENT_PAGE, page, GRAPHQL_RESPONSE)
    venue_after = await gql(CREATE_VENUE, {"org": sale.org.id}, token=owner.token)
    qr_after = await http.get(f"/tickets/{ticket['id']}/qr.png", headers=bearer)
    paid_after = await http.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )

    assert_graphql_unavailable(public_new, GRAPHQL_RESPONSE)
    assert_graphql_unavailable(public_json, JSON)
    assert_graphql_unavailable(public_get, JSON)
    assert_graphql_unavailable(signed_in, JSON)
    assert venues_during == venues_before
    for response in (qr, refresh, report, asset, live_page):  # every route is gated
        assert_rest_unavailable(response)
    # Refused whole (the provider delivers it again), then applied once Redis is back.
    assert_rest_unavailable(paid_during)
    assert order_during == "pending"
    assert (paid_after.status_code, paid_after.json()["outcome"]) == (200, "applied")
    assert await _order_status(db, unpaid["id"]) == "confirmed"
    assert (health.status_code, health.json()["checks"]["redis"]["ok"]) == (503, False)
    assert alive.status_code == 200
    assert socket_close == (1013, "SERVICE_UNAVAILABLE")
    assert public_after.json() == {"data": {"event": {"title": "Jazz Night"}}}
    assert venue_after["createVenue"]["errors"] == []
    assert (qr_after.status_code, qr_after.headers["content-type"]) == (200, "image/png")


async def _status_is(http: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await http.get(path)).status_code == status


async def _count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _order_status(db: Database, order_id: str) -> str:
    async with db.read() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return str(order.status.value)


async def _websocket_close(url: str, token: str) -> tuple[int, str]:
    """How a new, signed-in WebSocket connection ends while Redis is down."""
    try:
        async with connect(url, token=token):
            return (0, "accepted")
    except websockets.exceptions.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return (closed.rcvd.code, closed.rcvd.reason)
    except websockets.exceptions.InvalidStatus as refused:
        return (refused.response.status_code, "http")


def _running(redis_server: EmbeddedRedis) -> bool:
    return redis_server.process is not None and redis_server.process.poll() is None
