"""The job queues and how to tell whether workers are serving them."""

from __future__ import annotations

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
    """Each queue's backlog, and whether a worker has reported on it recently."""
    async with state.redis.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.exists(health_key(queue))
            pipe.zcard(queue)
        results = await pipe.execute()
    queues = {}
    for i, queue in enumerate(QUEUES):
        queues[queue.split(":", 1)[1]] = {
            "worker": bool(results[2 * i]),
            "pending": int(results[2 * i + 1]),
        }
    return {"ok": all(q["worker"] for q in queues.values()), "queues": queues}
