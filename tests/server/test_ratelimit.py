"""Rate limits in Redis: per anonymous IP and per authenticated principal, with RateLimit
headers, and a 429 carrying RATE_LIMITED once a budget is spent. A refused request does
nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select

from server.auth.models import User
from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.support import factories
from tests.support.gql import GraphQLClient

ME = {"query": "{ me { id } }"}
WINDOW = 10_000_000  # seconds: no test straddles a window boundary


@asynccontextmanager
async def limited(
    make_settings: Callable[..., Settings], anonymous: int, authenticated: int
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """An app with low limits, and clients that appear to come from a given IP."""
    settings = make_settings(
        rate_limit_anonymous=anonymous,
        rate_limit_authenticated=authenticated,
        rate_limit_window=WINDOW,
    )
    async with running_app(settings) as (app, _):
        clients: list[httpx.AsyncClient] = []

        def client_from(ip: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            clients.append(client)
            return client

        try:
            yield client_from
        finally:
            for client in clients:
                await client.aclose()


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "data" not in response.json()
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    reset = int(response.headers["ratelimit-reset"])
    assert 0 < reset <= WINDOW
    assert response.headers["retry-after"] == str(reset)


async def test_anonymous_callers_get_their_budget_per_ip(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=3, authenticated=100) as client_from:
        first, second = client_from("10.0.0.1"), client_from("10.0.0.2")

        responses = [await first.post("/graphql", json=ME) for _ in range(4)]
        other_ip = await second.post("/graphql", json=ME)

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in responses)
    assert_limited(responses[3], 3)
    assert other_ip.status_code == 200
    assert other_ip.headers["ratelimit-remaining"] == "2"


async def test_signed_in_users_get_their_own_budget(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=4, authenticated=3) as client_from:
        client = client_from("10.0.0.3")
        gql = GraphQLClient(client)
        alice = await factories.register(gql)  # anonymous requests 1 and 2
        bob = await factories.register(gql)
        alices = [await gql.raw(ME["query"], token=alice.token) for _ in range(4)]
        bobs = await gql.raw(ME["query"], token=bob.token)
        anonymous = await client.post("/graphql", json=ME)

    assert [r.status_code for r in alices] == [200, 200, 200, 429]
    assert_limited(alices[3], 3)
    assert bobs.status_code == 200 and bobs.headers["ratelimit-remaining"] == "2"
    # The IP's anonymous budget was spent only by the two registrations and this request.
    assert anonymous.headers["ratelimit-remaining"] == "1"


async def test_an_api_key_is_a_principal_of_its_own(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=100, authenticated=2) as client_from:
        gql = GraphQLClient(client_from("10.0.0.4"))
        org = await factories.create_org(gql)
        key = await factories.create_api_key(gql, org, ["organization:read"])
        query = "query($id: ID!) { organization(id: $id) { id } }"
        by_key = [await gql.raw(query, {"id": org.id}, api_key=key) for _ in range(3)]
        owner = await gql.raw(ME["query"], token=org.owner.token)

    assert [r.status_code for r in by_key] == [200, 200, 429]
    assert owner.status_code == 429  # the owner spent 2 creating the org and the key


async def test_a_refused_request_changes_nothing(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    register = (
        'mutation { register(input: {email: "late@example.com", password: "long enough",'
        ' name: "L"}) { errors { code } } }'
    )
    async with limited(make_settings, anonymous=1, authenticated=100) as client_from:
        client = client_from("10.0.0.5")
        await client.post("/graphql", json=ME)

        refused = await client.post("/graphql", json={"query": register})

    assert refused.status_code == 429
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_failed_credentials_spend_the_anonymous_budget(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=2, authenticated=100) as client_from:
        client = client_from("10.0.0.6")
        bad = {"authorization": "Bearer eyJ.eyJ.forged"}
        first = await client.post("/graphql", json=ME, headers=bad)
        second = await client.post("/graphql", json=ME, headers=bad)
        third = await client.post("/graphql", json=ME, headers=bad)

    assert first.status_code == second.status_code == 401
    assert first.headers["ratelimit-remaining"] == "1"
    assert third.status_code == 429


async def test_rest_refresh_is_limited_per_ip(make_settings: Callable[..., Settings]) -> None:
    async with limited(make_settings, anonymous=2, authenticated=100) as client_from:
        client = client_from("10.0.0.7")
        statuses = [
            (await client.post("/auth/refresh", headers={"x-requested-with": "t"})).status_code
            for _ in range(3)
        ]

    assert statuses == [401, 401, 429]


async def test_concurrent_requests_never_exceed_the_budget(
    make_settings: Callable[..., Settings],
) -> None:
    import asyncio

    async with limited(make_settings, anonymous=7, authenticated=100) as client_from:
        client = client_from("10.0.0.8")
        responses = await asyncio.gather(*(client.post("/graphql", json=ME) for _ in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [429] * 13
