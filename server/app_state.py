"""What the running app holds for its lifetime: settings, the database, Redis, the job
queue and the order desk. Created by the lifespan in `server.app` (and by the worker),
reachable from every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from server.config import Settings
from server.db import Database

if TYPE_CHECKING:
    from server.gate import Gate
    from server.orders.placing import OrderDesk
    from server.tickets.scanning import CheckInDesk


@dataclass
class AppState:
    settings: Settings
    db: Database
    redis: Redis
    queue: Any = None  # arq pool, set by the lifespan
    extras: dict[str, Any] = field(default_factory=dict)
    # The one way orders are placed (group commit lives in it, so there is one per process).
    orders: OrderDesk = field(init=False)
    # The one way tickets are checked in (group commit too).
    checkins: CheckInDesk = field(init=False)
    # Authentication and rate limits for every request, in one Redis round trip.
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        from server.gate import Gate
        from server.orders.placing import OrderDesk
        from server.tickets.scanning import CheckInDesk

        self.orders = OrderDesk(self.db, self.settings, self.redis)
        self.checkins = CheckInDesk(self.db, self.settings)
        self.gate = Gate(self)
