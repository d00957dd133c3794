"""PERSISTED_QUERIES_ONLY_FOR_API_KEYS: an API key runs only its own organization's
registered documents; users and anonymous callers are unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from server.config import Settings
from tests.conftest import running_app
from tests.schema.persisted.helpers import error_codes, persisted, post, sha
from tests.schema.persisted.test_trusted_documents import REMOVE, doc, register
from tests.support import factories
from tests.support.gql import GraphQLClient

ORG_NAME = "query OrgName($id: ID!) { organization(id: $id) { name } }"
ORG_SLUG = "query OrgSlug($id: ID!) { organization(id: $id) { slug } }"


@pytest.fixture
async def strict(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An app instance with the mode on (sharing the database and Redis)."""
    async with running_app(make_settings(persisted_queries_only_for_api_keys=True)) as (_, c):
        yield c


async def test_a_key_runs_its_registered_document_by_hash_or_by_text(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Lagos Jazz")
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    by_hash = await post(
        strict, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )
    by_both = await post(
        strict,
        query=ORG_NAME,
        extensions=persisted(sha(ORG_NAME)),
        variables=variables,
        api_key=key,
    )
    by_text = await post(strict, query=ORG_NAME, variables=variables, api_key=key)

    for response in (by_hash, by_both, by_text):
        assert response.status_code == 200
        assert response.json() == {"data": {"organization": {"name": "Lagos Jazz"}}}


async def test_anything_else_from_a_key_is_refused_with_a_code(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql)
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    raw_text = await post(strict, query=ORG_SLUG, variables=variables, api_key=key)
    unknown_hash = await post(
        strict, extensions=persisted(sha(ORG_SLUG)), variables=variables, api_key=key
    )
    apq_registration = await post(
        strict,
        query=ORG_SLUG,
        extensions=persisted(sha(ORG_SLUG)),
        variables=variables,
        api_key=key,
    )
    mismatch = await post(
        strict,
        query=ORG_SLUG,
        extensions=persisted(sha(ORG_NAME)),
        variables=variables,
        api_key=key,
    )

    assert (raw_text.status_code, error_codes(raw_text)) == (400, ["PERSISTED_QUERY_REQUIRED"])
    assert error_codes(unknown_hash) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(apq_registration) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(mismatch) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    for refused in (raw_text, unknown_hash, apq_registration, mismatch):
        assert "data" not in refused.json()
    # The refused registration was not stored as an automatic persisted query either.
    anonymous = await post(strict, extensions=persisted(sha(ORG_SLUG)), variables=variables)
    assert error_codes(anonymous) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_key_cannot_run_another_organizations_documents(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    cast = await factories.cast(gql)
    await register(gql, cast.org.id, [doc(ORG_NAME)], token=cast.owner.token)
    other_key = await factories.create_api_key(gql, cast.other_org, ["organization:read"])
    variables = {"id": cast.other_org.id}

    by_hash = await post(
        strict, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=other_key
    )
    by_text = await post(strict, query=ORG_NAME, variables=variables, api_key=other_key)

    assert error_codes(by_hash) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(by_text) == ["PERSISTED_QUERY_REQUIRED"]


async def test_users_and_anonymous_callers_are_unaffected(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Open")
    ping = "query Ping { __typename }"

    as_user = await post(strict, query=ORG_NAME, variables={"id": org.id}, token=org.owner.token)
    anonymous = await post(strict, query=ping)
    apq = await post(strict, query=ping, extensions=persisted(sha(ping)))
    apq_by_hash = await post(strict, extensions=persisted(sha(ping)))

    assert as_user.json() == {"data": {"organization": {"name": "Open"}}}
    assert anonymous.json() == apq.json() == apq_by_hash.json() == {"data": {"__typename": "Query"}}


async def test_removal_and_registration_take_effect_at_once(
    gql: GraphQLClient, strict: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Now")
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    before = await post(
        strict, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    registered = await post(
        strict, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )
    await gql(REMOVE, {"org": org.id, "hashes": [sha(ORG_NAME)]}, token=org.owner.token)
    removed = await post(
        strict, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )

    assert error_codes(before) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered.json() == {"data": {"organization": {"name": "Now"}}}
    assert error_codes(removed) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_with_the_mode_off_keys_run_anything_and_find_their_documents_by_hash(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql, name="Relaxed")
    await register(gql, org.id, [doc(ORG_NAME)], token=org.owner.token)
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}

    raw_text = await post(client, query=ORG_SLUG, variables=variables, api_key=key)
    trusted = await post(
        client, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )

    assert raw_text.json() == {"data": {"organization": {"slug": org.slug}}}
    assert trusted.json() == {"data": {"organization": {"name": "Relaxed"}}}
