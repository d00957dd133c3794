"""The job queues and how to tell whether workers are serving them."""

from __future__ import annotations

import time
from typing import Any

from server.app_state import AppState

MAIL = "eventapi:mail"
WEBHOOKS = "eventapi:webhooks"
MAINTENANCE = "eventapi:maintenance"
REPORTS = "eventapi:reports"
QUEUES = (MAIL, WEBHOOKS, MAINTENANCE, REPORTS)
HEALTH_CHECK_INTERVAL = 10  # seconds between a worker's heartbeats


def health_key(queue: str) -> str:
    return f"{queue}:health-check"


async def queue_health(state: AppState) -> dict[str, Any]:
    """Each queue's backlog (all jobs, and those already due), how long the oldest due job
    has waited, and whether a worker has reported on the queue recently."""
    now_ms = time.time() * 1000
    async with state.redis.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.exists(health_key(queue))
            pipe.zcard(queue)
            pipe.zcount(queue, "-inf", now_ms)
            pipe.zrange(queue, 0, 0, withscores=True)
        results = await pipe.execute()
    queues = {}
    for i, queue in enumerate(QUEUES):
        worker, pending, due, oldest = results[4 * i : 4 * i + 4]
        waited = max(0.0, (now_ms - float(oldest[0][1])) / 1000) if oldest and due else 0.0
        queues[queue.split(":", 1)[1]] = {
            "worker": bool(worker),
            "pending": int(pending),
            "due": int(due),
            "oldest_due_seconds": round(waited, 3),
        }
    return {"ok": all(q["worker"] for q in queues.values()), "queues": queues}
