"""Per-request loaders for the identity graph, so a list of organizations (or of members)
costs two queries however long it is. Authorization happens in the services they call."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import cast

from schema.loaders import ContextLoader
from server.errors import AccessError, NotFound
from server.organizations.models import Organization, Role
from server.organizations.service import MemberView, members_of_organizations, visible_memberships


class MembersByOrganizationLoader(ContextLoader[uuid.UUID, list[MemberView]]):
    """An organization's members; an organization the viewer may not read loads as the
    error `authorize` gives (raised to the field that asked)."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[MemberView]]:
        async with self.context.db.read() as session:
            found = await members_of_organizations(
                session, actor=self.context.actor, organization_ids=list(keys)
            )
        # aiodataloader raises an Exception value to the caller of `load` for that key.
        results: list[list[MemberView] | AccessError | NotFound] = [found[key] for key in keys]
        return cast(list[list[MemberView]], results)


class MembershipsByUserLoader(ContextLoader[uuid.UUID, list[tuple[Organization, Role]]]):
    """A user's organizations and roles, as far as the viewer may see them."""

    async def batch_load_fn(
        self, keys: Sequence[uuid.UUID]
    ) -> list[list[tuple[Organization, Role]]]:
        async with self.context.db.read() as session:
            found = await visible_memberships(
                session, actor=self.context.actor, user_ids=list(keys)
            )
        return [found[key] for key in keys]
