"""Sending and reading the refresh cookie by hand, so a test can replay an old one."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx

from server.auth.flows import REFRESH_COOKIE

REFRESH = "mutation { refreshToken { accessToken expiresAt user { id } errors { code } } }"
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken expiresAt user { id email } errors { field message code } }
}
"""
ME = "query { me { id email } }"
LOGOUT = "mutation { logout }"


def refresh_cookie(response: httpx.Response) -> SimpleCookie:
    """The Set-Cookie for the refresh token in a response (fails if there is none)."""
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if REFRESH_COOKIE in cookie:
            return cookie
    raise AssertionError(f"no {REFRESH_COOKIE} cookie in {response.headers}")


def cookie_value(response: httpx.Response) -> str:
    return refresh_cookie(response)[REFRESH_COOKIE].value


async def graphql_with_cookie(
    client: httpx.AsyncClient,
    query: str,
    refresh: str | None,
    variables: dict[str, Any] | None = None,
    **headers: str,
) -> httpx.Response:
    client.cookies.clear()
    sent = {"accept": "application/json", "content-type": "application/json", **headers}
    if refresh is not None:
        sent["cookie"] = f"{REFRESH_COOKIE}={refresh}"
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = await client.post("/graphql", json=body, headers=sent)
    client.cookies.clear()
    return response


async def rest_refresh(
    client: httpx.AsyncClient, refresh: str | None, **headers: str
) -> httpx.Response:
    client.cookies.clear()
    sent = {"x-requested-with": "test", **headers}
    if refresh is not None:
        sent["cookie"] = f"{REFRESH_COOKIE}={refresh}"
    response = await client.post("/auth/refresh", headers=sent)
    client.cookies.clear()
    return response


async def login(client: httpx.AsyncClient, email: str, password: str) -> tuple[str, str]:
    """(access token, refresh cookie value) of a fresh login."""
    response = await graphql_with_cookie(
        client, LOGIN, None, {"input": {"email": email, "password": password}}
    )
    payload = response.json()["data"]["login"]
    assert payload["errors"] == [], payload
    return payload["accessToken"], cookie_value(response)


async def status_of(client: httpx.AsyncClient, token: str) -> int:
    """The HTTP status of `me` with this access token."""
    response = await client.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
    )
    return response.status_code
