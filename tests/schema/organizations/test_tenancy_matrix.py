"""Who may do what to an organization: every organization, member and API-key operation,
for anonymous callers, an outsider (owner of another organization), each role, and API keys
with and without the needed scope or of another organization. Outsiders see the
organization as non-existent; a refusal changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.apikeys.models import ApiKey
from server.db import Database
from server.organizations.access import SCOPES
from server.organizations.models import Membership, Organization
from tests.support import factories
from tests.support.gql import GraphQLClient

ACTORS = [
    "anonymous",
    "outsider",
    "staff",
    "manager",
    "owner",
    "key_scoped",
    "key_unscoped",
    "key_foreign",
]

OK, NF, FB, UA = "ok", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"


@dataclass(frozen=True)
class Operation:
    query: str
    field: str
    scopes: tuple[str, ...]  # what `key_scoped` carries
    expected: tuple[str, ...]  # in ACTORS order


OPERATIONS: dict[str, Operation] = {
    "organization": Operation(
        "query($org: ID!) { organization(id: $org) { id name slug } }",
        "organization",
        ("organization:read",),
        (UA, NF, OK, OK, OK, OK, FB, NF),
    ),
    "members": Operation(
        "query($org: ID!) { organization(id: $org) { members { role user { id email } } } }",
        "organization",
        ("organization:read", "members:read"),
        (UA, NF, OK, OK, OK, OK, FB, NF),
    ),
    "apiKeys": Operation(
        "query($org: ID!) { apiKeys(organizationId: $org) { id prefix } }",
        "apiKeys",
        tuple(sorted(SCOPES)),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "addMember(STAFF)": Operation(
        """mutation($org: ID!, $email: String!) {
          addMember(input: {organizationId: $org, email: $email, role: STAFF}) {
            member { role } errors { code } } }""",
        "addMember",
        ("members:write",),
        (UA, NF, FB, OK, OK, OK, FB, NF),
    ),
    "addMember(OWNER)": Operation(
        """mutation($org: ID!, $email: String!) {
          addMember(input: {organizationId: $org, email: $email, role: OWNER}) {
            member { role } errors { code } } }""",
        "addMember",
        ("members:write",),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "updateMemberRole(staff)": Operation(
        """mutation($org: ID!, $target: ID!) {
          updateMemberRole(input: {organizationId: $org, userId: $target, role: MANAGER}) {
            member { role } errors { code } } }""",
        "updateMemberRole",
        ("members:write",),
        (UA, NF, FB, OK, OK, OK, FB, NF),
    ),
    "updateMemberRole(owner)": Operation(
        """mutation($org: ID!, $coOwner: ID!) {
          updateMemberRole(input: {organizationId: $org, userId: $coOwner, role: STAFF}) {
            member { role } errors { code } } }""",
        "updateMemberRole",
        ("members:write",),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "removeMember(staff)": Operation(
        "mutation($org: ID!, $target: ID!) { removeMember(organizationId: $org, userId: $target) }",
        "removeMember",
        ("members:write",),
        (UA, NF, FB, OK, OK, OK, FB, NF),
    ),
    "removeMember(owner)": Operation(
        "mutation($org: ID!, $coOwner: ID!) {"
        " removeMember(organizationId: $org, userId: $coOwner) }",
        "removeMember",
        ("members:write",),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "createApiKey": Operation(
        """mutation($org: ID!) {
          createApiKey(input: {organizationId: $org, name: "n", scopes: ["events:read"]}) {
            secret errors { code } } }""",
        "createApiKey",
        tuple(sorted(SCOPES)),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "revokeApiKey": Operation(
        "mutation($keyId: ID!) { revokeApiKey(id: $keyId) }",
        "revokeApiKey",
        tuple(sorted(SCOPES)),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "deleteOrganization": Operation(
        "mutation($org: ID!) { deleteOrganization(id: $org) }",
        "deleteOrganization",
        tuple(sorted(SCOPES)),
        (UA, NF, FB, FB, OK, FB, FB, NF),
    ),
    "createOrganization": Operation(
        """mutation { createOrganization(input: {name: "New"}) {
          organization { id } errors { code } } }""",
        "createOrganization",
        tuple(sorted(SCOPES)),
        (UA, OK, OK, OK, OK, FB, FB, FB),
    ),
}


def outcome(body: dict[str, Any], field: str) -> str:
    """ok, or the code of the first error (top-level or in the payload); a null object
    (an organization nobody may see) reads as NOT_FOUND."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    value = (body.get("data") or {}).get(field)
    if value is None:
        return NF
    if isinstance(value, dict) and value.get("errors"):
        return str(value["errors"][0]["code"])
    return OK


async def snapshot(db: Database) -> dict[str, Any]:
    async with db.read() as session:
        members = await session.execute(
            select(Membership.organization_id, Membership.user_id, Membership.role)
        )
        orgs = await session.execute(select(Organization.id, Organization.deleted_at))
        keys = await session.execute(select(ApiKey.id, ApiKey.revoked_at))
        return {
            "members": sorted(map(tuple, members), key=str),
            "orgs": sorted(map(tuple, orgs), key=str),
            "keys": sorted(map(tuple, keys), key=str),
        }


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_tenancy_matrix(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database, name: str, actor: str
) -> None:
    operation = OPERATIONS[name]
    cast = await factories.cast(gql)
    co_owner = await factories.add_member(gql, cast.org, "OWNER")
    target = await factories.add_member(gql, cast.org, "STAFF")
    newcomer = await factories.register(gql)
    owner_key = await factories.create_api_key(gql, cast.org, ["events:read"])
    scoped = await factories.create_api_key(gql, cast.org, list(operation.scopes))
    unscoped = await factories.create_api_key(
        gql,
        cast.org,
        [s for s in sorted(SCOPES) if s not in operation.scopes][:1] or ["events:read"],
    )
    foreign = await factories.create_api_key(gql, cast.other_org, sorted(SCOPES))
    async with db.read() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.prefix == owner_key.partition("_")[0])
        )
    headers = {
        "anonymous": {},
        "outsider": {"authorization": f"Bearer {cast.outsider.token}"},
        "staff": {"authorization": f"Bearer {cast.staff.token}"},
        "manager": {"authorization": f"Bearer {cast.manager.token}"},
        "owner": {"authorization": f"Bearer {cast.owner.token}"},
        "key_scoped": {"x-api-key": scoped},
        "key_unscoped": {"x-api-key": unscoped},
        "key_foreign": {"x-api-key": foreign},
    }[actor]
    variables = {
        "org": cast.org.id,
        "email": newcomer.email,
        "target": target.id,
        "coOwner": co_owner.id,
        "keyId": str(key_id),
    }
    used = {v for v in variables if f"${v}" in operation.query}
    before = await snapshot(db)

    response = await client.post(
        "/graphql",
        json={"query": operation.query, "variables": {k: variables[k] for k in used}},
        headers=headers,
    )

    expected = operation.expected[ACTORS.index(actor)]
    assert response.status_code == 200, response.text
    assert outcome(response.json(), operation.field) == expected, response.text
    if expected != OK:
        assert await snapshot(db) == before
    elif not operation.query.lstrip().startswith("query"):
        assert await snapshot(db) != before


async def test_outsiders_get_the_same_answer_as_for_a_missing_organization(
    gql: GraphQLClient,
) -> None:
    import uuid

    cast = await factories.cast(gql)
    missing = str(uuid.uuid4())
    mutation = """mutation($org: ID!, $email: String!) {
      addMember(input: {organizationId: $org, email: $email, role: STAFF}) {
        member { role } errors { field message code } } }"""

    real = await gql(
        mutation, {"org": cast.org.id, "email": cast.staff.email}, token=cast.outsider.token
    )
    fake = await gql(
        mutation, {"org": missing, "email": cast.staff.email}, token=cast.outsider.token
    )
    read_real = await gql(
        "query($id: ID!) { organization(id: $id) { id } }",
        {"id": cast.org.id},
        token=cast.outsider.token,
    )
    read_fake = await gql(
        "query($id: ID!) { organization(id: $id) { id } }",
        {"id": missing},
        token=cast.outsider.token,
    )

    assert real == fake
    assert read_real == read_fake == {"organization": None}
