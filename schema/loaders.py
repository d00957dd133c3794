"""The base of every per-request DataLoader: `info.context.loader(SomeLoader)` creates one
per request, so batches never leak data between viewers. Each batch opens its own short
read session: sibling resolvers run concurrently and an AsyncSession cannot serve two
tasks at once.

Loaders of catalog data (events, dates, ticket types, tiers, availability, venues and
seats) read through `read`, which a streaming replica may serve during an HTTP query, as
the query's root fields do (docs/scale.md). The others read the primary
(`context.db.read()`): what decides access (memberships), and a buyer's orders, payments,
tickets and check-ins, which staff and webhooks act on at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiodataloader import DataLoader

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from schema.context import Context

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class ContextLoader(DataLoader[K, V]):
    def __init__(self, context: Context, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """A batch's read of catalog data: on a replica within REPLICA_MAX_LAG that has
        replayed the caller's writes when the request is an HTTP query
        (`Context.replica_reads`), else on the primary. Subscriptions read the primary:
        they answer a commit the replica may not have replayed yet."""
        return await self.context.db.run_read(work, replica=self.context.replica_reads)
