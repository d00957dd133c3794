"""Sign-in: normalized emails, one answer for every kind of wrong credential."""

from __future__ import annotations

import httpx
import pytest

from tests.schema.auth.helpers import LOGIN, graphql_with_cookie, refresh_cookie
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors


async def login(gql: GraphQLClient, email: str, password: str) -> dict[str, object]:
    data = await gql(LOGIN, {"input": {"email": email, "password": password}})
    return data["login"]  # type: ignore[no-any-return]


async def test_login_normalizes_the_email(gql: GraphQLClient) -> None:
    user = await factories.register(gql, email="grace@example.com")

    payload = await login(gql, "  GRACE@Example.com ", user.password)

    assert payload["errors"] == []
    assert payload["user"] == {"id": user.id, "email": "grace@example.com"}


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("known@example.com", "wrong password"),
        ("nobody@example.com", "wrong password"),
        ("nobody@example.com", "correct horse battery"),
        ("not an email", "correct horse battery"),
        ("", ""),
        ("known@example.com", "x" * 200),
        ("known@example.com", "correct horse battery "),
    ],
)
async def test_every_wrong_credential_gets_the_same_answer(
    gql: GraphQLClient, email: str, password: str
) -> None:
    await factories.register(gql, email="known@example.com")

    payload = await login(gql, email, password)

    assert payload == {
        "accessToken": None,
        "expiresAt": None,
        "user": None,
        "errors": [
            {
                "field": None,
                "message": "The email or password is incorrect.",
                "code": "INVALID_CREDENTIALS",
            }
        ],
    }
    assert payload_errors(payload) == [("INVALID_CREDENTIALS", None)]


async def test_a_failed_login_sets_no_cookie(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    await factories.register(gql, email="known@example.com")

    response = await graphql_with_cookie(
        client, LOGIN, None, {"input": {"email": "known@example.com", "password": "nope nope"}}
    )

    assert "set-cookie" not in response.headers


async def test_a_successful_login_sets_the_refresh_cookie(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)

    response = await graphql_with_cookie(
        client, LOGIN, None, {"input": {"email": user.email, "password": user.password}}
    )

    assert refresh_cookie(response)["eventapi_refresh"].value
