"""Refresh tokens: rotation on every use, reuse detection revoking the whole family, logout,
the cookie's flags and the cross-site checks, through GraphQL and `POST /auth/refresh`."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from server.auth.models import Session
from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.schema.auth.helpers import (
    LOGOUT,
    REFRESH,
    cookie_value,
    graphql_with_cookie,
    login,
    refresh_cookie,
    rest_refresh,
    status_of,
)
from tests.support import factories
from tests.support.gql import GraphQLClient


async def sessions(db: Database) -> list[Session]:
    async with db.read() as session:
        return list(await session.scalars(select(Session).order_by(Session.created_at)))


# --- rotation --------------------------------------------------------------------------------


async def test_refresh_rotates_the_cookie_and_issues_a_working_token(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    user = await factories.register(gql)
    _, first = await login(client, user.email, user.password)

    response = await graphql_with_cookie(client, REFRESH, first)

    payload = response.json()["data"]["refreshToken"]
    assert payload["errors"] == []
    assert payload["user"]["id"] == user.id
    second = cookie_value(response)
    assert second != first
    assert await status_of(client, payload["accessToken"]) == 200
    rows = await sessions(db)
    # register's session, login's session, and the rotated successor in login's family
    assert len(rows) == 3
    rotated = [r for r in rows if r.rotated_at is not None]
    assert len(rotated) == 1 and rotated[0].family_id == rows[-1].family_id


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)

    stored = {r.token for r in await sessions(db)}

    assert cookie not in stored
    assert all(len(token) == 64 for token in stored)


async def test_each_rotated_cookie_works_once_in_a_chain(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)

    for _ in range(4):
        response = await rest_refresh(client, cookie)
        assert response.status_code == 200
        cookie = cookie_value(response)

    assert (await rest_refresh(client, cookie)).status_code == 200


async def test_rest_refresh_returns_the_token_user_and_rate_headers(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)

    response = await rest_refresh(client, cookie)

    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": user.id, "email": user.email, "name": "Test User"}
    assert await status_of(client, body["accessToken"]) == 200
    assert "ratelimit-remaining" in response.headers


# --- reuse detection ---------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["graphql", "rest"])
async def test_reusing_a_rotated_token_revokes_the_whole_family_at_once(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database, via: str
) -> None:
    user = await factories.register(gql)
    first_access, first = await login(client, user.email, user.password)
    rotated = await rest_refresh(client, first)
    second_access, second = rotated.json()["accessToken"], cookie_value(rotated)
    other_access, other_cookie = await login(client, user.email, user.password)

    if via == "rest":
        reuse = await rest_refresh(client, first)
        assert reuse.status_code == 401
        assert reuse.json()["error"]["code"] == "UNAUTHENTICATED"
        assert refresh_cookie(reuse)["eventapi_refresh"]["max-age"] == "0"
    else:
        reuse = await graphql_with_cookie(client, REFRESH, first)
        payload = reuse.json()["data"]["refreshToken"]
        assert payload["accessToken"] is None
        assert [e["code"] for e in payload["errors"]] == ["INVALID_CREDENTIALS"]

    # Every token of the family stops, the access tokens included, at once.
    assert await status_of(client, first_access) == 401
    assert await status_of(client, second_access) == 401
    assert (await rest_refresh(client, second)).status_code == 401
    # Another sign-in of the same user is a different family and keeps working.
    assert await status_of(client, other_access) == 200
    assert (await rest_refresh(client, other_cookie)).status_code == 200
    family = {r.family_id for r in await sessions(db) if r.revoked_at is not None}
    assert len(family) == 1


async def test_concurrent_use_of_one_token_rotates_it_at_most_once(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    import asyncio

    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)

    async def use() -> int:
        headers = {"x-requested-with": "test", "cookie": f"eventapi_refresh={cookie}"}
        response = await client.post("/auth/refresh", headers=headers)
        return response.status_code

    statuses = await asyncio.gather(*(use() for _ in range(5)))

    # The row lock lets exactly one rotate it; the others present a rotated token, which
    # is reuse: the family (the winner's new session included) is revoked.
    assert sorted(statuses) == [200, 401, 401, 401, 401]
    rows = await sessions(db)
    family = [r for r in rows if r.family_id == rows[1].family_id]
    assert len(family) == 2
    assert sum(r.rotated_at is not None for r in family) == 1
    assert all(r.revoked_at is not None for r in family)


async def test_an_unknown_or_missing_cookie_is_refused(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    missing = await rest_refresh(client, None)
    unknown = await rest_refresh(client, "made-up-token")
    via_graphql = await graphql_with_cookie(client, REFRESH, None)

    assert missing.status_code == 401
    assert unknown.status_code == 401
    assert via_graphql.json()["data"]["refreshToken"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


async def test_an_expired_refresh_token_is_refused(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    async with running_app(make_settings()) as (_, client):
        gql = GraphQLClient(client)
        user = await factories.register(gql)
        _, cookie = await login(client, user.email, user.password)
        async with db.transaction() as session:
            await session.execute(
                update(Session).values(expires_at=func.now() - timedelta(seconds=1))
            )

        response = await rest_refresh(client, cookie)

    assert response.status_code == 401


# --- logout ------------------------------------------------------------------------------------


async def test_logout_ends_that_session_at_once_and_only_that_one(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    access, cookie = await login(client, user.email, user.password)
    other_access, _ = await login(client, user.email, user.password)
    assert await status_of(client, access) == 200  # cached as active before the logout

    response = await client.post(
        "/graphql", json={"query": LOGOUT}, headers={"authorization": f"Bearer {access}"}
    )

    assert response.json() == {"data": {"logout": True}}
    assert refresh_cookie(response)["eventapi_refresh"]["max-age"] == "0"
    assert await status_of(client, access) == 401
    assert (await rest_refresh(client, cookie)).status_code == 401
    assert await status_of(client, other_access) == 200


async def test_logout_with_only_the_cookie_ends_its_session(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    access, cookie = await login(client, user.email, user.password)

    response = await graphql_with_cookie(client, LOGOUT, cookie)

    assert response.json() == {"data": {"logout": True}}
    assert await status_of(client, access) == 401


async def test_logout_without_a_session_is_false(client: httpx.AsyncClient) -> None:
    response = await graphql_with_cookie(client, LOGOUT, None)

    assert response.json() == {"data": {"logout": False}}


# --- the cookie ------------------------------------------------------------------------------


async def test_the_refresh_cookie_is_httponly_strict_and_long_lived(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    response = await graphql_with_cookie(
        client,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        None,
        {"i": {"email": user.email, "password": user.password}},
    )

    morsel = refresh_cookie(response)["eventapi_refresh"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "604800"
    # Plain-http development: not Secure, or the browser would drop it.
    assert not morsel["secure"]
    assert "accessToken" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("overrides", "base_url"),
    [
        ({}, "https://testserver"),
        ({"environment": "production", "test_payments": False}, "http://testserver"),
        ({"cookie_secure": True}, "http://testserver"),
    ],
    ids=["https", "production", "forced"],
)
async def test_the_cookie_is_secure_over_https_in_production_or_when_configured(
    make_settings: Callable[..., Settings], overrides: dict[str, object], base_url: str
) -> None:
    async with running_app(make_settings(**overrides)) as (app, _):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            gql = GraphQLClient(client)
            user = await factories.register(gql)
            response = await graphql_with_cookie(
                client,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                None,
                {"i": {"email": user.email, "password": user.password}},
            )
            rest = await rest_refresh(client, cookie_value(response))

    assert refresh_cookie(response)["eventapi_refresh"]["secure"] is True
    assert refresh_cookie(rest)["eventapi_refresh"]["secure"] is True


async def test_the_cookie_is_not_secure_when_configured_off(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(cookie_secure=False)) as (app, _):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            response = await GraphQLClient(client).raw(factories.REGISTER, _register_vars())

    assert not refresh_cookie(response)["eventapi_refresh"]["secure"]


def _register_vars() -> dict[str, object]:
    return {"input": {"email": factories.unique_email(), "password": "long enough", "name": "A"}}


# --- cross-site protection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"origin": "http://testserver"}, True),
        ({"origin": "https://app.example.com"}, True),  # in ALLOWED_ORIGINS
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"x-requested-with": "XMLHttpRequest"}, True),
        ({"content-type": "application/json"}, True),
        ({"content-type": "application/x-www-form-urlencoded"}, False),
        ({"content-type": "text/plain"}, False),
        ({}, False),
        ({"origin": "https://evil.example", "x-requested-with": "x"}, False),
    ],
)
async def test_rest_refresh_refuses_cross_site_requests(
    make_settings: Callable[..., Settings],
    db: Database,
    headers: dict[str, str],
    allowed: bool,
) -> None:
    settings = make_settings(allowed_origins=["https://app.example.com"])
    async with running_app(settings) as (_, client):
        user = await factories.register(GraphQLClient(client))
        _, cookie = await login(client, user.email, user.password)
        client.cookies.clear()
        response = await client.post(
            "/auth/refresh", headers={"cookie": f"eventapi_refresh={cookie}", **headers}
        )

    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
        # Refused before use: the cookie was not rotated.
        assert all(r.rotated_at is None for r in await sessions(db))


async def test_the_refresh_mutation_refuses_a_foreign_origin(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)

    response = await graphql_with_cookie(client, REFRESH, cookie, origin="https://evil.example")

    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert all(r.rotated_at is None for r in await sessions(db))


async def test_a_cross_site_multipart_post_cannot_use_the_cookie(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    """A cross-site HTML form can send multipart/form-data without a preflight."""
    user = await factories.register(gql)
    _, cookie = await login(client, user.email, user.password)
    client.cookies.clear()

    response = await client.post(
        "/graphql",
        files={
            "operations": (None, '{"query": "mutation { refreshToken { accessToken } }"}'),
            "map": (None, "{}"),
        },
        headers={"cookie": f"eventapi_refresh={cookie}"},
    )

    # Refused before the body is read: multipart is for signed-in uploads only.
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert all(r.rotated_at is None for r in await sessions(db))


async def test_cors_allows_credentials_only_for_allowed_origins(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(allowed_origins=["https://app.example.com"])
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    async with running_app(settings) as (_, client):
        good = await client.options(
            "/auth/refresh", headers={"origin": "https://app.example.com", **preflight}
        )
        bad = await client.options(
            "/auth/refresh", headers={"origin": "https://evil.example", **preflight}
        )

    assert good.status_code == 200
    assert good.headers["access-control-allow-origin"] == "https://app.example.com"
    assert good.headers["access-control-allow-credentials"] == "true"
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
