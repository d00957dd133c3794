"""One execution per event and document, shared by every subscriber that asked the same.

A change to an event's availability goes to every subscriber of that event, and most of
them sent the same document with the same variables. Executing the selection set once per
subscriber would cost the instance a GraphQL execution for each of thousands of sockets;
instead a stream yields a `SharedEvent` (the same object to every subscriber), and
`SharedEventExecutor` executes each distinct (document, variables) once per event and
hands the same result to the others.

Only values whose fields resolve without the context (no viewer-dependent resolvers, no
loaders) may be shared: the viewer's view was chosen before the value was yielded."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar

from graphql import ExecutionResult, print_ast
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

T = TypeVar("T")

_SHARE_KEY = "_eventapi_share_key"
_SHARED = "_eventapi_shared_event"


class SharedEvent(Generic[T]):
    """A subscription event delivered to many subscribers as this very object."""

    __slots__ = ("results", "value")

    def __init__(self, value: T) -> None:
        self.value = value
        self.results: dict[str, ExecutionResult] = {}


class SharedEvents(Generic[T]):
    """The shared wrapper of each recent source value (by identity), so every subscriber
    of one change yields the same `SharedEvent`. Bounded: an evicted value is only
    executed once more, never wrong."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._recent: OrderedDict[int, tuple[object, SharedEvent[T]]] = OrderedDict()

    def of(self, source: object, convert: Any) -> SharedEvent[T]:
        found = self._recent.get(id(source))
        if found is not None and found[0] is source:
            return found[1]
        event: SharedEvent[T] = SharedEvent(convert(source))
        self._recent[id(source)] = (source, event)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)
        return event


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Any:
        shared = payload if isinstance(payload, SharedEvent) else None
        if shared is not None and getattr(self, _SHARE_KEY, None) is None:
            setattr(self, _SHARE_KEY, self._share_key())
        executor = super().build_per_event_executor(shared.value if shared else payload)
        setattr(executor, _SHARED, shared)
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared: SharedEvent[Any] | None = getattr(self, _SHARED, None)
        key: str | None = getattr(self, _SHARE_KEY, None)
        if shared is None or key is None:
            return super().execute_operation(serially)
        done = shared.results.get(key)
        if done is not None:
            return done
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._remember(shared, key, result)
        if isinstance(result, ExecutionResult) and not result.errors:
            shared.results[key] = result
        return result

    async def _remember(
        self, shared: SharedEvent[Any], key: str, pending: Awaitable[Any]
    ) -> ExecutionResult:
        result = await pending
        if isinstance(result, ExecutionResult) and not result.errors:
            shared.results[key] = result
        return result

    def _share_key(self) -> str:
        """The operation and its fragments as text, with the variables: what decides the
        result for a given event."""
        parts = [print_ast(self.operation)]
        parts += [print_ast(f) for _, f in sorted(self.fragment_definitions.items())]
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        return "\n".join(parts) + "\n" + variables
