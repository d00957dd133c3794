"""Registration input rules: each bad input gets a field error and creates nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.auth.models import Session, User
from server.db import Database
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken expiresAt user { id email } errors { field message code } }
}
"""


async def rows(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        sessions = await session.scalar(select(func.count()).select_from(Session))
    return int(users or 0), int(sessions or 0)


async def register(
    gql: GraphQLClient, email: str, password: str = "long enough", name: str = "Ada"
) -> dict[str, object]:
    data = await gql(REGISTER, {"input": {"email": email, "password": password, "name": name}})
    return data["register"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plainaddress",
        "@example.com",
        "ada@",
        "ada@example",
        "ada@@example.com",
        "ada @example.com",
        "a" * 65 + "@example.com",
        "ada@" + "e" * 250 + ".com",
    ],
)
async def test_an_invalid_email_is_refused(gql: GraphQLClient, db: Database, email: str) -> None:
    payload = await register(gql, email)

    assert payload_errors(payload) == [("VALIDATION", ["email"])]
    assert payload["accessToken"] is None and payload["user"] is None
    assert await rows(db) == (0, 0)


@pytest.mark.parametrize(
    "password",
    ["", "short", "seven77", "é" * 37, "x" * 73],
    ids=["empty", "short", "seven", "74-bytes", "73-bytes"],
)
async def test_short_or_over_72_byte_passwords_are_refused(
    gql: GraphQLClient, db: Database, password: str
) -> None:
    payload = await register(gql, "ada@example.com", password=password)

    assert payload_errors(payload) == [("VALIDATION", ["password"])]
    assert await rows(db) == (0, 0)


@pytest.mark.parametrize("password", ["eight888", "x" * 72, "é" * 36], ids=["8", "72", "72b"])
async def test_passwords_from_8_characters_to_72_bytes_are_accepted(
    gql: GraphQLClient, password: str
) -> None:
    payload = await register(gql, "ada@example.com", password=password)

    assert payload["errors"] == []


async def test_every_bad_field_is_reported_at_once(gql: GraphQLClient, db: Database) -> None:
    payload = await register(gql, "nope", password="short", name="   ")

    assert sorted(payload_errors(payload)) == [
        ("VALIDATION", ["email"]),
        ("VALIDATION", ["name"]),
        ("VALIDATION", ["password"]),
    ]
    assert await rows(db) == (0, 0)


async def test_emails_are_normalized(gql: GraphQLClient) -> None:
    payload = await register(gql, "  Ada.Lovelace@Example.COM\t")

    assert payload["errors"] == []
    assert payload["user"]["email"] == "ada.lovelace@example.com"  # type: ignore[index]


async def test_an_email_taken_in_any_case_is_a_conflict(gql: GraphQLClient, db: Database) -> None:
    await factories.register(gql, email="ada@example.com")

    payload = await register(gql, "ADA@example.com ")

    assert payload_errors(payload) == [("CONFLICT", ["email"])]
    assert await rows(db) == (1, 1)


async def test_two_concurrent_registrations_of_one_email_make_one_account(
    gql: GraphQLClient, db: Database
) -> None:
    import asyncio

    results = await asyncio.gather(
        *(register(gql, f"{'RACE' if i % 2 else 'race'}@example.com") for i in range(6))
    )

    codes = sorted(payload_errors(r)[0][0] if r["errors"] else "OK" for r in results)
    assert codes == ["CONFLICT"] * 5 + ["OK"]
    assert await rows(db) == (1, 1)


async def test_register_returns_a_15_minute_access_token(gql: GraphQLClient) -> None:
    from datetime import datetime

    import jwt

    payload = await register(gql, "ada@example.com")

    claims = jwt.decode(str(payload["accessToken"]), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert claims["sub"] == payload["user"]["id"]  # type: ignore[index]
    assert datetime.fromisoformat(str(payload["expiresAt"])).timestamp() == claims["exp"]
