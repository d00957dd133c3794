"""API keys: created by owners, the secret shown once and stored only as a hash, looked up by
prefix, accepted in two headers, refused when wrong, expired or revoked."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from server.apikeys.models import ApiKey
from server.apikeys.service import create_api_key
from server.auth.actor import Actor
from server.db import Database
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

ORG = "query($id: ID!) { organization(id: $id) { id name } }"
KEYS = """
query($org: ID!) {
  apiKeys(organizationId: $org) { id name prefix scopes createdAt lastUsedAt expiresAt }
}
"""
CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    apiKey { id name prefix scopes createdAt lastUsedAt expiresAt } secret
    errors { field message code }
  }
}
"""
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) }"


async def key_rows(db: Database) -> list[ApiKey]:
    async with db.read() as session:
        return list(await session.scalars(select(ApiKey)))


async def org_with_key(
    gql: GraphQLClient, scopes: list[str] | None = None
) -> tuple[factories.TestOrg, str]:
    org = await factories.create_org(gql)
    secret = await factories.create_api_key(gql, org, scopes or ["organization:read"])
    return org, secret


async def as_key(
    client: httpx.AsyncClient, query: str, variables: dict[str, object], **headers: str
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"accept": "application/graphql-response+json", **headers},
    )


# --- creation ----------------------------------------------------------------------------------


async def test_the_secret_is_shown_once_and_only_its_hash_is_stored(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)

    data = await gql(
        CREATE,
        {"input": {"organizationId": org.id, "name": " CI ", "scopes": ["events:read"]}},
        token=org.owner.token,
    )

    payload = data["createApiKey"]
    assert payload["errors"] == []
    secret = payload["secret"]
    prefix, _, rest = secret.partition("_")
    assert payload["apiKey"]["prefix"] == prefix
    assert payload["apiKey"]["name"] == "CI"
    assert payload["apiKey"]["scopes"] == ["events:read"]
    assert len(rest) >= 40
    [row] = await key_rows(db)
    assert row.prefix == prefix
    assert row.secret_hash == hashlib.sha256(rest.encode()).hexdigest()
    assert rest not in repr(row.__dict__) and secret not in repr(row.__dict__)
    listed = (await gql(KEYS, {"org": org.id}, token=org.owner.token))["apiKeys"]
    assert [k["prefix"] for k in listed] == [prefix]
    assert "secret" not in str(listed)


async def test_each_key_gets_its_own_prefix_and_secret(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    secrets = [await factories.create_api_key(gql, org, ["events:read"]) for _ in range(5)]

    assert len({s.partition("_")[0] for s in secrets}) == 5
    assert len({s.partition("_")[2] for s in secrets}) == 5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["events:read", "root:all"]}, "scopes"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"expiresAt": "2001-01-01T00:00:00+00:00"}, "expiresAt"),
    ],
)
async def test_invalid_key_input_is_refused_and_creates_nothing(
    gql: GraphQLClient, db: Database, changes: dict[str, object], field: str
) -> None:
    org = await factories.create_org(gql)
    base = {"organizationId": org.id, "name": "k", "scopes": ["events:read"]}

    data = await gql(CREATE, {"input": {**base, **changes}}, token=org.owner.token)

    assert [f for _, f in payload_errors(data["createApiKey"])] == [[field]]
    assert data["createApiKey"]["secret"] is None
    assert await key_rows(db) == []


async def test_a_malformed_organization_id_is_a_field_error(gql: GraphQLClient) -> None:
    owner = await factories.register(gql)

    data = await gql(
        CREATE,
        {"input": {"organizationId": "not-an-id", "name": "k", "scopes": ["events:read"]}},
        token=owner.token,
    )

    assert payload_errors(data["createApiKey"]) == [("VALIDATION", ["organizationId"])]


# --- using a key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
async def test_a_key_is_accepted_in_either_header(
    client: httpx.AsyncClient, gql: GraphQLClient, header: str
) -> None:
    org, secret = await org_with_key(gql)
    value = f"Bearer {secret}" if header == "authorization" else secret

    response = await as_key(client, ORG, {"id": org.id}, **{header: value})

    assert response.status_code == 200
    assert response.json()["data"]["organization"]["id"] == org.id


@pytest.mark.parametrize(
    "mangle",
    ["wrong-secret", "unknown-prefix", "no-secret", "truncated", "long-prefix", "swapped"],
)
async def test_a_wrong_key_is_401(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database, mangle: str
) -> None:
    org, secret = await org_with_key(gql)
    other_secret = await factories.create_api_key(gql, org, ["events:read"])
    prefix, _, rest = secret.partition("_")
    forged = {
        "wrong-secret": f"{prefix}_{rest[:-4]}AAAA",
        "unknown-prefix": f"evkzzzzzzzzzzzz_{rest}",
        "no-secret": f"{prefix}_",
        "truncated": secret[:-1],
        "long-prefix": f"evk{'a' * 40}_{rest}",
        "swapped": f"{prefix}_{other_secret.partition('_')[2]}",
    }[mangle]

    response = await as_key(client, ORG, {"id": org.id}, **{"x-api-key": forged})

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert all(k.last_used_at is None for k in await key_rows(db))


async def test_using_a_key_sets_last_used_at(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    org, secret = await org_with_key(gql)
    before = (await gql(KEYS, {"org": org.id}, token=org.owner.token))["apiKeys"][0]

    await as_key(client, ORG, {"id": org.id}, **{"x-api-key": secret})

    after = (await gql(KEYS, {"org": org.id}, token=org.owner.token))["apiKeys"][0]
    assert before["lastUsedAt"] is None
    used = datetime.fromisoformat(after["lastUsedAt"])
    assert used >= datetime.fromisoformat(after["createdAt"])


async def test_an_expired_key_is_401(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    issued_at = datetime.now(UTC) - timedelta(hours=2)
    async with db.transaction() as session:
        created = await create_api_key(
            session,
            actor=Actor(user_id=uuid.UUID(org.owner.id)),
            organization_id=uuid.UUID(org.id),
            name="short-lived",
            scopes=["organization:read"],
            expires_at=issued_at + timedelta(hours=1),
            now=issued_at,
        )

    response = await as_key(client, ORG, {"id": org.id}, **{"x-api-key": created.secret})

    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


async def test_a_key_with_a_future_expiry_works(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    org = await factories.create_org(gql)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    data = await gql(
        CREATE,
        {
            "input": {
                "organizationId": org.id,
                "name": "k",
                "scopes": ["organization:read"],
                "expiresAt": expires,
            }
        },
        token=org.owner.token,
    )
    secret = data["createApiKey"]["secret"]

    response = await as_key(client, ORG, {"id": org.id}, **{"x-api-key": secret})

    assert response.status_code == 200
    assert data["createApiKey"]["apiKey"]["expiresAt"] is not None


# --- revocation --------------------------------------------------------------------------------


async def test_a_revoked_key_stops_at_once(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    org, secret = await org_with_key(gql)
    assert (await as_key(client, ORG, {"id": org.id}, **{"x-api-key": secret})).status_code == 200
    key_id = (await key_rows(db))[0].id

    data = await gql(REVOKE, {"id": str(key_id)}, token=org.owner.token)

    assert data == {"revokeApiKey": True}
    response = await as_key(client, ORG, {"id": org.id}, **{"x-api-key": secret})
    assert response.status_code == 401
    listed = (await gql(KEYS, {"org": org.id}, token=org.owner.token))["apiKeys"]
    assert listed == []
    assert (await key_rows(db))[0].revoked_at is not None


async def test_revoking_twice_is_harmless(gql: GraphQLClient, db: Database) -> None:
    org, _ = await org_with_key(gql)
    key_id = str((await key_rows(db))[0].id)

    first = await gql(REVOKE, {"id": key_id}, token=org.owner.token)
    second = await gql(REVOKE, {"id": key_id}, token=org.owner.token)

    assert first == second == {"revokeApiKey": True}


async def test_revoking_an_unknown_or_foreign_key_is_not_found(
    gql: GraphQLClient, db: Database
) -> None:
    org, _ = await org_with_key(gql)
    stranger = await factories.create_org(gql)
    key_id = str((await key_rows(db))[0].id)

    foreign = await gql.errors(REVOKE, {"id": key_id}, token=stranger.owner.token)
    unknown = await gql.errors(REVOKE, {"id": str(uuid.uuid4())}, token=org.owner.token)
    malformed = await gql.errors(REVOKE, {"id": "nope"}, token=org.owner.token)

    assert foreign[0]["extensions"]["code"] == "NOT_FOUND"
    assert unknown[0]["extensions"]["code"] == "NOT_FOUND"
    assert foreign[0]["message"] == unknown[0]["message"]
    assert malformed[0]["extensions"]["code"] == "VALIDATION"
    assert (await key_rows(db))[0].revoked_at is None


async def test_a_key_cannot_manage_keys(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    org, secret = await org_with_key(gql, list(_all_scopes()))
    key_id = str((await key_rows(db))[0].id)

    create = await as_key(
        client,
        CREATE,
        {"input": {"organizationId": org.id, "name": "k2", "scopes": ["events:read"]}},
        **{"x-api-key": secret},
    )
    revoke = await as_key(client, REVOKE, {"id": key_id}, **{"x-api-key": secret})
    listing = await as_key(client, KEYS, {"org": org.id}, **{"x-api-key": secret})

    for response in (create, revoke, listing):
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ApiKey)) == 1
    assert (await key_rows(db))[0].revoked_at is None


def _all_scopes() -> frozenset[str]:
    from server.organizations.access import SCOPES

    return SCOPES


async def test_an_expiry_without_an_offset_is_bad_input_and_creates_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)

    response = await gql.raw(
        CREATE,
        {
            "input": {
                "organizationId": org.id,
                "name": "k",
                "scopes": ["events:read"],
                "expiresAt": "2030-01-01T00:00:00",
            }
        },
        token=org.owner.token,
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await key_rows(db) == []
