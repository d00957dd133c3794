"""Access tokens: only our own, unexpired, HS256-signed tokens of a live session pass; every
other credential is a 401 with UNAUTHENTICATED (never a silent downgrade to anonymous)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from server.auth.tokens import issue_access_token
from tests.conftest import TEST_JWT_SECRET
from tests.support import factories
from tests.support.gql import GraphQLClient

ME = "query { me { id } }"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user_id: str, session_id: str, **changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "eventapi",
        "typ": "access",
        "sub": user_id,
        "sid": session_id,
        "iat": now,
        "exp": now + 900,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def me(client: httpx.AsyncClient, authorization: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": ME},
        headers={"authorization": authorization, "accept": "application/graphql-response+json"},
    )


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
async def signed_in(gql: GraphQLClient) -> tuple[str, str, str]:
    """(user id, session id, a valid token) of a registered user."""
    user = await factories.register(gql)
    sid = jwt.decode(user.token, options={"verify_signature": False})["sid"]
    return user.id, sid, user.token


async def test_a_valid_token_signs_in(
    client: httpx.AsyncClient, signed_in: tuple[str, str, str]
) -> None:
    user_id, _, token = signed_in

    response = await me(client, f"Bearer {token}")

    assert response.json() == {"data": {"me": {"id": user_id}}}


async def test_the_scheme_is_case_insensitive(
    client: httpx.AsyncClient, signed_in: tuple[str, str, str]
) -> None:
    assert (await me(client, f"bearer {signed_in[2]}")).status_code == 200


@pytest.mark.filterwarnings("ignore:The HMAC key")
@pytest.mark.parametrize(
    "forge",
    [
        "alg-none",
        "alg-none-unsigned",
        "wrong-key",
        "hs512",
        "tampered-payload",
        "expired",
        "not-yet-an-access-token",
        "missing-sid",
        "missing-exp",
        "wrong-issuer",
        "unknown-session",
        "garbage-sub",
    ],
)
async def test_forged_or_expired_tokens_are_401(
    client: httpx.AsyncClient, signed_in: tuple[str, str, str], forge: str
) -> None:
    user_id, sid, token = signed_in
    claims = claims_for(user_id, sid)
    if forge == "alg-none":
        forged = jwt.encode(claims, None, algorithm="none")
    elif forge == "alg-none-unsigned":
        forged = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    elif forge == "wrong-key":
        forged = jwt.encode(claims, "another-secret-another-secret-0123", algorithm="HS256")
    elif forge == "hs512":
        forged = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512")
    elif forge == "tampered-payload":
        header, _, signature = token.split(".")
        other = claims_for(str(uuid.uuid4()), sid)
        forged = f"{header}.{b64(other)}.{signature}"
    elif forge == "expired":
        forged, _ = issue_access_token(
            key=TEST_JWT_SECRET,
            user_id=uuid.UUID(user_id),
            session_id=uuid.UUID(sid),
            now=datetime.now(UTC) - timedelta(seconds=901),
            ttl=900,
        )
    elif forge == "not-yet-an-access-token":
        forged = jwt.encode(claims_for(user_id, sid, typ="refresh"), TEST_JWT_SECRET)
    elif forge == "missing-sid":
        forged = jwt.encode(claims_for(user_id, sid, sid=None), TEST_JWT_SECRET)
    elif forge == "missing-exp":
        forged = jwt.encode(claims_for(user_id, sid, exp=None), TEST_JWT_SECRET)
    elif forge == "wrong-issuer":
        forged = jwt.encode(claims_for(user_id, sid, iss="someone-else"), TEST_JWT_SECRET)
    elif forge == "unknown-session":
        forged = jwt.encode(claims_for(user_id, str(uuid.uuid4())), TEST_JWT_SECRET)
    else:
        forged = jwt.encode(claims_for("not-a-uuid", sid), TEST_JWT_SECRET)

    assert_unauthenticated(await me(client, f"Bearer {forged}"))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not-a-token",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30",  # two segments
        "Bearer eyJ.eyJ.sig",
        "Bearer " + "ey" + "A" * 5000 + ".x.y",
    ],
)
async def test_malformed_authorization_headers_are_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    assert_unauthenticated(await me(client, authorization))


async def test_a_401_for_bad_credentials_changes_nothing(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    forged = jwt.encode(claims_for(str(uuid.uuid4()), str(uuid.uuid4())), "x" * 40)
    response = await client.post(
        "/graphql",
        json={"query": 'mutation { createOrganization(input: {name: "X"}) { errors { code } } }'},
        headers={"authorization": f"Bearer {forged}"},
    )

    assert response.status_code == 401
    owner = await factories.register(gql)
    data = await gql("{ me { organizations { role } } }", token=owner.token)
    assert data["me"]["organizations"] == []
