"""Build the people and organizations a test needs, through the public API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tests.support.gql import GraphQLClient

_counter = itertools.count(1)

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken user { id email name } errors { field message code } }
}
"""
CREATE_ORG = """
mutation CreateOrg($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { organization { id name slug } errors { field message code } }
}
"""
ADD_MEMBER = """
mutation AddMember($input: AddMemberInput!) {
  addMember(input: $input) { member { user { id } role } errors { field message code } }
}
"""
CREATE_API_KEY = """
mutation CreateKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id prefix scopes } secret errors { field message code } }
}
"""
PASSWORD = "correct horse battery"


@dataclass
class TestUser:
    id: str
    email: str
    token: str
    password: str = PASSWORD


@dataclass
class TestOrg:
    id: str
    slug: str
    owner: TestUser


def unique_email(stem: str = "user") -> str:
    return f"{stem}{next(_counter)}@example.com"


async def register(
    gql: GraphQLClient, email: str | None = None, name: str = "Test User"
) -> TestUser:
    email = email or unique_email()
    data = await gql(REGISTER, {"input": {"email": email, "password": PASSWORD, "name": name}})
    payload = data["register"]
    assert payload["errors"] == [], payload["errors"]
    return TestUser(payload["user"]["id"], payload["user"]["email"], payload["accessToken"])


async def create_org(
    gql: GraphQLClient, owner: TestUser | None = None, name: str | None = None
) -> TestOrg:
    owner = owner or await register(gql)
    data = await gql(
        CREATE_ORG, {"input": {"name": name or f"Org {next(_counter)}"}}, token=owner.token
    )
    payload = data["createOrganization"]
    assert payload["errors"] == [], payload["errors"]
    return TestOrg(payload["organization"]["id"], payload["organization"]["slug"], owner)


async def add_member(
    gql: GraphQLClient, org: TestOrg, role: str, user: TestUser | None = None
) -> TestUser:
    """A new (or given) user with `role` (OWNER, MANAGER, STAFF) in `org`."""
    user = user or await register(gql)
    data = await gql(
        ADD_MEMBER,
        {"input": {"organizationId": org.id, "email": user.email, "role": role}},
        token=org.owner.token,
    )
    assert data["addMember"]["errors"] == [], data["addMember"]["errors"]
    return user


async def create_api_key(
    gql: GraphQLClient, org: TestOrg, scopes: list[str], name: str = "integration"
) -> str:
    data = await gql(
        CREATE_API_KEY,
        {"input": {"organizationId": org.id, "name": name, "scopes": scopes}},
        token=org.owner.token,
    )
    payload = data["createApiKey"]
    assert payload["errors"] == [], payload["errors"]
    return str(payload["secret"])


@dataclass
class Cast:
    """One organization with a member of each role, plus an outsider who owns another
    organization, for tenancy matrices."""

    org: TestOrg
    owner: TestUser
    manager: TestUser
    staff: TestUser
    outsider: TestUser
    other_org: TestOrg


async def cast(gql: GraphQLClient) -> Cast:
    org = await create_org(gql)
    manager = await add_member(gql, org, "MANAGER")
    staff = await add_member(gql, org, "STAFF")
    other_org = await create_org(gql)
    return Cast(org, org.owner, manager, staff, other_org.owner, other_org)
