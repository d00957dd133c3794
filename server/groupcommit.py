"""Group commit: concurrent requests for the same contended rows share one transaction.

When every request of a flash sale (or every scan at a gate) must lock the same row, one
transaction per request means one COMMIT, one WAL flush and one lock hand-over per request
while the rest wait in line. Here requests queue per key; while one batch of a key is in
its transaction, the next gathers, and it runs as soon as the first commits. Under light
load a batch is a single request, so nobody waits for company.

The runner decides each request's outcome inside the batch, and must make every outcome
what the request would have had alone, in arrival order; it returns an error as the
outcome of the request it belongs to. A runner that raises has failed the batch as a
whole (a deadlock with another process, a lock timeout, a fault): each of its requests is
then run alone, so one request's trouble is never another's, and a request that fails
alone gets the error.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger("eventapi.groupcommit")

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
Out = TypeVar("Out")


@dataclass
class _Waiting(Generic[R, Out]):
    request: R
    future: asyncio.Future[Out]


@dataclass
class GroupCommit(Generic[K, R, Out]):
    run: Callable[[K, list[R]], Awaitable[list[Out | BaseException]]]
    max_batch: int = 200
    _queues: dict[K, deque[_Waiting[R, Out]]] = field(default_factory=dict)
    _tasks: dict[K, asyncio.Task[None]] = field(default_factory=dict)

    async def submit(self, key: K, request: R) -> Out:
        """The request's outcome once its batch has committed (or its error)."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(_Waiting(request, future))
        if key not in self._tasks:
            # Its own task: a client that goes away cancels its wait, never the batch.
            self._tasks[key] = asyncio.create_task(self._drain(key))
        return await future

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self._queues.values()) + len(self._tasks)

    async def close(self) -> None:
        """Let the batches under way finish (the app is stopping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _drain(self, key: K) -> None:
        queue = self._queues[key]
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
                outcomes = await self._decide(key, [w.request for w in batch])
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if waiting.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)
        finally:
            del self._tasks[key]
            if not queue:
                self._queues.pop(key, None)

    async def _decide(self, key: K, requests: list[R]) -> list[Out | BaseException]:
        try:
            return await self.run(key, requests)
        except Exception as error:
            if len(requests) == 1:
                log.warning("request failed", error=repr(error))
                return [error]
            log.warning("batch failed; running its requests alone", size=len(requests))
            return [(await self._decide(key, [request]))[0] for request in requests]
