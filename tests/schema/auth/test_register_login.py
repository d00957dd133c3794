from __future__ import annotations

from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

ME = "query { me { id email name organizations { role organization { id } } } }"
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken expiresAt user { id email } errors { field message code } }
}
"""


async def test_register_returns_a_working_access_token(gql: GraphQLClient) -> None:
    user = await factories.register(gql, email="  Ada@Example.COM ")

    me = (await gql(ME, token=user.token))["me"]

    assert me == {
        "id": user.id,
        "email": "ada@example.com",
        "name": "Test User",
        "organizations": [],
    }


async def test_login_with_any_email_case_signs_in(gql: GraphQLClient) -> None:
    user = await factories.register(gql, email="grace@example.com")

    data = await gql(LOGIN, {"input": {"email": "GRACE@example.com", "password": user.password}})

    assert data["login"]["errors"] == []
    assert data["login"]["user"]["id"] == user.id


async def test_wrong_password_and_unknown_email_get_the_same_answer(gql: GraphQLClient) -> None:
    await factories.register(gql, email="known@example.com")

    wrong = await gql(
        LOGIN, {"input": {"email": "known@example.com", "password": "nope-nope-nope"}}
    )
    unknown = await gql(
        LOGIN, {"input": {"email": "nobody@example.com", "password": "nope-nope-nope"}}
    )

    assert wrong["login"] == unknown["login"]
    assert payload_errors(wrong["login"]) == [("INVALID_CREDENTIALS", None)]
    assert wrong["login"]["accessToken"] is None
