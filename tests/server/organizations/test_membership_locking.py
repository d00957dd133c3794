"""Membership changes of one organization are serialized by a row lock on it, and the
actor's authority is checked again once the lock is held."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select, text

from server.auth.actor import Actor
from server.db import Database
from server.organizations import service
from server.organizations.models import Membership, Organization, Role
from tests.support import factories
from tests.support.gql import GraphQLClient

UPDATE = """
mutation($org: ID!, $user: ID!, $role: Role!) {
  updateMemberRole(input: {organizationId: $org, userId: $user, role: $role}) {
    member { role } errors { code }
  }
}
"""


async def wait_for_lock_waiter(db: Database) -> None:
    """Until some other connection waits for a row lock (a bounded poll, not a timing)."""
    for _ in range(500):
        async with db.read() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never waited for the organization lock")


async def roles(db: Database, org_id: str) -> dict[uuid.UUID, Role]:
    async with db.read() as session:
        rows = await session.execute(
            select(Membership.user_id, Membership.role).where(
                Membership.organization_id == uuid.UUID(org_id)
            )
        )
        return {user_id: role for user_id, role in rows}


async def test_an_owner_demoted_while_waiting_cannot_demote_another_owner(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    a = org.owner
    b = await factories.add_member(gql, org, "OWNER")
    c = await factories.add_member(gql, org, "OWNER")

    async with db.transaction() as session:
        # Hold the organization's lock, as a concurrent membership change would.
        await session.scalar(
            select(Organization).where(Organization.id == uuid.UUID(org.id)).with_for_update()
        )
        request = asyncio.ensure_future(
            gql.raw(UPDATE, {"org": org.id, "user": c.id, "role": "STAFF"}, token=b.token)
        )
        await wait_for_lock_waiter(db)
        # Meanwhile A demotes B (already holding the lock, as the service would).
        membership = await session.scalar(
            select(Membership).where(
                Membership.organization_id == uuid.UUID(org.id),
                Membership.user_id == uuid.UUID(b.id),
            )
        )
        assert membership is not None
        membership.role = Role.MANAGER

    response = await request
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await roles(db, org.id))[uuid.UUID(c.id)] is Role.OWNER
    assert (await roles(db, org.id))[uuid.UUID(a.id)] is Role.OWNER


async def test_the_last_owner_rule_holds_for_direct_service_calls_racing(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    other = await factories.add_member(gql, org, "OWNER")
    org_id = uuid.UUID(org.id)

    async def demote(actor_id: str, target_id: str) -> str:
        try:
            async with db.transaction() as session:
                await service.update_member_role(
                    session,
                    actor=Actor(user_id=uuid.UUID(actor_id)),
                    organization_id=org_id,
                    user_id=uuid.UUID(target_id),
                    role=Role.STAFF,
                )
        except Exception as exc:  # the loser's error
            return type(exc).__name__
        return "ok"

    results = await asyncio.gather(demote(org.owner.id, org.owner.id), demote(other.id, other.id))

    assert sorted(results) == ["LastOwner", "ok"]
    assert list((await roles(db, org.id)).values()).count(Role.OWNER) == 1
