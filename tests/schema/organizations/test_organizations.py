"""Creating and deleting organizations; the creator is the owner; slugs are unique."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from server.db import Database
from server.organizations.models import Membership, Organization
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

CREATE = """
mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) {
    organization { id name slug members { role user { id } } } errors { field message code }
  }
}
"""
DELETE = "mutation($id: ID!) { deleteOrganization(id: $id) }"
ORG = "query($id: ID!) { organization(id: $id) { id name slug } }"
MY_ORGS = "{ me { organizations { role organization { id slug } } } }"


async def counts(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        orgs = await session.scalar(select(func.count()).select_from(Organization))
        members = await session.scalar(select(func.count()).select_from(Membership))
    return int(orgs or 0), int(members or 0)


async def create(
    gql: GraphQLClient, token: str, name: str, slug: str | None = None
) -> dict[str, object]:
    data = await gql(CREATE, {"input": {"name": name, "slug": slug}}, token=token)
    return data["createOrganization"]  # type: ignore[no-any-return]


async def test_the_creator_becomes_the_owner(gql: GraphQLClient) -> None:
    user = await factories.register(gql)

    payload = await create(gql, user.token, "  Lagos Jazz Society ")

    assert payload["errors"] == []
    org = payload["organization"]
    assert org["name"] == "Lagos Jazz Society"  # type: ignore[index]
    assert org["slug"] == "lagos-jazz-society"  # type: ignore[index]
    assert org["members"] == [{"role": "OWNER", "user": {"id": user.id}}]  # type: ignore[index]
    mine = (await gql(MY_ORGS, token=user.token))["me"]["organizations"]
    assert mine == [{"role": "OWNER", "organization": {"id": org["id"], "slug": org["slug"]}}]  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Müller & Co.", "cafe-muller-co"),
        ("東京", "org"),
        ("--Hello--World--", "hello-world"),
        ("A" * 200, "a" * 48),
    ],
)
async def test_slugs_are_generated_from_the_name(gql: GraphQLClient, name: str, slug: str) -> None:
    user = await factories.register(gql)

    payload = await create(gql, user.token, name)

    assert payload["organization"]["slug"] == slug  # type: ignore[index]


async def test_an_explicit_slug_is_used_as_given(gql: GraphQLClient) -> None:
    user = await factories.register(gql)

    payload = await create(gql, user.token, "Anything", slug="my-org-2026")

    assert payload["organization"]["slug"] == "my-org-2026"  # type: ignore[index]


async def test_a_taken_explicit_slug_is_a_conflict_and_creates_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    first = await factories.register(gql)
    second = await factories.register(gql)
    await create(gql, first.token, "One", slug="taken")
    before = await counts(db)

    payload = await create(gql, second.token, "Two", slug="taken")

    assert payload_errors(payload) == [("CONFLICT", ["slug"])]
    assert payload["organization"] is None
    assert await counts(db) == before


async def test_a_taken_generated_slug_gets_a_suffix(gql: GraphQLClient) -> None:
    user = await factories.register(gql)

    slugs = [
        (await create(gql, user.token, "Jazz Club"))["organization"]["slug"]  # type: ignore[index]
        for _ in range(3)
    ]

    assert slugs[0] == "jazz-club"
    assert len(set(slugs)) == 3
    assert all(s.startswith("jazz-club-") for s in slugs[1:])


async def test_concurrent_creations_with_one_name_all_get_unique_slugs(
    gql: GraphQLClient, db: Database
) -> None:
    user = await factories.register(gql)

    payloads = await asyncio.gather(*(create(gql, user.token, "Same Name") for _ in range(6)))

    slugs = [p["organization"]["slug"] for p in payloads]  # type: ignore[index]
    assert len(set(slugs)) == 6
    assert await counts(db) == (6, 6)


async def test_concurrent_creations_with_one_explicit_slug_make_one_organization(
    gql: GraphQLClient, db: Database
) -> None:
    user = await factories.register(gql)

    payloads = await asyncio.gather(
        *(create(gql, user.token, f"Org {i}", slug="the-slug") for i in range(5))
    )

    codes = sorted("OK" if not p["errors"] else payload_errors(p)[0][0] for p in payloads)
    assert codes == ["CONFLICT"] * 4 + ["OK"]
    assert await counts(db) == (1, 1)


@pytest.mark.parametrize(
    ("name", "slug", "field"),
    [
        ("", None, "name"),
        ("   ", None, "name"),
        ("x" * 201, None, "name"),
        ("Fine", "Has Caps", "slug"),
        ("Fine", "-leading", "slug"),
        ("Fine", "trailing-", "slug"),
        ("Fine", "", "slug"),
        ("Fine", "a" * 65, "slug"),
        ("Fine", "under_score", "slug"),
    ],
)
async def test_invalid_names_and_slugs_are_refused(
    gql: GraphQLClient, db: Database, name: str, slug: str | None, field: str
) -> None:
    user = await factories.register(gql)

    payload = await create(gql, user.token, name, slug)

    assert payload_errors(payload) == [("VALIDATION", [field])]
    assert await counts(db) == (0, 0)


# --- deletion --------------------------------------------------------------------------------


async def test_the_owner_deletes_an_organization_and_it_vanishes_for_everyone(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    cast = await factories.cast(gql)
    key = await factories.create_api_key(gql, cast.org, ["organization:read"])
    before = await client.post(
        "/graphql",
        json={"query": ORG, "variables": {"id": cast.org.id}},
        headers={"x-api-key": key},
    )
    assert before.json()["data"]["organization"]["id"] == cast.org.id

    data = await gql(DELETE, {"id": cast.org.id}, token=cast.owner.token)

    assert data == {"deleteOrganization": True}
    for member in (cast.owner, cast.manager, cast.staff):
        assert (await gql(ORG, {"id": cast.org.id}, token=member.token)) == {"organization": None}
        assert (await gql(MY_ORGS, token=member.token))["me"]["organizations"] == []
    # Its API keys stop at once, although the key was cached by its first use.
    after = await client.post(
        "/graphql",
        json={"query": ORG, "variables": {"id": cast.org.id}},
        headers={"x-api-key": key},
    )
    assert after.status_code == 401


async def test_a_deleted_organization_frees_its_slug(gql: GraphQLClient) -> None:
    user = await factories.register(gql)
    first = await create(gql, user.token, "Reused", slug="reused")
    await gql(DELETE, {"id": first["organization"]["id"]}, token=user.token)  # type: ignore[index]

    second = await create(gql, user.token, "Reused again", slug="reused")

    assert second["errors"] == []


async def test_a_deleted_organization_cannot_be_changed_or_deleted_again(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    await gql(DELETE, {"id": cast.org.id}, token=cast.owner.token)
    newcomer = await factories.register(gql)

    again = await gql.error_code(DELETE, {"id": cast.org.id}, token=cast.owner.token)
    add = await gql(
        """mutation($org: ID!, $email: String!) {
          addMember(input: {organizationId: $org, email: $email, role: STAFF}) {
            errors { code } } }""",
        {"org": cast.org.id, "email": newcomer.email},
        token=cast.owner.token,
    )

    assert again == "NOT_FOUND"
    assert add["addMember"]["errors"] == [{"code": "NOT_FOUND"}]
