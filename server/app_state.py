"""What the running app holds for its lifetime: settings, the database, Redis, the job
queue. Created by the lifespan in `server.app`, reachable from every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from server.config import Settings
from server.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    redis: Redis
    queue: Any = None  # arq pool, set by the lifespan
    extras: dict[str, Any] = field(default_factory=dict)
