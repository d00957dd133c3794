"""Live subscriptions under load: N WebSocket subscribers of one event on one instance,
then orders placed one after another through the API; for each order, the time until each
subscriber holds the new availability, and the instance's peak memory.

    .venv/bin/python bench/subscriptions.py [--subscribers 2000] [--clients 4] [--orders 40]

Starts `eventapi serve` on the embedded default in a temporary DATA_DIR. The subscribers
(one graphql-transport-ws connection each) are spread over a few client processes so the
load generator keeps up. Clocks: every process reads the system-wide monotonic clock.

The commit happens between the order request being sent and its response arriving, so each
latency is given both ways: from the request (an upper bound of commit -> update) and from
the response (a lower one). Targets: p99 under 250 ms, memory under 1 GB."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Sampler, cpu_seconds, embedded_server, machine, percentiles

QUANTITY = 1_000_000
SUBSCRIBE = (
    "subscription($eventId: ID!) { ticketAvailability(eventId: $eventId) "
    "{ ticketTypeId occurrenceId available sold reserved held status } }"
)
SETUP = {
    "register": """mutation($input: RegisterInput!) { register(input: $input) {
        accessToken errors { message } } }""",
    "org": """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
        organization { id } errors { message } } }""",
    "event": """mutation($input: CreateEventInput!) { createEvent(input: $input) {
        event { id slug } errors { message } } }""",
    "ticket_type": """mutation($input: CreateTicketTypeInput!) { createTicketType(input: $input) {
        ticketType { id } errors { message } } }""",
    "publish": """mutation($id: ID!) { publishEvent(id: $id) { errors { message } } }""",
}
ORDER = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
    order { id } errors { code message } } }"""


def gql(http: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    payload = body.json()
    if "errors" in payload:
        raise RuntimeError(payload["errors"])
    data = next(iter(payload["data"].values()))
    if isinstance(data, dict) and data.get("errors"):
        raise RuntimeError(data["errors"])
    return data


def create_sale(http: httpx.Client) -> tuple[str, str]:
    token = gql(
        http,
        SETUP["register"],
        {"input": {"email": "bench@example.com", "password": "correct horse battery", "name": "B"}},
    )["accessToken"]
    org = gql(http, SETUP["org"], {"input": {"name": "Bench Org"}}, token)["organization"]["id"]
    event = gql(
        http,
        SETUP["event"],
        {
            "input": {
                "organizationId": org,
                "title": "Flash Sale",
                "occurrences": [
                    {"startsAt": "2031-01-01T20:00:00Z", "endsAt": "2031-01-01T23:00:00Z"}
                ],
            }
        },
        token,
    )["event"]
    ticket_type = gql(
        http,
        SETUP["ticket_type"],
        {
            "input": {
                "eventId": event["id"],
                "name": "General",
                "price": {"amount": "10.00", "currency": "USD"},
                "quantity": QUANTITY,
                "maxPerOrder": 10,
            }
        },
        token,
    )["ticketType"]["id"]
    gql(http, SETUP["publish"], {"id": event["id"]}, token)
    return event["id"], ticket_type


# -- client processes -------------------------------------------------------------------


def client_process(url: str, event_id: str, count: int, pipe: Pipe) -> None:
    asyncio.run(_client(url, event_id, count, pipe))


async def _client(url: str, event_id: str, count: int, pipe: Pipe) -> None:
    received: list[tuple[int, int, float]] = []  # (subscriber, available, monotonic time)
    ready = 0
    all_ready = asyncio.Event()
    stop = asyncio.Event()
    opening = asyncio.Semaphore(50)

    async def subscriber(index: int) -> None:
        nonlocal ready
        async with opening:
            socket = await websockets.connect(
                url, subprotocols=["graphql-transport-ws"], open_timeout=60, max_queue=None
            )
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            await socket.recv()
            await socket.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIBE, "variables": {"eventId": event_id}},
                    }
                )
            )
            json.loads(await socket.recv())  # the snapshot
        ready += 1
        if ready == count:
            all_ready.set()
        reader = asyncio.ensure_future(_read(socket, index, received))
        await stop.wait()
        reader.cancel()
        await socket.close()

    tasks = [asyncio.ensure_future(subscriber(i)) for i in range(count)]
    await all_ready.wait()
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send(received)


async def _read(socket: Any, index: int, received: list[tuple[int, int, float]]) -> None:
    async for raw in socket:
        now = time.monotonic()
        message = json.loads(raw)
        if message.get("type") == "next":
            received.append(
                (index, message["payload"]["data"]["ticketAvailability"]["available"], now)
            )
        elif message.get("type") == "ping":
            await socket.send('{"type":"pong"}')


# -- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between orders")
    parser.add_argument("--detail", action="store_true", help="print each order's figures")
    args = parser.parse_args()

    with embedded_server() as server:
        http = httpx.Client(base_url=server.url, timeout=60)
        event_id, ticket_type = create_sale(http)
        ws_url = server.url.replace("http://", "ws://") + "/graphql"
        with Sampler([server.pid()]) as sampler:
            idle_rss = sampler_rss(server.pid())
            context = mp.get_context("spawn")
            pipes, processes = [], []
            shares = [args.subscribers // args.clients] * args.clients
            shares[0] += args.subscribers - sum(shares)
            started = time.monotonic()
            for share in shares:
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=client_process, args=(ws_url, event_id, share, theirs)
                )
                process.start()
                pipes.append(ours)
                processes.append(process)
            for pipe in pipes:
                assert pipe.recv() == "ready"
            connected_in = time.monotonic() - started
            subscribed_rss = sampler_rss(server.pid())
            time.sleep(1.0)

            cpu_before = cpu_seconds(server.pid())
            sent: list[float] = []
            answered: list[float] = []
            for k in range(args.orders):
                body = {
                    "eventId": event_id,
                    "items": [{"ticketTypeId": ticket_type, "quantity": 1}],
                    "buyerEmail": f"buyer{k}@example.com",
                }
                sent.append(time.monotonic())
                gql(http, ORDER, {"input": body})
                answered.append(time.monotonic())
                time.sleep(args.interval)
            time.sleep(2.0)
            cpu_used = cpu_seconds(server.pid()) - cpu_before
            for pipe in pipes:
                pipe.send("stop")
            received: list[tuple[int, int, float]] = []
            for client, pipe in enumerate(pipes):
                received += [(client * 1_000_000 + i, a, t) for i, a, t in pipe.recv()]
            for process in processes:
                process.join(30)
        peak = sampler.peak_rss.get(server.pid(), 0)

    first_seen: dict[tuple[int, int], float] = {}
    for subscriber, available, at in received:
        first_seen.setdefault((subscriber, available), at)
    from_request, from_response = [], []
    missing = 0
    all_subscribers = args.subscribers
    for k in range(args.orders):
        available = QUANTITY - (k + 1)
        times = [t for (_, a), t in first_seen.items() if a == available]
        missing += all_subscribers - len(times)
        if args.detail and times:
            print(
                f"order {k + 1}: request took {(answered[k] - sent[k]) * 1000:.0f} ms; "
                f"updates from the response: first {(min(times) - answered[k]) * 1000:.0f} ms, "
                f"last {(max(times) - answered[k]) * 1000:.0f} ms"
            )
        from_request += [(t - sent[k]) * 1000 for t in times]
        from_response += [(t - answered[k]) * 1000 for t in times]
    request_p = percentiles(from_request)
    response_p = percentiles(from_response)
    print(f"machine: {machine()}")
    print(
        f"subscribers: {args.subscribers} WebSockets over {args.clients} client processes, "
        f"connected and snapshotted in {connected_in:.1f} s; {args.orders} orders, "
        f"{args.interval:.2f} s apart"
    )
    print(
        f"order request -> update at every subscriber: p50 {request_p['p50']:.1f} ms, "
        f"p95 {request_p['p95']:.1f} ms, p99 {request_p['p99']:.1f} ms "
        f"({len(from_request)} updates, {missing} missed)"
    )
    print(
        f"order response -> update: p50 {response_p['p50']:.1f} ms, "
        f"p95 {response_p['p95']:.1f} ms, p99 {response_p['p99']:.1f} ms"
    )
    print(
        f"instance memory: {idle_rss / 2**20:.0f} MiB before subscribers, "
        f"{subscribed_rss / 2**20:.0f} MiB with them, peak {peak / 2**20:.0f} MiB"
    )
    per_order = cpu_used / args.orders
    print(
        f"instance CPU while orders were placed: {cpu_used:.1f} s over "
        f"{args.orders * args.interval + 2:.0f} s, {per_order * 1000:.0f} ms per order "
        f"(the order, one availability read, {args.subscribers} updates: "
        f"{per_order / args.subscribers * 1e6:.0f} us per subscriber update)"
    )


def sampler_rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


if __name__ == "__main__":
    main()
