"""The request gate: authentication and the rate limit in one Redis round trip, on every
route; revoked or guessed credentials spend the client's anonymous budget, never their
owner's; REST routes answer refusals in JSON with the RateLimit headers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis

from server.config import Settings
from tests.server.test_ratelimit import ME, WINDOW, limited
from tests.support import factories
from tests.support.gql import GraphQLClient

T = TypeVar("T")
END = "end-of-request"


async def _round_trips(redis: Redis, request: Awaitable[T]) -> tuple[T, list[str]]:
    """The request's answer, and the commands clients sent Redis meanwhile (MONITOR;
    commands run inside a Lua script are not round trips and are left out)."""
    async with redis.monitor() as monitor:
        answer = await request
        await redis.echo(END)
        sent = []
        while True:
            command = await monitor.next_command()
            if END in command["command"]:
                return answer, sent
            if command["client_type"] != "lua":
                sent.append(command["command"].split()[0].upper())


async def test_a_signed_in_request_costs_one_redis_round_trip(
    gql: GraphQLClient, redis: Redis
) -> None:
    user = await factories.register(gql)
    await gql("{ me { id } }", token=user.token)  # the session's state is cached now

    me, sent = await _round_trips(redis, gql("{ me { id } }", token=user.token))

    assert me["me"]["id"] == user.id
    assert sent == ["EVALSHA"]


async def test_an_api_key_request_costs_one_redis_round_trip(
    gql: GraphQLClient, redis: Redis
) -> None:
    org = await factories.create_org(gql)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    query = "query($id: ID!) { organization(id: $id) { slug } }"
    await gql(query, {"id": org.id}, api_key=key)  # the key's record is cached now

    found, sent = await _round_trips(redis, gql(query, {"id": org.id}, api_key=key))

    assert found["organization"]["slug"] == org.slug
    assert sent == ["EVALSHA"]


async def test_a_revoked_session_spends_the_ip_budget_not_the_users(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    async with limited(make_settings, anonymous=3, authenticated=100) as client_from:
        client = client_from("203.0.113.7")
        gql = GraphQLClient(client)
        user = await factories.register(gql)
        await gql("mutation { logout }", token=user.token)

        refused = [
            await client.post(
                "/graphql", json=ME, headers={"authorization": f"Bearer {user.token}"}
            )
            for _ in range(3)
        ]
        elsewhere = await client_from("198.51.100.1").post(
            "/graphql", json=ME, headers={"authorization": f"Bearer {user.token}"}
        )
        window = int(time.time() // WINDOW)
        spent_by_user = await redis.get(f"ratelimit:user:{user.id}:{window}")

    # The IP's budget: the registration, then the revoked token's requests.
    assert [r.status_code for r in refused] == [401, 401, 429]
    assert refused[0].headers["ratelimit-limit"] == "3"
    assert refused[0].headers["ratelimit-remaining"] == "1"
    assert elsewhere.status_code == 401  # another IP has a budget of its own
    assert spent_by_user == b"1"  # the logout only


async def test_a_guessed_api_key_secret_spends_the_ip_budget_not_the_keys(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=2, authenticated=3) as client_from:
        owner_client = client_from("192.0.2.10")
        gql = GraphQLClient(owner_client)
        org = await factories.create_org(gql)
        key = await factories.create_api_key(gql, org, ["organization:read"])
        prefix = key.split("_", 1)[0]
        guesser = client_from("203.0.113.99")

        guesses = [
            await guesser.post("/graphql", json=ME, headers={"x-api-key": f"{prefix}_wrong{n}"})
            for n in range(3)
        ]
        owner = [
            await owner_client.post("/graphql", json=ME, headers={"x-api-key": key})
            for _ in range(3)
        ]

    assert [r.status_code for r in guesses] == [401, 401, 429]
    assert [r.status_code for r in owner] == [200, 200, 200]  # the key's budget is untouched
    assert owner[-1].headers["ratelimit-remaining"] == "0"


async def test_rest_routes_are_under_the_limiter(make_settings: Callable[..., Settings]) -> None:
    async with limited(make_settings, anonymous=2, authenticated=100) as client_from:
        client = client_from("203.0.113.20")
        paths = [
            "/tickets/00000000-0000-0000-0000-000000000000/qr.svg",
            "/reports/00000000-0000-0000-0000-000000000000/download",
            "/assets/00000000-0000-0000-0000-000000000000",
        ]
        answers = [await client.get(path) for path in paths]
        bogus = await client_from("203.0.113.21").get(
            paths[0], headers={"authorization": "Bearer not-a-token"}
        )
        health = [await client.get("/health/live") for _ in range(5)]

    assert [a.status_code for a in answers[:2]] == [401, 401]
    assert answers[0].headers["ratelimit-remaining"] == "1"
    limited_answer = answers[2]
    assert limited_answer.status_code == 429
    assert limited_answer.json()["error"]["code"] == "RATE_LIMITED"
    assert limited_answer.headers["retry-after"] == limited_answer.headers["ratelimit-reset"]
    assert 0 < int(limited_answer.headers["retry-after"]) <= WINDOW
    assert bogus.status_code == 401
    assert bogus.json()["error"]["code"] == "UNAUTHENTICATED"
    assert bogus.headers["ratelimit-remaining"] == "1"  # a bogus token spends the IP's budget
    assert {h.status_code for h in health} == {200}


async def test_the_refresh_route_ignores_a_stale_access_token(gql: GraphQLClient) -> None:
    user = await factories.register(gql)
    response = await gql.http.post(
        "/auth/refresh",
        headers={"authorization": "Bearer expired.or.bogus", "x-requested-with": "test"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == user.id
    assert "ratelimit-limit" in response.headers
