"""The GraphQL-over-HTTP persisted documents form: `documentId` (`sha256:<hex>`) in the JSON
body or the query string, beside Apollo's `extensions.persistedQuery`, for documents
learned by APQ, an API key's registered documents, and in the API-key-only mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from server.config import Settings
from tests.conftest import running_app
from tests.schema.persisted.helpers import error_codes, get, persisted, post, sha
from tests.schema.persisted.test_trusted_documents import doc, register
from tests.support import factories
from tests.support.gql import GraphQLClient

PING = "query Ping { __typename }"
ORG_NAME = "query OrgName($id: ID!) { organization(id: $id) { name } }"
ORG_SLUG = "query OrgSlug($id: ID!) { organization(id: $id) { slug } }"
JSON_ONLY = "application/json"


def document_id(text: str) -> str:
    return f"sha256:{sha(text)}"


@pytest.fixture
async def strict(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(persisted_queries_only_for_api_keys=True)) as (_, c):
        yield c


async def test_a_document_learned_by_apq_runs_by_document_id_over_post_and_get(
    client: httpx.AsyncClient,
) -> None:
    learned = await post(client, query=PING, extensions=persisted(sha(PING)))
    by_post = await post(client, document_id=document_id(PING))
    by_get = await get(client, document_id=document_id(PING))
    upper = await get(client, document_id=document_id(PING).upper().replace("SHA256", "sha256"))

    assert learned.json() == {"data": {"__typename": "Query"}}
    for response in (by_post, by_get, upper):
        assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


async def test_a_document_id_sent_with_its_query_registers_it(client: httpx.AsyncClient) -> None:
    text = "query PingAgain { __typename }"
    first = await post(client, document_id=document_id(text), query=text)
    then = await get(client, document_id=document_id(text))

    assert first.json() == then.json() == {"data": {"__typename": "Query"}}


async def test_an_unknown_document_id_is_one_error_with_a_code(client: httpx.AsyncClient) -> None:
    unknown = document_id("query Nobody { __typename }")
    strict_post = await post(client, document_id=unknown)
    strict_get = await get(client, document_id=unknown)
    plain_post = await post(client, document_id=unknown, accept=JSON_ONLY)

    expected = {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert (strict_post.status_code, strict_post.json()) == (400, expected)
    assert (strict_get.status_code, strict_get.json()) == (400, expected)
    assert (plain_post.status_code, plain_post.json()) == (200, expected)
    assert strict_get.headers["cache-control"].startswith("private, no-cache")


@pytest.mark.parametrize(
    "bad",
    ["md5:0cc175b9c0f1b6a831c399e269772661", "x-app:ping", "sha256:abc", "sha256:" + "g" * 64, ""],
)
async def test_a_document_id_that_is_not_a_sha256_identifier_is_refused(
    client: httpx.AsyncClient, bad: str
) -> None:
    by_post = await post(client, document_id=bad)
    by_get = await get(client, document_id=bad)

    for response in (by_post, by_get):
        assert response.status_code == 400
        assert error_codes(response) == ["PERSISTED_QUERY_HASH_INVALID"]
        assert "data" not in response.json()


async def test_a_document_id_that_disagrees_with_the_query_or_the_extension_is_refused(
    client: httpx.AsyncClient,
) -> None:
    other = "query Other { __typename }"
    with_query = await post(client, document_id=document_id(other), query=PING)
    with_extension = await post(
        client, document_id=document_id(other), extensions=persisted(sha(PING))
    )
    agreeing = await post(
        client, document_id=document_id(PING), query=PING, extensions=persisted(sha(PING))
    )
    not_a_string = await client.post("/graphql", json={"documentId": 7})

    assert error_codes(with_query) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert error_codes(with_extension) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert agreeing.json() == {"data": {"__typename": "Query"}}
    assert (not_a_string.status_code, error_codes(not_a_string)) == (400, ["BAD_REQUEST"])


async def test_a_mutation_by_document_id_over_get_is_405(client: httpx.AsyncClient) -> None:
    mutation = "mutation Out { logout }"
    await post(client, query=mutation, extensions=persisted(sha(mutation)))

    response = await get(client, document_id=document_id(mutation))

    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]


async def test_an_api_key_runs_its_registered_documents_by_document_id(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Lagos Jazz")
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    by_post = await post(
        client, document_id=document_id(ORG_NAME), variables=variables, api_key=key
    )
    by_get = await get(client, document_id=document_id(ORG_NAME), variables=variables, api_key=key)
    anonymous = await post(client, document_id=document_id(ORG_NAME), variables=variables)

    for response in (by_post, by_get):
        assert response.json() == {"data": {"organization": {"name": "Lagos Jazz"}}}
    # Registered documents belong to the organization's keys, not to everyone.
    assert error_codes(anonymous) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_in_the_api_key_only_mode_a_key_runs_only_its_registered_document_ids(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Abuja Strings")
    other = await factories.create_org(gql)
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    await register(gql, other.id, [doc(ORG_SLUG)], token=other.owner.token)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    registered_post = await post(
        strict, document_id=document_id(ORG_NAME), variables=variables, api_key=key
    )
    registered_get = await get(
        strict, document_id=document_id(ORG_NAME), variables=variables, api_key=key
    )
    others = await post(strict, document_id=document_id(ORG_SLUG), variables=variables, api_key=key)
    registering = await post(
        strict,
        document_id=document_id(ORG_SLUG),
        query=ORG_SLUG,
        variables=variables,
        api_key=key,
    )
    unregistered = await get(strict, document_id=document_id(PING), api_key=key)

    for response in (registered_post, registered_get):
        assert response.status_code == 200
        assert response.json()["data"]["organization"]["name"] == "Abuja Strings"
    assert error_codes(others) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(registering) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(unregistered) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert {r.status_code for r in (others, registering, unregistered)} == {400}
