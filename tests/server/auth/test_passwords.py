"""bcrypt: the cost comes from settings, and unknown emails cost as much as real ones."""

from __future__ import annotations

from collections.abc import Callable

import bcrypt
from sqlalchemy import select

from server.auth.models import User
from server.auth.passwords import dummy_hash, hash_cost, verify_password
from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.support import factories
from tests.support.gql import GraphQLClient

LOGIN = """
mutation($i: LoginInput!) { login(input: $i) { accessToken errors { code } } }
"""


async def stored_hash(db: Database, email: str) -> str:
    async with db.read() as session:
        return str(await session.scalar(select(User.password_hash).where(User.email == email)))


def test_the_default_cost_is_10() -> None:
    assert Settings(_env_file=None).bcrypt_rounds == 10  # type: ignore[call-arg]


async def test_passwords_are_hashed_at_the_configured_cost(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    async with running_app(make_settings(bcrypt_rounds=5)) as (_, client):
        user = await factories.register(GraphQLClient(client))

    hashed = await stored_hash(db, user.email)
    assert hashed.startswith("$2b$05$")
    assert user.password not in hashed
    assert bcrypt.checkpw(user.password.encode(), hashed.encode())


async def test_a_sign_in_rehashes_a_password_stored_at_another_cost(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    async with running_app(make_settings(bcrypt_rounds=4)) as (_, client):
        user = await factories.register(GraphQLClient(client))
    async with running_app(make_settings(bcrypt_rounds=6)) as (_, client):
        data = await GraphQLClient(client)(
            LOGIN, {"i": {"email": user.email, "password": user.password}}
        )
        again = await GraphQLClient(client)(
            LOGIN, {"i": {"email": user.email, "password": user.password}}
        )

    assert data["login"]["errors"] == [] and again["login"]["errors"] == []
    assert hash_cost(await stored_hash(db, user.email)) == 6


async def test_a_failed_sign_in_keeps_the_stored_hash(gql: GraphQLClient, db: Database) -> None:
    user = await factories.register(gql)
    before = await stored_hash(db, user.email)

    data = await gql(LOGIN, {"i": {"email": user.email, "password": "wrong password"}})

    assert data["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert await stored_hash(db, user.email) == before


async def test_unknown_emails_are_checked_against_a_hash_of_the_same_cost() -> None:
    assert hash_cost(dummy_hash(7)) == 7
    assert await verify_password("anything at all", None, rounds=5) is False


async def test_a_password_over_72_bytes_never_matches() -> None:
    hashed = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(4)).decode()

    assert await verify_password("x" * 72, hashed, rounds=4) is True
    assert await verify_password("x" * 73, hashed, rounds=4) is False
    assert await verify_password("x" * 72, "not a bcrypt hash", rounds=4) is False
