"""A real PostgreSQL stopped and started again under a running `eventapi serve`: while it is
down every request that needs it gets the documented answer (docs/database-outage.md: a JSON
503 with `Retry-After` and `SERVICE_UNAVAILABLE`, in both GraphQL media types, on REST
routes and on a subscription; a payment webhook is refused whole and applied when delivered
again; nothing is written), a public page the response cache holds is still served, and
once PostgreSQL is back everything works again without restarting the app."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.server.test_redis_outage import (
    EVENT_PAGE,
    GRAPHQL_RESPONSE,
    JSON,
    assert_graphql_unavailable,
    assert_rest_unavailable,
    bought,
    graphql,
    until,
)
from tests.support import commerce
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, connect
from tests.support.live import LiveServer, live_servers
from tests.support.own_servers import own_postgres_server, own_redis_server
from tests.support.pgbouncer import pgbouncer

MY_ORDERS = "{ myOrders(first: 10) { id status } }"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[EmbeddedPostgres]:
    with own_postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_redis() -> Iterator[EmbeddedRedis]:
    with own_redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def app(
    own_postgres: EmbeddedPostgres,
    own_redis: EmbeddedRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    with live_servers(
        own_postgres.url,
        own_redis.url,
        tmp_path_factory.mktemp("database-outage"),
        rate_limit_anonymous="100000",
        rate_limit_authenticated="100000",
    ) as [server]:
        yield server


@pytest.fixture
async def http(app: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
        yield client


async def test_requests_during_a_database_outage_get_the_documented_answers(
    app: LiveServer, own_postgres: EmbeddedPostgres, http: httpx.AsyncClient
) -> None:
    gql = GraphQLClient(http)
    setup = await bought(gql, http)
    sale, buyer, ticket, payment = setup.sale, setup.buyer, setup.ticket, setup.payment
    page = {"slug": sale.slug}
    await graphql(http, EVENT_PAGE, page, JSON)  # fills the public response cache
    bearer = {"authorization": f"Bearer {buyer.token}"}
    key = str(uuid.uuid4())
    order_input = {
        "input": {
            "eventId": sale.event_id,
            "items": [{"ticketTypeId": sale.ticket_type_id, "quantity": 2}],
            "idempotencyKey": key,
        }
    }

    own_postgres.stop()
    try:
        cached = await graphql(http, EVENT_PAGE, page, JSON)
        uncached = [
            await graphql(http, EVENT_PAGE, {"slug": "elsewhere"}, media)
            for media in (GRAPHQL_RESPONSE, JSON)
        ]
        as_get = await http.get(
            "/graphql", params={"query": EVENT_PAGE, "variables": '{"slug":"elsewhere"}'}
        )
        mine = await graphql(http, MY_ORDERS, {}, JSON, **bearer)
        placed = await graphql(http, commerce.CREATE_ORDER, order_input, JSON, **bearer)
        login = await graphql(
            http,
            "mutation($e: String!) { login(input: {email: $e, password: $e}) { accessToken } }",
            {"e": buyer.email},
            GRAPHQL_RESPONSE,
        )
        qr = await http.get(f"/tickets/{ticket['id']}/qr.png", headers=bearer)
        report = await http.get(f"/reports/{uuid.uuid4()}/download", headers=bearer)
        asset = await http.get(f"/assets/{uuid.uuid4()}")
        live_page = await http.get(f"/events/{sale.slug}/live")
        signing_key = await http.get("/tickets/signing-key")
        paid_during = await http.post(
            f"/payments/test/{payment['reference']}/succeed",
            json={"clientSecret": payment["clientSecret"]},
        )
        subscribed = await _subscription_answer(app.url, buyer.token, sale.event_id)
        health = await http.get("/health")
        alive = await http.get("/health/live")
    finally:
        own_postgres.start()

    async def ready() -> bool:
        return (await http.get("/health/ready")).status_code == 200

    await until(ready, "ready once PostgreSQL is back")
    uncached_after = await graphql(http, EVENT_PAGE, {"slug": "elsewhere"}, JSON)
    placed_after = (await gql(commerce.CREATE_ORDER, order_input, token=buyer.token))["createOrder"]
    again = (await gql(commerce.CREATE_ORDER, order_input, token=buyer.token))["createOrder"]
    paid_after = await http.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )
    qr_after = await http.get(f"/tickets/{ticket['id']}/qr.png", headers=bearer)
    orders_after = (await gql(MY_ORDERS, token=buyer.token))["myOrders"]

    # What the cache holds needs no database; everything else is refused cleanly.
    assert cached.status_code == 200, cached.text
    assert (cached.headers["x-cache"], cached.json()) == (
        "HIT",
        {"data": {"event": {"title": "Jazz Night"}}},
    )
    assert_graphql_unavailable(uncached[0], GRAPHQL_RESPONSE)
    assert_graphql_unavailable(uncached[1], JSON)
    assert_graphql_unavailable(as_get, JSON)
    assert_graphql_unavailable(mine, JSON)
    assert_graphql_unavailable(placed, JSON)
    assert_graphql_unavailable(login, GRAPHQL_RESPONSE)
    for response in (qr, report, asset, live_page):
        assert_rest_unavailable(response)
    assert signing_key.status_code == 200  # needs nothing from PostgreSQL
    assert_rest_unavailable(paid_during)  # refused whole: the provider delivers it again
    assert subscribed == "SERVICE_UNAVAILABLE"
    assert (health.status_code, health.json()["checks"]["database"]["ok"]) == (503, False)
    assert alive.status_code == 200
    assert "database unavailable; request refused with 503" in app.log_text()
    assert "unexpected error" not in app.log_text()

    # Back without a restart; the refused order was never written, so its key is fresh.
    assert app.process.poll() is None
    assert (uncached_after.status_code, uncached_after.json()) == (200, {"data": {"event": None}})
    assert placed_after["errors"] == [], placed_after
    assert again["order"]["id"] == placed_after["order"]["id"]
    assert sorted(order["status"] for order in orders_after) == [
        "CONFIRMED",
        "CONFIRMED",
        "PENDING",
    ]
    assert (paid_after.status_code, paid_after.json()["outcome"]) == (200, "applied")
    assert (qr_after.status_code, qr_after.headers["content-type"]) == (200, "image/png")


async def _subscription_answer(url: str, token: str, event_id: str) -> str:
    """The code a new `ticketAvailability` subscription ends with (its snapshot needs the
    database)."""
    async with connect(url, token=token) as socket:
        subscription = await socket.subscribe(AVAILABILITY, {"eventId": event_id})
        message = await asyncio.wait_for(subscription.message(), 30)
    assert message["type"] in ("error", "next"), message
    errors: list[dict[str, Any]] = (
        message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    )
    return str(errors[0]["extensions"]["code"])


async def test_behind_pgbouncer_an_outage_is_a_503_and_the_app_serves_again_when_it_ends(
    tmp_path: Path,
) -> None:
    """Debian's PgBouncer with deploy/pgbouncer/pgbouncer.ini (its wait shortened, so the
    test need not sit out 15 s): a query waiting for a server that is down ends as the 503,
    and once PostgreSQL is back the platform serves again without a restart of anything
    (`server_login_retry` of the deployed configuration)."""
    with (
        own_postgres_server() as postgres,
        own_redis_server() as redis,
        pgbouncer(postgres, tmp_path / "pgbouncer", query_wait_timeout="2") as bouncer,
        live_servers(bouncer.url(), redis.url, tmp_path, database_transaction_pooling="true") as [
            server
        ],
    ):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            before = await graphql(http, EVENT_PAGE, {"slug": "nowhere"}, JSON)
            postgres.stop()
            try:
                during = [
                    await graphql(http, EVENT_PAGE, {"slug": f"nowhere-{i}"}, media)
                    for i, media in enumerate((GRAPHQL_RESPONSE, JSON))
                ]
            finally:
                postgres.start()

            async def serving() -> bool:
                response = await graphql(http, EVENT_PAGE, {"slug": "nowhere-2"}, JSON)
                return response.status_code == 200

            await until(serving, "served again through PgBouncer", tries=600)

    assert (before.status_code, before.json()) == (200, {"data": {"event": None}})
    assert_graphql_unavailable(during[0], GRAPHQL_RESPONSE)
    assert_graphql_unavailable(during[1], JSON)
    assert "unexpected error" not in server.log_text()
