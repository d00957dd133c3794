"""Rate limits across two real app instances sharing one Redis: one budget, wherever the
requests land."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.live import live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live

ME = {"query": "{ me { id } }"}
REGISTER = (
    'mutation { register(input: {email: "two@example.com", password: "long enough",'
    ' name: "Two"}) { accessToken errors { code } } }'
)


async def test_two_instances_share_one_anonymous_budget(
    services: ServiceUrls, tmp_path: Path
) -> None:
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp_path,
        count=2,
        rate_limit_anonymous="6",
        rate_limit_window="10000000",
    ) as (a, b):
        async with httpx.AsyncClient(timeout=30) as client:
            responses = [
                await client.post(f"{(a, b)[i % 2].url}/graphql", json=ME) for i in range(8)
            ]

    assert [r.status_code for r in responses] == [200] * 6 + [429] * 2
    assert [r.headers["ratelimit-remaining"] for r in responses[:6]] == [
        "5",
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    assert responses[-1].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Both instances refused once the shared budget was spent.
    assert {str(r.url).split("/graphql")[0] for r in responses[6:]} == {a.url, b.url}


async def test_a_burst_across_two_instances_gets_exactly_the_budget(
    services: ServiceUrls, tmp_path: Path
) -> None:
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp_path,
        count=2,
        rate_limit_anonymous="50",
        rate_limit_authenticated="9",
        rate_limit_window="10000000",
    ) as (a, b):
        async with httpx.AsyncClient(timeout=30) as client:
            registered = await client.post(f"{a.url}/graphql", json={"query": REGISTER})
            token = registered.json()["data"]["register"]["accessToken"]
            headers = {"authorization": f"Bearer {token}"}

            responses = await asyncio.gather(
                *(
                    client.post(f"{(a, b)[i % 2].url}/graphql", json=ME, headers=headers)
                    for i in range(30)
                )
            )

    by_instance = {
        server.url: sorted(
            r.status_code for r in responses if str(r.request.url).startswith(server.url)
        )
        for server in (a, b)
    }
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [429] * 21
    assert all(429 in s for s in by_instance.values()), by_instance
