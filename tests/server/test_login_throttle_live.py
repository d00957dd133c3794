"""Sign-in backoff across two real app instances sharing one Redis: guesses spread over both
count for one account, both refuse once it is locked, and the owner's success on one
clears the count for the other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from server.auth.throttle import account_key
from server.config import Settings
from tests.support.live import live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live

LOGIN = (
    "mutation($email: String!, $password: String!) { login(input: {email: $email, "
    "password: $password}) { user { id } retryAfter errors { code } } }"
)
REGISTER = (
    'mutation { register(input: {email: "shared@example.com", password: "the right one",'
    ' name: "Shared"}) { user { id } errors { code } } }'
)


async def login(client: httpx.AsyncClient, url: str, password: str) -> dict[str, Any]:
    variables = {"email": "shared@example.com", "password": password}
    response = await client.post(f"{url}/graphql", json={"query": LOGIN, "variables": variables})
    client.cookies.clear()
    return response.json()["data"]["login"]  # type: ignore[no-any-return]


def code(payload: dict[str, Any]) -> str:
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


async def test_two_instances_count_one_accounts_attempts_together(
    services: ServiceUrls, tmp_path: Path, settings: Settings, redis: Redis
) -> None:
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp_path,
        count=2,
        login_free_attempts="3",
        login_backoff_base="1000",
        login_backoff_max="4000",
    ) as (a, b):
        async with httpx.AsyncClient(timeout=30) as client:
            await client.post(f"{a.url}/graphql", json={"query": REGISTER})
            guesses = [await login(client, (a, b)[i % 2].url, f"guess {i}") for i in range(5)]
            owner_during = await login(client, b.url, "the right one")
            await redis.hset(account_key(settings, "shared@example.com"), "until", 0)
            owner_after = await login(client, a.url, "the right one")
            next_guess = await login(client, b.url, "guess 6")

    assert [code(g) for g in guesses] == ["INVALID_CREDENTIALS"] * 3 + ["RATE_LIMITED"] * 2
    assert code(owner_during) == "RATE_LIMITED"
    assert 900 < owner_during["retryAfter"] <= 1000
    assert code(owner_after) == "OK" and owner_after["user"]["id"]
    assert code(next_guess) == "INVALID_CREDENTIALS"  # the success was seen by both
