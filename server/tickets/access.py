"""Who may see a ticket: its holder, and the organization's members (staff and up) or
API keys with `orders:read`. A ticket is held by the user it was issued or transferred
to, or, for a guest order (no account then), by whoever signs in with its email."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import User
from server.organizations.access import Permission, readable_organization_ids
from server.tickets.models import Ticket

READ_PERMISSION = Permission.ORDERS_READ


@dataclass(frozen=True, slots=True)
class Viewer:
    actor: Actor
    user_id: uuid.UUID | None
    email: str | None  # lower case
    staff_of: frozenset[uuid.UUID]  # organizations whose tickets this viewer may see

    def holds(self, ticket: Ticket) -> bool:
        if self.user_id is None:
            return False
        if ticket.holder_user_id is not None:
            return ticket.holder_user_id == self.user_id
        return self.email is not None and ticket.holder_email.lower() == self.email

    def may_see(self, ticket: Ticket) -> bool:
        return ticket.organization_id in self.staff_of or self.holds(ticket)


async def viewer_of(session: AsyncSession, actor: Actor) -> Viewer:
    email = None
    if actor.user_id is not None:
        email = await session.scalar(select(User.email).where(User.id == actor.user_id))
    staff_of = await readable_organization_ids(session, actor, READ_PERMISSION)
    return Viewer(actor, actor.user_id, email.lower() if email else None, frozenset(staff_of))


def held_by(user_id: uuid.UUID, email: str | None) -> ColumnElement[bool]:
    """The SQL twin of `Viewer.holds`."""
    by_id = Ticket.holder_user_id == user_id
    if email is None:
        return by_id
    return or_(
        by_id, and_(Ticket.holder_user_id.is_(None), func.lower(Ticket.holder_email) == email)
    )


def visible(viewer: Viewer, tickets: Sequence[Ticket]) -> list[Ticket]:
    return [t for t in tickets if viewer.may_see(t)]
