"""Password guessing: every login field is an attempt against the client IP's budget, and
repeated failures for one account back off (doubling, capped) without locking its owner out:
the lock runs out, a known device keeps its own count, and a success starts afresh. An
unknown email is answered exactly like a known one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from server.auth.throttle import DEVICE_COOKIE, account_key
from server.config import Settings
from tests.conftest import running_app
from tests.server.test_ratelimit import ME, WINDOW, limited
from tests.support import factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import connect, serve_in_process

FIELDS = "accessToken user { id } retryAfter errors { field message code }"
FREE = 3  # attempts before the backoff starts
BASE = 1000  # seconds: the first lock (long, so no test depends on how fast it runs)
MAX = 4000  # seconds: the longest lock


def logins(count: int) -> str:
    """A document of `count` aliased login fields, each with its own variables."""
    params = ", ".join(f"$e{i}: String!, $p{i}: String!" for i in range(count))
    fields = " ".join(
        f"a{i}: login(input: {{email: $e{i}, password: $p{i}}}) {{ {FIELDS} }}"
        for i in range(count)
    )
    return f"mutation Guess({params}) {{ {fields} }}"


def variables(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (email, password) in enumerate(pairs):
        out[f"e{i}"], out[f"p{i}"] = email, password
    return out


def about(seconds: int) -> range:
    """A lock's retry hint, seen a moment after it was set (whole seconds, rounded up)."""
    return range(seconds - 60, seconds + 1)


def codes(data: dict[str, Any]) -> list[str]:
    return [
        (p["errors"][0]["code"] if p["errors"] else "OK")
        for _, p in sorted(data.items(), key=lambda kv: int(kv[0][1:]))
    ]


@pytest.fixture(scope="module")
async def throttled(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    settings = make_settings(
        login_free_attempts=FREE, login_backoff_base=BASE, login_backoff_max=MAX
    )
    async with running_app(settings) as (_, client):
        yield settings, client


@pytest.fixture
def settings_and_gql(
    throttled: tuple[Settings, httpx.AsyncClient],
) -> tuple[Settings, GraphQLClient]:
    settings, client = throttled
    client.cookies.clear()
    return settings, GraphQLClient(client)


async def attempt(
    gql: GraphQLClient, email: str, password: str, device: str | None = None
) -> dict[str, Any]:
    headers = {"cookie": f"{DEVICE_COOKIE}={device}"} if device else None
    response = await gql.raw(logins(1), variables([(email, password)]), headers=headers or {})
    gql.http.cookies.clear()
    assert response.status_code == 200, response.text
    return response.json()["data"]["a0"]  # type: ignore[no-any-return]


async def run_out(redis: Redis, settings: Settings, email: str) -> None:
    """Let the account's current lock run out (its end moved into the past)."""
    key = account_key(settings, email)
    assert await redis.hexists(key, "until")
    await redis.hset(key, "until", 0)


async def test_each_aliased_login_spends_the_ip_budget(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=8, authenticated=100) as client_from:
        client = client_from("192.0.2.10")
        pairs = [(f"nobody{i}@example.com", "wrong password") for i in range(12)]

        response = await client.post(
            "/graphql", json={"query": logins(12), "variables": variables(pairs)}
        )
        after = await client.post("/graphql", json=ME)

    data = response.json()["data"]
    # The request's own unit pays for the first attempt; the rest spend one each.
    assert codes(data) == ["INVALID_CREDENTIALS"] * 8 + ["RATE_LIMITED"] * 4
    refused = data["a11"]
    assert refused["accessToken"] is None and refused["user"] is None
    assert 0 < refused["retryAfter"] <= WINDOW
    assert refused["errors"][0]["message"].startswith("Too many sign-in attempts")
    # The header carries the longest wait of the refused fields (a second may pass between them).
    waits = [data[f"a{i}"]["retryAfter"] for i in range(8, 12)]
    assert response.headers["retry-after"] == str(max(waits))
    assert after.status_code == 429


async def test_a_signed_in_callers_logins_spend_its_ip_budget(
    make_settings: Callable[..., Settings],
) -> None:
    async with limited(make_settings, anonymous=10, authenticated=100) as client_from:
        client = client_from("192.0.2.11")
        gql = GraphQLClient(client)
        user = await factories.register(gql)  # one anonymous request
        pairs = [(f"nobody{i}@example.com", "wrong password") for i in range(3)]

        signed_in = await gql(logins(3), variables(pairs), token=user.token)
        anonymous = await client.post("/graphql", json=ME)

    assert codes(signed_in) == ["INVALID_CREDENTIALS"] * 3
    # register 1, three logins 3 (the user's own budget paid for the request), this one 1
    assert anonymous.headers["ratelimit-remaining"] == "5"


async def test_aliased_guesses_at_one_account_back_off(
    settings_and_gql: tuple[Settings, GraphQLClient],
) -> None:
    _, gql = settings_and_gql
    user = await factories.register(gql)
    pairs = [(user.email, f"wrong password {i}") for i in range(8)]

    data = await gql(logins(8), variables(pairs))

    assert codes(data) == ["INVALID_CREDENTIALS"] * FREE + ["RATE_LIMITED"] * 5
    assert all(data[f"a{i}"]["retryAfter"] in about(BASE) for i in range(FREE, 8))
    assert {data[f"a{i}"]["retryAfter"] for i in range(FREE)} == {None}


async def test_sequential_guesses_back_off_doubling_up_to_the_cap(
    settings_and_gql: tuple[Settings, GraphQLClient], redis: Redis
) -> None:
    settings, gql = settings_and_gql
    user = await factories.register(gql)
    for _ in range(FREE):
        assert (await attempt(gql, user.email, "wrong password"))["errors"][0]["code"] == (
            "INVALID_CREDENTIALS"
        )

    locks = []
    for _ in range(5):
        refused = await attempt(gql, user.email, "wrong password")
        assert refused["errors"][0]["code"] == "RATE_LIMITED"
        locks.append(refused["retryAfter"])
        await run_out(redis, settings, user.email)
        failed = await attempt(gql, user.email, "wrong password")
        assert failed["errors"][0]["code"] == "INVALID_CREDENTIALS"

    expected = [BASE, 2 * BASE, MAX, MAX, MAX]
    assert all(lock in about(want) for lock, want in zip(locks, expected, strict=True)), locks


async def test_the_owner_signs_in_once_the_lock_runs_out_and_starts_afresh(
    settings_and_gql: tuple[Settings, GraphQLClient], redis: Redis
) -> None:
    settings, gql = settings_and_gql
    user = await factories.register(gql)
    for _ in range(FREE):
        await attempt(gql, user.email, "wrong password")

    during = await attempt(gql, user.email, user.password)
    await run_out(redis, settings, user.email)
    after = await attempt(gql, user.email, user.password)
    again = [await attempt(gql, user.email, "wrong password") for _ in range(FREE)]

    # While locked the password is not even checked, so the right one is refused too.
    assert during["errors"][0]["code"] == "RATE_LIMITED" and during["accessToken"] is None
    assert after["errors"] == [] and after["user"] == {"id": user.id}
    assert [a["errors"][0]["code"] for a in again] == ["INVALID_CREDENTIALS"] * FREE


async def test_an_unknown_email_is_answered_exactly_like_a_known_one(
    settings_and_gql: tuple[Settings, GraphQLClient], redis: Redis
) -> None:
    settings, gql = settings_and_gql
    known = await factories.register(gql)
    unknown = factories.unique_email("nobody")

    answers: dict[str, list[dict[str, Any]]] = {known.email: [], unknown: []}
    for email, seen in answers.items():
        for _ in range(FREE + 1):
            seen.append(await attempt(gql, email, "wrong password"))
        await run_out(redis, settings, email)
        seen.append(await attempt(gql, email, "wrong password"))
        seen.append(await attempt(gql, email, "wrong password"))

    hints = {email: [a.pop("retryAfter") for a in seen] for email, seen in answers.items()}
    assert answers[known.email] == answers[unknown]
    for mine, theirs in zip(hints[known.email], hints[unknown], strict=True):
        assert (mine is None and theirs is None) or abs(mine - theirs) <= 60
    assert hints[unknown][FREE] in about(BASE) and hints[unknown][-1] in about(2 * BASE)
    assert [a["errors"][0]["code"] for a in answers[unknown]] == (
        ["INVALID_CREDENTIALS"] * FREE + ["RATE_LIMITED", "INVALID_CREDENTIALS", "RATE_LIMITED"]
    )


async def test_a_known_device_keeps_signing_in_while_others_are_locked_out(
    settings_and_gql: tuple[Settings, GraphQLClient],
) -> None:
    _, gql = settings_and_gql
    owner = await factories.register(gql)
    other = await factories.register(gql)
    response = await gql.raw(logins(1), variables([(owner.email, owner.password)]))
    device = response.cookies[DEVICE_COOKIE]
    elsewhere = (await gql.raw(logins(1), variables([(other.email, other.password)]))).cookies[
        DEVICE_COOKIE
    ]
    gql.http.cookies.clear()
    for _ in range(FREE + 2):
        await attempt(gql, owner.email, "guessed password")

    without = await attempt(gql, owner.email, owner.password)
    another_accounts_device = await attempt(gql, owner.email, owner.password, device=elsewhere)
    forged = await attempt(gql, owner.email, owner.password, device=device[:-2] + "xx")
    with_device = await attempt(gql, owner.email, owner.password, device=device)
    afterwards = await attempt(gql, owner.email, owner.password)

    assert without["errors"][0]["code"] == "RATE_LIMITED"
    assert another_accounts_device["errors"][0]["code"] == "RATE_LIMITED"
    assert forged["errors"][0]["code"] == "RATE_LIMITED"
    assert with_device["errors"] == [] and with_device["user"] == {"id": owner.id}
    # The owner's success cleared the account's count: other clients may try again.
    assert afterwards["errors"] == []


async def test_failures_are_forgotten_after_a_quiet_period(
    settings_and_gql: tuple[Settings, GraphQLClient], redis: Redis
) -> None:
    settings, gql = settings_and_gql
    user = await factories.register(gql)

    await attempt(gql, user.email, "wrong password")

    ttl = await redis.ttl(account_key(settings, user.email))
    assert 0 < ttl <= settings.login_failure_memory
    assert settings.login_failure_memory > settings.login_backoff_max


async def test_logins_over_the_websocket_spend_the_ip_budget_too(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(rate_limit_anonymous=20, rate_limit_window=WINDOW)
    async with (
        serve_in_process(settings) as server,
        connect(server.url) as socket,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        before = await client.post("/graphql", json=ME)
        pairs = [(f"nobody{i}@example.com", "wrong password") for i in range(3)]
        answer = await (await socket.subscribe(logins(3), variables(pairs))).next()
        after = await client.post("/graphql", json=ME)

    assert codes(answer) == ["INVALID_CREDENTIALS"] * 3
    spent = int(before.headers["ratelimit-remaining"]) - int(after.headers["ratelimit-remaining"])
    assert spent == 3 + 1  # the three logins, and the second request itself
