"""Two `eventapi serve` instances behind Debian's nginx with deploy/nginx.conf, on one
PostgreSQL and one Redis: orders through both never oversell, a subscriber on one
instance sees orders placed through the other (and through nginx's WebSocket upgrade),
a logout on one is seen on the other, a rate limit holds across both, and killing one
instance mid-load loses no committed order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from server.db import Database
from server.local_nginx import Nginx, nginx_binary, nginx_in_front_of
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, connect
from tests.support.live import LiveServer, free_port, live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live

PER_USER_LIMIT = 20
PLACE = """
mutation PlaceOrder($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id status } errors { code } }
}
"""
ME = "query Me { me { id } }"
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken errors { code } }
}
"""


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    nginx: Nginx


@pytest.fixture(scope="module")
def cluster(services: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (CI installs Debian's package)")
    tmp: Path = tmp_path_factory.mktemp("nginx")
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp,
        count=2,
        # nginx sets X-Forwarded-For to the client's address; the instances trust it.
        forwarded_allow_ips="*",
        rate_limit_authenticated=str(PER_USER_LIMIT),
        rate_limit_anonymous="100000",
    ) as (a, b):
        upstreams = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
        with nginx_in_front_of(upstreams, tmp / "nginx", free_port()) as nginx:
            yield Cluster(a, b, nginx)


@pytest.fixture
async def via_nginx(cluster: Cluster) -> Iterator[GraphQLClient]:  # type: ignore[misc]
    async with httpx.AsyncClient(base_url=cluster.nginx.url, timeout=60) as http:
        yield GraphQLClient(http)


def served(server: LiveServer, operation: str) -> float:
    """How many requests of `operation` this instance answered (its /metrics)."""
    total = 0.0
    for line in httpx.get(f"{server.url}/metrics", timeout=10).text.splitlines():
        if (
            line.startswith("eventapi_graphql_requests_total{")
            and f'operation="{operation}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_orders_through_both_instances_never_oversell(
    cluster: Cluster, via_nginx: GraphQLClient
) -> None:
    sale = await commerce.sale(via_nginx, quantity=30)
    buyers = [await factories.register(via_nginx) for _ in range(40)]
    before = served(cluster.a, "PlaceOrder"), served(cluster.b, "PlaceOrder")

    async def buy(buyer: factories.TestUser) -> list[str]:
        item = {"ticketTypeId": sale.ticket_type_id, "quantity": 1}
        data = await via_nginx(
            PLACE,
            {"input": {"eventId": sale.event_id, "items": [item]}},
            token=buyer.token,
            operation_name="PlaceOrder",
        )
        return [e["code"] for e in data["createOrder"]["errors"]]

    outcomes = await asyncio.gather(*(buy(b) for b in buyers))
    left = (await commerce.availability(via_nginx, sale))[0]

    assert sorted(outcomes).count([]) == 30
    assert all(o in ([], ["SOLD_OUT"]) for o in outcomes)
    assert (left["available"], left["reserved"]) == (0, 30)
    # nginx sent orders to both instances.
    assert served(cluster.a, "PlaceOrder") > before[0]
    assert served(cluster.b, "PlaceOrder") > before[1]


async def test_a_subscriber_on_one_instance_sees_orders_placed_through_the_other(
    cluster: Cluster, via_nginx: GraphQLClient
) -> None:
    sale = await commerce.sale(via_nginx, quantity=10)
    buyer = await factories.register(via_nginx)
    async with (
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as on_b,
        connect(cluster.a.url) as watcher_on_a,
        connect(cluster.nginx.url) as watcher_through_nginx,
    ):
        on_a = await watcher_on_a.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        through_nginx = await watcher_through_nginx.subscribe(
            AVAILABILITY, {"eventId": sale.event_id}
        )
        assert (await on_a.next())["ticketAvailability"]["available"] == 10
        assert (await through_nginx.next())["ticketAvailability"]["available"] == 10

        placed = await commerce.order(GraphQLClient(on_b), sale, 2, token=buyer.token)

        assert placed["errors"] == []
        for watcher in (on_a, through_nginx):
            row = (await watcher.next())["ticketAvailability"]
            assert (row["available"], row["reserved"]) == (8, 2)


async def test_a_logout_on_one_instance_is_seen_on_the_other(cluster: Cluster) -> None:
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as on_b,
    ):
        gql_a, gql_b = GraphQLClient(on_a), GraphQLClient(on_b)
        user = await factories.register(gql_a)
        token = (await gql_a(LOGIN, {"email": user.email, "password": user.password}))["login"][
            "accessToken"
        ]
        assert (await gql_b(ME, token=token))["me"]["id"] == user.id

        assert (await gql_b("mutation { logout }", token=token))["logout"] is True

        refused = await on_a.post("/graphql", json={"query": ME}, headers=_bearer(token))
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_rate_limit_holds_across_both_instances(
    cluster: Cluster, via_nginx: GraphQLClient
) -> None:
    user = await factories.register(via_nginx)
    targets = [cluster.a.url, cluster.b.url, cluster.nginx.url]
    async with httpx.AsyncClient(timeout=30) as http:
        statuses = [
            (
                await http.post(
                    f"{targets[i % 3]}/graphql", json={"query": ME}, headers=_bearer(user.token)
                )
            ).status_code
            for i in range(PER_USER_LIMIT + 4)
        ]

    assert statuses == [200] * PER_USER_LIMIT + [429] * 4


async def test_killing_an_instance_mid_load_loses_no_committed_order(
    cluster: Cluster, via_nginx: GraphQLClient, db: Database
) -> None:
    """Buyers retry through nginx with their idempotency key until they get an answer;
    one instance is killed (SIGKILL) a third of the way in. Every order in the database is
    one a buyer was given, none twice, and no more than the tickets on sale."""
    capacity, buyers_count = 45, 60
    sale = await commerce.sale(via_nginx, quantity=capacity)
    buyers = [await factories.register(via_nginx) for _ in range(buyers_count)]
    answered = 0
    refused_by_nginx = 0
    in_flight = asyncio.Semaphore(12)

    async def buy(buyer: factories.TestUser) -> str | None:
        nonlocal answered, refused_by_nginx
        item = {"ticketTypeId": sale.ticket_type_id, "quantity": 1}
        body = {"eventId": sale.event_id, "items": [item], "idempotencyKey": str(uuid.uuid4())}
        async with in_flight:
            for _ in range(50):
                try:
                    response = await via_nginx.raw(PLACE, {"input": body}, token=buyer.token)
                except httpx.TransportError:
                    response = None
                if response is None or response.status_code in (502, 503, 504):
                    refused_by_nginx += 1
                    await asyncio.sleep(0.1)
                    continue
                payload = response.json()["data"]["createOrder"]
                answered += 1
                if payload["errors"]:
                    assert [e["code"] for e in payload["errors"]] == ["SOLD_OUT"]
                    return None
                return str(payload["order"]["id"])
        raise AssertionError("no answer after 50 tries")

    async def kill_a_third_of_the_way_in() -> None:
        while answered < buyers_count // 3:
            await asyncio.sleep(0.01)
        cluster.a.process.kill()

    killer = asyncio.create_task(kill_a_third_of_the_way_in())
    given = await asyncio.gather(*(buy(b) for b in buyers))
    await killer

    async with db.read() as session:
        stored = (
            await session.execute(
                text("SELECT id, buyer_user_id FROM orders WHERE event_id = :event"),
                {"event": uuid.UUID(sale.event_id)},
            )
        ).all()
    orders = [g for g in given if g is not None]
    assert cluster.a.process.poll() is not None  # it was killed mid-load
    assert len(orders) == capacity  # every ticket sold once, the rest told SOLD_OUT
    assert {str(row.id) for row in stored} == set(orders)  # nothing committed unknown
    assert len({row.buyer_user_id for row in stored}) == len(stored)  # nobody twice
    left = (await commerce.availability(via_nginx, sale))[0]
    assert (left["available"], left["reserved"]) == (0, capacity)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
