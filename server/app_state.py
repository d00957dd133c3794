"""What the running app holds for its lifetime: settings, the database, Redis, the job
queue, the desks that place orders and check tickets in, the request gate, the caches and
the live updates. Created by the lifespan in `server.app` (and by the worker), reachable
from every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from server.config import Settings
from server.db import Database

if TYPE_CHECKING:
    from server.cache.tagged import TaggedCache
    from server.gate import Gate
    from server.live.hub import LiveHub
    from server.live.publisher import LivePublisher
    from server.orders.placing import OrderDesk
    from server.tickets.scanning import CheckInDesk


@dataclass
class AppState:
    settings: Settings
    db: Database
    redis: Redis
    queue: Any = None  # arq pool, set by the lifespan
    live_hub: LiveHub | None = None  # the app's subscriptions hub, started by the lifespan
    # The one way orders are placed (group commit lives in it, so there is one per process).
    orders: OrderDesk = field(init=False)
    # The one way tickets are checked in (group commit too).
    checkins: CheckInDesk = field(init=False)
    # Authentication and rate limits for every request, in one Redis round trip.
    gate: Gate = field(init=False)
    # Redis-backed caches whose entries never outlive a committed change.
    cache: TaggedCache = field(init=False)
    # Live updates published after commit, coalesced.
    live_publisher: LivePublisher = field(init=False)

    def __post_init__(self) -> None:
        from server.cache.tagged import TaggedCache
        from server.gate import Gate
        from server.live.publisher import LivePublisher
        from server.orders.placing import OrderDesk
        from server.tickets.scanning import CheckInDesk

        self.cache = TaggedCache(self.redis)
        self.live_publisher = LivePublisher(self.redis)
        self.orders = OrderDesk(self.db, self.settings, self.redis)
        self.checkins = CheckInDesk(self.db, self.settings)
        self.gate = Gate(self)
