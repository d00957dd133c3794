"""Members and roles: adding, changing and removing members; an organization always keeps
an owner, even under concurrent demotions; who sees whose organizations."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from server.db import Database
from server.organizations.models import Membership, Role
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

ADD = """
mutation($org: ID!, $email: String!, $role: Role!) {
  addMember(input: {organizationId: $org, email: $email, role: $role}) {
    member { role user { id email } } errors { field message code }
  }
}
"""
UPDATE = """
mutation($org: ID!, $user: ID!, $role: Role!) {
  updateMemberRole(input: {organizationId: $org, userId: $user, role: $role}) {
    member { role user { id } } errors { field message code }
  }
}
"""
REMOVE = "mutation($org: ID!, $user: ID!) { removeMember(organizationId: $org, userId: $user) }"
MEMBERS = "query($id: ID!) { organization(id: $id) { members { role user { id email } } } }"


async def roles(db: Database, org_id: str) -> dict[str, str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Membership.user_id, Membership.role).where(Membership.organization_id == org_id)
        )
        return {str(user_id): role.name for user_id, role in rows}


# --- adding ------------------------------------------------------------------------------------


async def test_a_manager_adds_a_member_by_email_in_any_case(
    gql: GraphQLClient, db: Database
) -> None:
    cast = await factories.cast(gql)
    newcomer = await factories.register(gql, email="new.person@example.com")

    data = await gql(
        ADD,
        {"org": cast.org.id, "email": " New.Person@EXAMPLE.com", "role": "STAFF"},
        token=cast.manager.token,
    )

    assert data["addMember"] == {
        "member": {"role": "STAFF", "user": {"id": newcomer.id, "email": newcomer.email}},
        "errors": [],
    }
    assert (await roles(db, cast.org.id))[newcomer.id] == "STAFF"


@pytest.mark.parametrize(
    ("email", "code"),
    [("nobody@example.com", "NOT_FOUND"), ("STAFF", "CONFLICT")],
)
async def test_unknown_people_and_existing_members_cannot_be_added(
    gql: GraphQLClient, db: Database, email: str, code: str
) -> None:
    cast = await factories.cast(gql)
    before = await roles(db, cast.org.id)

    data = await gql(
        ADD,
        {
            "org": cast.org.id,
            "email": cast.staff.email if email == "STAFF" else email,
            "role": "MANAGER",
        },
        token=cast.owner.token,
    )

    assert payload_errors(data["addMember"]) == [(code, ["email"])]
    assert await roles(db, cast.org.id) == before


async def test_members_are_listed_oldest_first(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)

    data = await gql(MEMBERS, {"id": cast.org.id}, token=cast.staff.token)

    assert [(m["role"], m["user"]["id"]) for m in data["organization"]["members"]] == [
        ("OWNER", cast.owner.id),
        ("MANAGER", cast.manager.id),
        ("STAFF", cast.staff.id),
    ]


# --- changing roles --------------------------------------------------------------------------


async def test_an_owner_promotes_a_member_to_owner(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)

    data = await gql(
        UPDATE,
        {"org": cast.org.id, "user": cast.manager.id, "role": "OWNER"},
        token=cast.owner.token,
    )

    assert data["updateMemberRole"]["member"] == {"role": "OWNER", "user": {"id": cast.manager.id}}
    assert (await roles(db, cast.org.id))[cast.manager.id] == "OWNER"


async def test_a_manager_cannot_promote_anyone_to_owner_nor_themselves(
    gql: GraphQLClient, db: Database
) -> None:
    cast = await factories.cast(gql)
    before = await roles(db, cast.org.id)

    for target in (cast.staff.id, cast.manager.id):
        code = await gql.error_code(
            UPDATE,
            {"org": cast.org.id, "user": target, "role": "OWNER"},
            token=cast.manager.token,
        )
        assert code == "FORBIDDEN"
    assert await roles(db, cast.org.id) == before


async def test_the_last_owner_cannot_be_demoted(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)

    data = await gql(
        UPDATE,
        {"org": cast.org.id, "user": cast.owner.id, "role": "MANAGER"},
        token=cast.owner.token,
    )

    assert payload_errors(data["updateMemberRole"]) == [("INVALID_STATE", ["role"])]
    assert (await roles(db, cast.org.id))[cast.owner.id] == "OWNER"


async def test_an_owner_may_step_down_while_another_owner_remains(
    gql: GraphQLClient, db: Database
) -> None:
    cast = await factories.cast(gql)
    await factories.add_member(gql, cast.org, "OWNER", user=await factories.register(gql))

    data = await gql(
        UPDATE,
        {"org": cast.org.id, "user": cast.owner.id, "role": "STAFF"},
        token=cast.owner.token,
    )

    assert data["updateMemberRole"]["errors"] == []
    assert list((await roles(db, cast.org.id)).values()).count("OWNER") == 1


async def test_changing_the_role_of_a_non_member_is_not_found(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)

    data = await gql(
        UPDATE,
        {"org": cast.org.id, "user": cast.outsider.id, "role": "STAFF"},
        token=cast.owner.token,
    )
    malformed = await gql(
        UPDATE, {"org": cast.org.id, "user": "nope", "role": "STAFF"}, token=cast.owner.token
    )

    assert payload_errors(data["updateMemberRole"]) == [("NOT_FOUND", ["userId"])]
    assert payload_errors(malformed["updateMemberRole"]) == [("VALIDATION", ["userId"])]


@pytest.mark.parametrize("demotion", ["each-other", "themselves"])
async def test_two_owners_demoting_concurrently_leave_one_owner(
    gql: GraphQLClient, db: Database, demotion: str
) -> None:
    for _ in range(5):  # several rounds: the interleaving differs from run to run
        org = await factories.create_org(gql)
        other = await factories.add_member(gql, org, "OWNER")
        first, second = org.owner, other
        targets = (second, first) if demotion == "each-other" else (first, second)

        responses = await asyncio.gather(
            gql.raw(
                UPDATE, {"org": org.id, "user": targets[0].id, "role": "MANAGER"}, token=first.token
            ),
            gql.raw(
                UPDATE,
                {"org": org.id, "user": targets[1].id, "role": "MANAGER"},
                token=second.token,
            ),
        )

        outcomes = sorted(outcome(r.json()) for r in responses)
        final = await roles(db, org.id)
        assert list(final.values()).count("OWNER") == 1, final
        # Either the loser hit the last-owner rule, or (each-other) had just lost the
        # owner role it needed to demote an owner.
        assert outcomes[1] == "OK"
        assert outcomes[0] in ("INVALID_STATE", "FORBIDDEN")


async def test_demotion_and_removal_racing_keep_an_owner(gql: GraphQLClient, db: Database) -> None:
    for _ in range(5):
        org = await factories.create_org(gql)
        other = await factories.add_member(gql, org, "OWNER")

        await asyncio.gather(
            gql.raw(REMOVE, {"org": org.id, "user": org.owner.id}, token=org.owner.token),
            gql.raw(UPDATE, {"org": org.id, "user": other.id, "role": "STAFF"}, token=other.token),
        )

        assert list((await roles(db, org.id)).values()).count("OWNER") == 1


def outcome(body: dict[str, Any]) -> str:
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    errors = body["data"]["updateMemberRole"]["errors"]
    return str(errors[0]["code"]) if errors else "OK"


# --- removing ----------------------------------------------------------------------------------


async def test_a_manager_removes_a_staff_member(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)

    data = await gql(REMOVE, {"org": cast.org.id, "user": cast.staff.id}, token=cast.manager.token)

    assert data == {"removeMember": True}
    assert cast.staff.id not in await roles(db, cast.org.id)
    assert (await gql(MEMBERS, {"id": cast.org.id}, token=cast.staff.token)) == {
        "organization": None
    }


async def test_a_manager_cannot_remove_an_owner(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)
    before = await roles(db, cast.org.id)

    code = await gql.error_code(
        REMOVE, {"org": cast.org.id, "user": cast.owner.id}, token=cast.manager.token
    )

    assert code == "FORBIDDEN"
    assert await roles(db, cast.org.id) == before


async def test_any_member_may_leave(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)

    data = await gql(REMOVE, {"org": cast.org.id, "user": cast.staff.id}, token=cast.staff.token)

    assert data == {"removeMember": True}
    assert cast.staff.id not in await roles(db, cast.org.id)


async def test_the_last_owner_cannot_leave(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)
    before = await roles(db, cast.org.id)

    errors = await gql.errors(
        REMOVE, {"org": cast.org.id, "user": cast.owner.id}, token=cast.owner.token
    )

    assert errors[0]["extensions"]["code"] == "INVALID_STATE"
    assert await roles(db, cast.org.id) == before


async def test_removing_a_non_member_is_not_found(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)

    code = await gql.error_code(
        REMOVE, {"org": cast.org.id, "user": cast.outsider.id}, token=cast.owner.token
    )

    assert code == "NOT_FOUND"


# --- who sees whose organizations ---------------------------------------------------------------


async def test_a_member_sees_only_the_organizations_shared_with_a_colleague(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    # The staff member also belongs to the outsider's organization, unknown to the owner.
    await factories.add_member(gql, cast.other_org, "MANAGER", user=cast.staff)
    query = """query($id: ID!) { organization(id: $id) { members {
      user { id organizations { role organization { id } } } } } }"""

    data = await gql(query, {"id": cast.org.id}, token=cast.owner.token)

    staff = next(
        m["user"] for m in data["organization"]["members"] if m["user"]["id"] == cast.staff.id
    )
    assert staff["organizations"] == [{"role": "STAFF", "organization": {"id": cast.org.id}}]
    mine = await gql(
        "{ me { organizations { role organization { id } } } }", token=cast.staff.token
    )
    assert mine["me"]["organizations"] == [
        {"role": "STAFF", "organization": {"id": cast.org.id}},
        {"role": "MANAGER", "organization": {"id": cast.other_org.id}},
    ]


async def test_an_api_key_sees_members_only_with_members_read(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    cast = await factories.cast(gql)
    with_scope = await factories.create_api_key(
        gql, cast.org, ["organization:read", "members:read"]
    )
    without = await factories.create_api_key(gql, cast.org, ["organization:read"])
    query = """query($id: ID!) { organization(id: $id) { id members {
      role user { organizations { organization { id } } } } } }"""

    allowed = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": cast.org.id}},
        headers={"x-api-key": with_scope},
    )
    refused = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": cast.org.id}},
        headers={"x-api-key": without},
    )

    members = allowed.json()["data"]["organization"]["members"]
    assert len(members) == 3
    assert all(
        m["user"]["organizations"] == [{"organization": {"id": cast.org.id}}] for m in members
    )
    body = refused.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["organization", "members"]


# --- batching ----------------------------------------------------------------------------------


async def statements_for(
    db: Database, gql: GraphQLClient, query: str, token: str
) -> tuple[int, dict[str, Any], list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await gql(query, token=token)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return len(seen), data, seen


async def test_nested_lists_cost_the_same_queries_however_long(
    gql: GraphQLClient, db: Database
) -> None:
    query = """{ me { organizations { role organization { id members {
      role user { id organizations { role } } } } } } }"""

    async def build(org_count: int) -> tuple[int, dict[str, Any], list[str]]:
        user = await factories.register(gql)
        for _ in range(org_count):
            org = await factories.create_org(gql, owner=user)
            for _ in range(3):
                await factories.add_member(gql, org, "STAFF")
        await gql("{ me { id } }", token=user.token)  # warm the session cache
        return await statements_for(db, gql, query, user.token)

    small, _, _ = await build(1)
    large, large_data, large_statements = await build(6)

    assert len(large_data["me"]["organizations"]) == 6
    assert sum(len(o["organization"]["members"]) for o in large_data["me"]["organizations"]) == 24
    assert large == small, large_statements
    assert large <= 7


def test_roles_rank_owner_over_manager_over_staff() -> None:
    assert Role.OWNER.rank > Role.MANAGER.rank > Role.STAFF.rank


async def test_sibling_fields_resolve_concurrently_each_on_its_own_session(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    aliases = " ".join(
        f'o{i}: organization(id: "{cast.org.id}") {{ id members {{ role }} }} '
        f'k{i}: apiKeys(organizationId: "{cast.org.id}") {{ id }}'
        for i in range(12)
    )

    data = await gql(f"{{ {aliases} me {{ organizations {{ role }} }} }}", token=cast.owner.token)

    assert all(len(data[f"o{i}"]["members"]) == 3 for i in range(12))
    assert all(data[f"k{i}"] == [] for i in range(12))
