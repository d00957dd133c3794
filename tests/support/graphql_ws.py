"""A small graphql-transport-ws client on the `websockets` package, for tests that need
real subscriptions over a real socket; and an in-process uvicorn server to talk to."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette

from server.app import create_app
from server.config import Settings
from tests.support.live import free_port

PROTOCOL = "graphql-transport-ws"
WAIT = 20.0  # seconds a test waits for a message before failing

AVAILABILITY = """
subscription($eventId: ID!, $occurrenceId: ID) {
  ticketAvailability(eventId: $eventId, occurrenceId: $occurrenceId) {
    ticketTypeId occurrenceId available sold reserved held status
  }
}
"""
ORDER_STATUS = """
subscription($orderId: ID!) {
  orderStatus(orderId: $orderId) { id status total { amount currency } payments { status } }
}
"""


@dataclass
class Subscription:
    client: GraphQLWebSocket
    id: str
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next `next` payload's data; fails on `error` or `complete`."""
        message = await asyncio.wait_for(self.queue.get(), timeout)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return dict(message["payload"]["data"])

    async def take(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(count)]

    async def message(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next message of any type (next, error, complete)."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def pending(self) -> int:
        return self.queue.qsize()

    async def complete(self) -> None:
        await self.client.send({"id": self.id, "type": "complete"})


class GraphQLWebSocket:
    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.subscriptions: dict[str, Subscription] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.closed: asyncio.Future[tuple[int | None, str | None]] = (
            asyncio.get_running_loop().create_future()
        )

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        ack = json.loads(await asyncio.wait_for(self.socket.recv(), WAIT))
        assert ack["type"] == "connection_ack", ack
        self._reader = asyncio.create_task(self._read())
        return dict(ack)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> Subscription:
        sub = Subscription(self, str(next(self._ids)))
        self.subscriptions[sub.id] = sub
        await self.send(
            {
                "id": sub.id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return sub

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                    continue
                sub = self.subscriptions.get(message.get("id", ""))
                if sub is not None:
                    sub.queue.put_nowait(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.socket.close_code, self.socket.close_reason))

    async def close(self) -> None:
        await self.socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


@contextlib.asynccontextmanager
async def connect(
    url: str, *, token: str | None = None, init: dict[str, Any] | None = None
) -> AsyncIterator[GraphQLWebSocket]:
    """An acknowledged graphql-transport-ws connection to `url` (http(s):// or ws(s)://)."""
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
    if not ws_url.endswith("/graphql"):
        ws_url += "/graphql"
    payload = dict(init or {})
    if token:
        payload["authorization"] = f"Bearer {token}"
    async with websockets.connect(ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        client = GraphQLWebSocket(socket)
        await client.init(payload)
        try:
            yield client
        finally:
            await client.close()


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the test run keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class InProcessServer:
    app: Starlette
    url: str

    @property
    def state(self) -> Any:
        return self.app.state.eventapi


@contextlib.asynccontextmanager
async def serve_in_process(settings: Settings) -> AsyncIterator[InProcessServer]:
    """The app behind a real uvicorn socket on this event loop, so a test can open
    WebSockets to it and still look inside it (its live hub, its state)."""
    app = create_app(settings, run_worker=False)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws_per_message_deflate=False,  # as `eventapi serve` runs it
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped before it started")
            await asyncio.sleep(0.02)
        yield InProcessServer(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
