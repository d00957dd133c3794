"""The base of every per-request DataLoader: `info.context.loader(SomeLoader)` creates one
per request, so batches never leak data between viewers. Each batch opens its own short
read session (`context.db.read()`): sibling resolvers run concurrently and an
AsyncSession cannot serve two tasks at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from aiodataloader import DataLoader

if TYPE_CHECKING:
    from schema.context import Context

K = TypeVar("K")
V = TypeVar("V")


class ContextLoader(DataLoader[K, V]):
    def __init__(self, context: Context, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
