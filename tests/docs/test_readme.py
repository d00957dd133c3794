"""The README's worked examples, run against a live `eventapi serve` so they cannot rot.

Every shell block, in order, in one bash (variables and the cookie jar carry over), with
each documented answer (`# ...` lines after a command; `...` stands for any text) checked
against what the command printed. Then, on a clean database, every GraphQL block in order
over HTTP (the subscription over WebSocket), with the ids of earlier answers put where the
README says `<ORG>`, `<EVENT>`, ..."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.markdown import ROOT, blocks, matches, section
from tests.server.webhooks.receiver import Receiver
from tests.support.graphql_ws import connect
from tests.support.live import LiveServer, live_servers
from tests.support.services import ServiceUrls

EXAMPLES = section(ROOT / "README.md", "## Worked examples")
DOCUMENTED_URL = "http://127.0.0.1:8000"
LATER = "# a moment later"
SEGMENT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def server(services: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp_path_factory.mktemp("readme"),
        worker_in_process="true",
        webhook_allow_private_urls="true",
        rate_limit_anonymous="100000",
        rate_limit_authenticated="100000",
    ) as [server]:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@dataclass
class Segment:
    """Commands, what the README says they print, and whether the README says the answer
    comes "a moment later" (the test then asks again until it does)."""

    commands: list[str] = field(default_factory=list)
    documented: list[str] = field(default_factory=list)
    eventually: bool = False


def segments(script: str) -> list[Segment]:
    found: list[Segment] = []
    current = Segment()
    for line in script.splitlines():
        if line.startswith(LATER):
            current.eventually = True
        elif line.startswith("# "):
            current.documented.append(line[2:])
        else:
            if current.documented:
                found.append(current)
                current = Segment()
            current.commands.append(line)
    if current.commands:
        found.append(current)
    return found


class Shell:
    """One bash process; each run's output goes to files, then a marker line with its exit
    status comes back on stdout."""

    def __init__(self, process: asyncio.subprocess.Process, workdir: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.count = 0

    @classmethod
    async def start(cls, workdir: Path, env: dict[str, str]) -> Shell:
        process = await asyncio.create_subprocess_exec(
            "bash",
            "--noprofile",
            "--norc",
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process, workdir)

    async def run(self, commands: str) -> tuple[int, str, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.count += 1
        out, err = self.workdir / f"{self.count}.out", self.workdir / f"{self.count}.err"
        self.process.stdin.write(f"{{\n{commands}\n}} >{out} 2>{err}\necho __done__ $?\n".encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), SEGMENT_TIMEOUT)
        assert line.startswith(b"__done__ "), line
        return int(line.split()[1]), out.read_text(), err.read_text()

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def test_the_shell_examples_answer_as_documented(
    server: LiveServer, receiver: Receiver, tmp_path: Path
) -> None:
    script = "\n".join(b.text for b in blocks(EXAMPLES, "sh"))
    script = script.replace(DOCUMENTED_URL, server.url)
    shell = await Shell.start(tmp_path, {**os.environ, "HOOK_URL": receiver.url})
    checked = 0
    try:
        for segment in segments(script):
            commands = "\n".join(segment.commands)
            documented = "\n".join(segment.documented)
            for _ in range(300 if segment.eventually else 1):
                status, out, err = await shell.run(commands)
                if not segment.documented or matches(documented, out.strip()):
                    break
                await asyncio.sleep(0.1)
            assert (status, err) == (0, ""), commands
            if segment.documented:
                assert matches(documented, out.strip()), (commands, out)
                checked += 1
    finally:
        await shell.close()

    assert checked >= 15  # every documented answer was compared
    events = sorted(a.headers["x-webhook-event"] for a in receiver.arrivals)
    assert events == ["order.confirmed", "ticket.checkedin"]


CAPTURES: dict[str, tuple[str | int, ...]] = {
    "TOKEN": ("register", "accessToken"),
    "ORG": ("createOrganization", "organization", "id"),
    "VENUE": ("createVenue", "venue", "id"),
    "EVENT": ("createEvent", "event", "id"),
    "SLUG": ("createEvent", "event", "slug"),
    "TICKET_TYPE": ("createTicketType", "ticketType", "id"),
    "ORDER": ("createOrder", "order", "id"),
    "QR_CODE": ("order", "tickets", 0, "qrCode"),
}
PLACEHOLDER = re.compile(r"<([A-Z_]+)>")


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _payload_errors(data: Any) -> list[Any]:
    """Every non-empty `errors` list inside the data (the mutation payloads' UserErrors)."""
    if isinstance(data, dict):
        found = [data["errors"]] if data.get("errors") else []
        return found + [e for v in data.values() for e in _payload_errors(v)]
    if isinstance(data, list):
        return [e for v in data for e in _payload_errors(v)]
    return []


async def test_the_graphql_examples_run_in_order(server: LiveServer, receiver: Receiver) -> None:
    now = datetime.now(UTC)
    values = {
        "STARTS_AT": (now + timedelta(days=30)).isoformat(),
        "ENDS_AT": (now + timedelta(days=30, hours=4)).isoformat(),
        "HOOK_URL": receiver.url,
    }
    documents = [b.text for b in blocks(EXAMPLES, "graphql")]
    ran = 0
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for template in documents:
            document = PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
            token = values.get("TOKEN")
            if document.lstrip().startswith("subscription"):
                async with connect(server.url, token=token) as ws:
                    subscription = await ws.subscribe(document)
                    snapshot = (await subscription.next())["ticketAvailability"]
                assert (snapshot["sold"], snapshot["available"]) == (2, 198)
                ran += 1
                continue
            if "webhooks(" in document:
                await receiver.wait_for(2)
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = await http.post("/graphql", json={"query": document}, headers=headers)
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, (document, body)
            assert _payload_errors(body["data"]) == [], (document, body)
            for name, path in CAPTURES.items():
                if name not in values and _at(body["data"], path) is not None:
                    values[name] = str(_at(body["data"], path))
            payment = _at(body["data"], ("createPayment", "payment")) or _at(
                body["data"], ("createOrder", "order", "payments", 0)
            )
            if payment is not None:  # the buyer pays (the README's curl step)
                paid = await http.post(
                    f"/payments/test/{payment['reference']}/succeed",
                    json={"clientSecret": payment["clientSecret"]},
                )
                assert paid.json()["outcome"] == "applied"
            ran += 1

    assert ran == len(documents) >= 15
    assert sorted(a.headers["x-webhook-event"] for a in receiver.arrivals) == [
        "order.confirmed",
        "ticket.checkedin",
    ]
