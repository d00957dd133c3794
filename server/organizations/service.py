"""Organizations and their members."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.emails import validate_email
from server.auth.models import User
from server.cache import InvalidateTags
from server.db import after_commit, note_writer
from server.errors import AccessError, Forbidden, NotFound, Validator
from server.ids import new_id
from server.organizations.access import (
    Grant,
    Permission,
    any_id,
    authorize,
    authorize_many,
    readable_organization_ids,
)
from server.organizations.errors import (
    AlreadyMember,
    InvalidSlug,
    LastOwner,
    MemberNotFound,
    OrganizationNotFound,
    SlugTaken,
    UserNotFound,
)
from server.organizations.models import Membership, Organization, Role
from server.replicas.positions import user_scope

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_NAME_LENGTH = 200


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:48].strip("-") or "org"


@dataclass(frozen=True, slots=True)
class MemberView:
    user: User
    role: Role
    organization_id: uuid.UUID


async def create_organization(
    session: AsyncSession, *, actor: Actor, name: str, slug: str | None
) -> Organization:
    user_id = actor.require_user()
    clean_name = name.strip()
    checks = Validator()
    checks.check(
        0 < len(clean_name) <= MAX_NAME_LENGTH, "name", "Enter a name (up to 200 characters)."
    )
    if slug is not None:
        checks.check(bool(SLUG_RE.match(slug)), "slug", InvalidSlug.message)
    checks.raise_if_any()

    explicit = slug is not None
    candidate = slug if slug is not None else slugify(clean_name)
    for attempt in range(5):
        org = Organization(id=new_id(), name=clean_name, slug=candidate)
        try:
            async with session.begin_nested():
                session.add(org)
                await session.flush()
        except IntegrityError:
            if explicit:
                raise SlugTaken(field="slug") from None
            candidate = f"{slugify(clean_name)[:40]}-{secrets.token_hex(2 + attempt)}"
            continue
        session.add(
            Membership(id=new_id(), organization_id=org.id, user_id=user_id, role=Role.OWNER)
        )
        await session.flush()
        return org
    raise SlugTaken(field="name")


async def get_organization(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> Organization:
    await authorize(
        session,
        actor,
        organization_id,
        Permission.ORGANIZATION_READ,
        not_found=OrganizationNotFound(),
    )
    org = await session.get(Organization, organization_id)
    if org is None or org.deleted_at is not None:
        raise OrganizationNotFound()
    return org


async def list_members(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> list[MemberView]:
    found = (
        await members_of_organizations(session, actor=actor, organization_ids=[organization_id])
    )[organization_id]
    if isinstance(found, Exception):
        raise found
    return found


async def members_of_organizations(
    session: AsyncSession, *, actor: Actor, organization_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[MemberView] | AccessError | NotFound]:
    """Each organization's members, oldest first, in two queries however many organizations
    are asked for; an organization the actor may not read maps to the error instead."""
    decided = await authorize_many(
        session, actor, organization_ids, Permission.MEMBERS_READ, not_found=OrganizationNotFound()
    )
    allowed = [org_id for org_id, grant in decided.items() if isinstance(grant, Grant)]
    result: dict[uuid.UUID, list[MemberView] | AccessError | NotFound] = {
        org_id: grant for org_id, grant in decided.items() if not isinstance(grant, Grant)
    }
    result.update({org_id: [] for org_id in allowed})
    if allowed:
        rows = await session.execute(
            select(User, Membership.role, Membership.organization_id)
            .join(Membership, Membership.user_id == User.id)
            .where(any_id(Membership.organization_id, allowed))
            .order_by(Membership.created_at, Membership.id)
        )
        for user, role, org_id in rows:
            members = result[org_id]
            assert isinstance(members, list)
            members.append(MemberView(user, role, org_id))
    return result


async def visible_memberships(
    session: AsyncSession, *, actor: Actor, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[Organization, Role]]]:
    """Each user's organizations (oldest membership first) as far as the actor may see them:
    all of their own; of anyone else, only the organizations whose members the actor may
    read (shared memberships, or the API key's organization with `members:read`)."""
    result: dict[uuid.UUID, list[tuple[Organization, Role]]] = {u: [] for u in user_ids}
    if actor.is_anonymous or not user_ids:
        return result
    readable = set(await readable_organization_ids(session, actor, Permission.MEMBERS_READ))
    rows = await session.execute(
        select(Membership.user_id, Organization, Membership.role)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(any_id(Membership.user_id, user_ids), Organization.deleted_at.is_(None))
        .order_by(Membership.created_at, Membership.id)
    )
    for user_id, org, role in rows:
        if user_id == actor.user_id or org.id in readable:
            result[user_id].append((org, role))
    return result


def _may_assign(grant: Grant, role: Role) -> None:
    """Managers manage the members below owner; only owners grant or take ownership."""
    if grant.role is None:  # an API key with members:write acts like a manager
        if role is Role.OWNER:
            raise Forbidden("Only an owner can grant or change the owner role.")
        return
    if role is Role.OWNER and not grant.at_least(Role.OWNER):
        raise Forbidden("Only an owner can grant or change the owner role.")


async def _lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    """Membership changes of one organization run one at a time (the last-owner rule)."""
    org = await session.scalar(
        select(Organization)
        .where(Organization.id == organization_id, Organization.deleted_at.is_(None))
        .with_for_update()
    )
    if org is None:
        raise OrganizationNotFound()
    return org


async def _authorize_locked(
    session: AsyncSession, actor: Actor, organization_id: uuid.UUID, permission: Permission
) -> Grant:
    """Authorize, lock the organization, and authorize again: a change that committed
    while we waited for the lock (our own demotion, say) is seen by the second check."""
    await authorize(session, actor, organization_id, permission, not_found=OrganizationNotFound())
    await _lock_organization(session, organization_id)
    return await authorize(
        session, actor, organization_id, permission, not_found=OrganizationNotFound()
    )


async def _owner_count(session: AsyncSession, organization_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == Role.OWNER)
    )
    return int(count or 0)


async def add_member(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID, email: str, role: Role
) -> MemberView:
    grant = await _authorize_locked(session, actor, organization_id, Permission.MEMBERS_WRITE)
    _may_assign(grant, role)
    user = await session.scalar(
        select(User).where(func.lower(User.email) == validate_email(email, "email"))
    )
    if user is None:
        raise UserNotFound(field="email")
    existing = await session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user.id
        )
    )
    if existing is not None:
        raise AlreadyMember(field="email")
    session.add(
        Membership(id=new_id(), organization_id=organization_id, user_id=user.id, role=role)
    )
    await session.flush()
    return MemberView(user, role, organization_id)


async def update_member_role(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
) -> MemberView:
    grant = await _authorize_locked(session, actor, organization_id, Permission.MEMBERS_WRITE)
    membership = await session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    if membership is None:
        raise MemberNotFound(field="userId")
    _may_assign(grant, role)
    _may_assign(grant, membership.role)  # a manager cannot demote an owner either
    demoting_owner = membership.role is Role.OWNER and role is not Role.OWNER
    if demoting_owner and await _owner_count(session, organization_id) <= 1:
        raise LastOwner(field="role")
    membership.role = role
    await session.flush()
    # The member's next reads must see their new role, not a replica's older one.
    note_writer(session, user_scope(user_id))
    user = await session.get(User, user_id)
    assert user is not None
    return MemberView(user, role, organization_id)


async def remove_member(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    leaving_self = actor.user_id == user_id
    # Anyone may leave; reading is enough to prove membership.
    permission = Permission.ORGANIZATION_READ if leaving_self else Permission.MEMBERS_WRITE
    grant = await _authorize_locked(session, actor, organization_id, permission)
    membership = await session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    if membership is None:
        raise MemberNotFound(field="userId")
    if not leaving_self:
        _may_assign(grant, membership.role)
    if membership.role is Role.OWNER and await _owner_count(session, organization_id) <= 1:
        raise LastOwner(field="userId")
    await session.delete(membership)
    await session.flush()
    # Their next reads go to the primary, which no longer lets them in.
    note_writer(session, user_scope(user_id))


async def delete_organization(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID, now: datetime
) -> list[str]:
    """Soft-delete: the organization and everything under it disappear for everyone, while
    orders and payments stay on record. Returns the API key prefixes to evict from caches."""
    from server.apikeys.models import ApiKey  # local: apikeys imports organizations

    await _authorize_locked(session, actor, organization_id, Permission.ORGANIZATION_MANAGE)
    org = await _lock_organization(session, organization_id)
    org.deleted_at = now
    keys = await session.scalars(
        select(ApiKey).where(ApiKey.organization_id == organization_id, ApiKey.revoked_at.is_(None))
    )
    prefixes = []
    for key in keys:
        key.revoked_at = now
        prefixes.append(key.prefix)
    # Cached public data of the organization's events (tagged organization:<id>) goes too.
    after_commit(session, InvalidateTags({f"organization:{organization_id}"}))
    await session.flush()
    return prefixes
