"""The one place that decides whether an actor may touch an organization's data.

Every service calls `authorize` before reading or writing tenant rows. A user needs a
membership with at least the permission's role; an API key needs to belong to the
organization and to carry the permission's scope. Someone with no link to the
organization gets `NotFound`, exactly as if it did not exist; a member or key that lacks
the role or scope gets `Forbidden`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import AccessError, Forbidden, NotFound, Unauthenticated
from server.organizations.models import Membership, Organization, Role


class Permission(Enum):
    # name = (least role for a member, scope an API key needs; None: keys never may)
    ORGANIZATION_READ = (Role.STAFF, "organization:read")
    ORGANIZATION_MANAGE = (Role.OWNER, None)
    MEMBERS_READ = (Role.STAFF, "members:read")
    MEMBERS_WRITE = (Role.MANAGER, "members:write")
    API_KEYS_MANAGE = (Role.OWNER, None)
    EVENTS_READ = (Role.STAFF, "events:read")
    EVENTS_WRITE = (Role.MANAGER, "events:write")
    ORDERS_READ = (Role.STAFF, "orders:read")
    ORDERS_WRITE = (Role.MANAGER, "orders:write")
    CHECKIN = (Role.STAFF, "checkin:write")
    WEBHOOKS_READ = (Role.OWNER, "webhooks:read")
    WEBHOOKS_WRITE = (Role.OWNER, "webhooks:write")
    REPORTS_READ = (Role.MANAGER, "reports:read")
    REPORTS_WRITE = (Role.MANAGER, "reports:write")
    TRUSTED_DOCUMENTS_MANAGE = (Role.MANAGER, None)  # keys never: they are what it restricts

    @property
    def role(self) -> Role:
        return self.value[0]

    @property
    def scope(self) -> str | None:
        return self.value[1]


def any_id(column: Any, ids: Sequence[uuid.UUID]) -> Any:
    """`column = ANY(:ids)`: one statement text (and prepared statement) for any count."""
    return column == any_(literal(list(ids), ARRAY(Uuid)))


SCOPES: frozenset[str] = frozenset(p.scope for p in Permission if p.scope is not None)


@dataclass(frozen=True, slots=True)
class Grant:
    organization_id: uuid.UUID
    role: Role | None  # None when acting through an API key
    api_key_id: uuid.UUID | None = None

    def at_least(self, role: Role) -> bool:
        return self.role is not None and self.role.rank >= role.rank


async def membership_role(
    session: AsyncSession, *, user_id: uuid.UUID, organization_id: uuid.UUID
) -> Role | None:
    return await session.scalar(
        select(Membership.role)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.user_id == user_id,
            Membership.organization_id == organization_id,
            Organization.deleted_at.is_(None),
        )
    )


async def authorize(
    session: AsyncSession,
    actor: Actor,
    organization_id: uuid.UUID,
    permission: Permission,
    *,
    not_found: NotFound | None = None,
) -> Grant:
    """Raise unless `actor` holds `permission` on the organization.

    `not_found` is the error to raise for an outsider, so a caller can report the row the
    outsider asked about (an event, an order) rather than the organization."""
    if actor.is_anonymous:
        raise Unauthenticated()
    role = None
    if actor.user_id is not None:
        role = await membership_role(
            session, user_id=actor.user_id, organization_id=organization_id
        )
    return _decide(actor, organization_id, permission, role, not_found)


async def authorize_many(
    session: AsyncSession,
    actor: Actor,
    organization_ids: Sequence[uuid.UUID],
    permission: Permission,
    *,
    not_found: NotFound | None = None,
) -> dict[uuid.UUID, Grant | AccessError | NotFound]:
    """`authorize` for several organizations in one query (for DataLoaders): each id maps
    to its grant, or to the error `authorize` would have raised."""
    roles: dict[uuid.UUID, Role] = {}
    if actor.user_id is not None and organization_ids:
        rows = await session.execute(
            select(Membership.organization_id, Membership.role)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(
                Membership.user_id == actor.user_id,
                any_id(Membership.organization_id, organization_ids),
                Organization.deleted_at.is_(None),
            )
        )
        roles = {org_id: role for org_id, role in rows}
    decided: dict[uuid.UUID, Grant | AccessError | NotFound] = {}
    for org_id in organization_ids:
        try:
            if actor.is_anonymous:
                raise Unauthenticated()
            decided[org_id] = _decide(actor, org_id, permission, roles.get(org_id), not_found)
        except (AccessError, NotFound) as refused:
            decided[org_id] = refused
    return decided


def _decide(
    actor: Actor,
    organization_id: uuid.UUID,
    permission: Permission,
    role: Role | None,
    not_found: NotFound | None,
) -> Grant:
    """The rule itself, given the actor's role in the organization (None: not a member)."""
    missing = not_found or NotFound()
    if actor.api_key_id is not None:
        if actor.api_key_organization_id != organization_id:
            raise missing
        if permission.scope is None or permission.scope not in actor.scopes:
            raise Forbidden(
                f"This API key lacks the scope this needs ({permission.scope or 'user only'})."
            )
        return Grant(organization_id, None, actor.api_key_id)
    if role is None:
        raise missing
    if role.rank < permission.role.rank:
        raise Forbidden(f"This needs the {permission.role.value} role or higher.")
    return Grant(organization_id, role)


async def readable_organization_ids(
    session: AsyncSession, actor: Actor, permission: Permission
) -> list[uuid.UUID]:
    """Organizations whose rows of this kind the actor may read (for listings)."""
    if actor.is_anonymous:
        return []
    if actor.api_key_id is not None:
        if permission.scope in actor.scopes and actor.api_key_organization_id is not None:
            return [actor.api_key_organization_id]
        return []
    ranks = [r for r in Role if r.rank >= permission.role.rank]
    rows = await session.scalars(
        select(Membership.organization_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.user_id == actor.user_id,
            Membership.role.in_(ranks),
            Organization.deleted_at.is_(None),
        )
    )
    return list(rows)
