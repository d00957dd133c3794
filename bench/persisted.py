"""The public event page as an anonymous persisted query answered from the response cache,
against a plain Starlette JSON endpoint in the same run.

    .venv/bin/python bench/persisted.py [--duration 10] [--connections 64] [--client auto]

Starts `eventapi serve` on a temporary DATA_DIR (embedded PostgreSQL and Redis), seeds an
event through the API (bench/catalog_read.py's seed: three dates, three ticket types with
tiers), registers the event page query as an automatic persisted query, then drives
`GET /graphql?extensions={persistedQuery...}&variables=...` (hash only, anonymous, the
way a CDN-friendly Apollo client sends it) with N keep-alive connections. Before the run
it checks that the page is served from the response cache (`X-Cache: HIT`) and that a
change to the event is visible at once afterwards (`updateEvent`, then the next answer
is a MISS with the new title). Prints requests per second, p50/p99, server CPU per
request, peak memory, the hit ratio, the ratio to the bare endpoint (target: 25%) and the
machine load before and after."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from catalog_read import (
    EVENT_PAGE,
    eventapi_serving,
    free_port,
    measured,
    report,
    seed,
    stop,
    wait_ready,
)
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.profile import Profiler, summarize

TARGET = 0.25
CATALOG_READ = Path(__file__).with_name("catalog_read.py")


def page_path(slug: str) -> str:
    digest = hashlib.sha256(EVENT_PAGE.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    return "/graphql?" + urlencode(
        {"extensions": extensions, "variables": json.dumps({"slug": slug})}
    )


def register(base: str, slug: str) -> None:
    """The APQ exchange once: the hash alone is unknown, then hash and query register it."""
    digest = hashlib.sha256(EVENT_PAGE.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    first = httpx.get(base + page_path(slug)).json()
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", first
    second = httpx.post(
        base + "/graphql",
        json={"query": EVENT_PAGE, "variables": {"slug": slug}, "extensions": extensions},
    ).json()
    assert second["data"]["event"]["slug"] == slug, second


def check_invalidation(base: str, slug: str, token: str) -> str:
    """A change to the event is served at once; returns what happened, for the report."""
    warm = [httpx.get(base + page_path(slug)) for _ in range(2)]
    before = warm[-1].headers.get("x-cache", "-")
    event_id = warm[-1].json()["data"]["event"]["id"]
    changed = httpx.post(
        base + "/graphql",
        json={
            "query": "mutation($i: UpdateEventInput!) { updateEvent(input: $i) "
            "{ event { title } errors { message } } }",
            "variables": {"i": {"id": event_id, "title": "Lagos Jazz Night (moved)"}},
        },
        headers={"authorization": f"Bearer {token}"},
    ).json()
    assert changed["data"]["updateEvent"]["errors"] == [], changed
    after = httpx.get(base + page_path(slug))
    title = after.json()["data"]["event"]["title"]
    assert title == "Lagos Jazz Night (moved)", f"stale page after the change: {title!r}"
    again = httpx.get(base + page_path(slug)).headers.get("x-cache", "-")
    return (
        f"before the change {before}; right after updateEvent "
        f"{after.headers.get('x-cache', '-')} with the new title; then {again}"
    )


def login(base: str) -> str:
    answer = httpx.post(
        base + "/graphql",
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            "variables": {"i": {"email": "bench@example.com", "password": "correct horse battery"}},
        },
    ).json()
    return str(answer["data"]["login"]["accessToken"])


def cache_counts(base: str) -> dict[str, float]:
    counts: dict[str, float] = {"hit": 0.0, "miss": 0.0}
    for family in text_string_to_metric_families(httpx.get(base + "/metrics").text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels.get("cache") == "graphql-response":
                counts[labels["result"]] = counts.get(labels["result"], 0.0) + sample.value
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--profile", type=Path, help="write a py-spy profile of the page's run (and a summary)"
    )
    args = parser.parse_args()
    if args.profile:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"

    load_before = os.getloadavg()
    print(
        f"cpus {os.cpu_count()}  load average before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}  client {args.client}  connections {args.connections}  "
        f"duration {args.duration:.0f}s (+{args.warmup:.0f}s warm-up)"
    )

    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, str(CATALOG_READ), "--serve-bare", str(bare_port)])
    try:
        wait_ready(f"http://127.0.0.1:{bare_port}/json", 30, bare)
        bare_result = measured(args, bare.pid, bare_port, "/json", None)
    finally:
        stop(bare)

    with tempfile.TemporaryDirectory(prefix="eventapi-bench-") as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with eventapi_serving(data_dir, port, LOG_LEVEL="WARNING") as server:
            slug = seed(base)
            register(base, slug)
            invalidation = check_invalidation(base, slug, login(base))
            path = page_path(slug)
            before = cache_counts(base)
            with Profiler([server.pid], args.profile) if args.profile else nullcontext():
                page_result: dict[str, Any] = measured(args, server.pid, port, path, None, data_dir)
            after = cache_counts(base)

    hits = after["hit"] - before["hit"]
    misses = after["miss"] - before["miss"]
    load_after = os.getloadavg()
    print()
    report("bare Starlette JSON", bare_result)
    report("persisted event page", page_result)
    ratio = page_result["rps"] / bare_result["rps"] if bare_result["rps"] else 0.0
    served = hits + misses
    print(f"\nresponse cache during the run: {hits:.0f} hits, {misses:.0f} misses", end="")
    print(f" ({100 * hits / served:.1f}% hits)" if served else "")
    print(f"invalidation check: {invalidation}")
    print(
        f"ratio persisted event page / bare: {100 * ratio:.1f}%  "
        f"(target >= {100 * TARGET:.0f}%: {'met' if ratio >= TARGET else 'NOT met'})"
    )
    print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.profile:
        args.profile.with_suffix(".summary").write_text(summarize([args.profile]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
