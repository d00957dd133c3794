"""A real HTTP/1.1 webhook receiver for tests, on a local port in the test's event loop.

Each arriving request takes the next behaviour from `script` (then `default`): answer with
a status, hang (never answer, until the test releases it), stall (answer once the test
releases it), or close the connection after the headers, before the body is read. Every
arrival is recorded, in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Respond:
    status: int = 200
    body: bytes = b"ok"


@dataclass(frozen=True)
class Hang:
    """Read the request, then answer nothing until `release` is set (then close)."""

    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Stall:
    """Read the request, then answer `status` once `release` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 200
    body: bytes = b"ok"


@dataclass(frozen=True)
class Close:
    """Hang up after reading the headers: the connection closes mid-request."""


Behaviour = Respond | Hang | Stall | Close


@dataclass(frozen=True)
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes
    behaviour: Behaviour

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["x-webhook-id"]


class Receiver:
    def __init__(self) -> None:
        self.script: deque[Behaviour] = deque()
        self.default: Behaviour = Respond(200)
        self.arrivals: list[Arrival] = []
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def then(self, *behaviours: Behaviour) -> Receiver:
        self.script.extend(behaviours)
        return self

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for(self, count: int, timeout: float = 30) -> list[Arrival]:
        """Wait until `count` requests have arrived (fails the test after `timeout`)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.arrivals) >= count), timeout
            )
        return list(self.arrivals)

    async def _record(self, arrival: Arrival) -> None:
        async with self._changed:
            self.arrivals.append(arrival)
            self._changed.notify_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        request_line = await reader.readline()
        if not request_line:
            return False
        _method, path, _version = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        behaviour = self.script.popleft() if self.script else self.default
        if isinstance(behaviour, Close):
            await self._record(Arrival(path, headers, b"", behaviour))
            return False
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await self._record(Arrival(path, headers, body, behaviour))
        if isinstance(behaviour, Hang):
            await behaviour.release.wait()
            return False
        if isinstance(behaviour, Stall):
            await behaviour.release.wait()
        writer.write(
            f"HTTP/1.1 {behaviour.status} X\r\ncontent-length: {len(behaviour.body)}\r\n"
            "content-type: text/plain\r\n\r\n".encode()
            + behaviour.body
        )
        await writer.drain()
        return True
