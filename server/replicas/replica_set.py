"""The replicas of one database, and how far behind each one is.

Every REPLICA_POLL_INTERVAL a background task takes a *sample*: first the write clock in
Redis (the counter every read-your-writes mark and cache-tag bump takes its number from,
`server.replicas.positions`), then the primary's WAL insert position. Because the clock is
read first, every commit that took a number up to the sampled value had its commit record
in the WAL by the sampled position. Then each replica reports how far it has replayed. A
replica's *position* is the newest sample whose WAL position it has replayed past: it has
applied every commit numbered up to that sample's clock value. Its *lag* is the age of
that sample, so an idle primary never makes a healthy replica look late, and a replica
whose replay is paused or stuck grows late at the pace of the wall clock.

A read may go to a replica that is up, lags no more than REPLICA_MAX_LAG, and whose
position covers what the read needs (a caller's last write, `need`); otherwise to the
primary. Nothing here touches the primary's data: the samples are two tiny queries."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

log = structlog.get_logger("eventapi.replicas")

# The write clock (server.replicas.positions) is the tagged cache's sequence counter.
CLOCK_KEY = "tc:seq"
MARKER_PREFIX = "rw:w:"
EPOCH_KEY = "rw:epoch"
UNREACHABLE = 2**62  # a position no replica has: the read goes to the primary
PRIMARY_LSN = text("SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint")
WAL_LAYOUT = text(
    "SELECT current_setting('wal_block_size')::int, "
    "pg_size_bytes(current_setting('wal_segment_size'))"
)
# The insert position, idle at the start of a WAL page, points past the page's header,
# where no record can end; a replica that has replayed everything stops at the header.
SHORT_PAGE_HEADER = 24  # MAXALIGN(sizeof(XLogPageHeaderData))
LONG_PAGE_HEADER = 40  # the first page of a segment
REPLICA_LSN = text(
    "SELECT (COALESCE(pg_last_wal_replay_lsn(), '0/0') - '0/0')::bigint, pg_is_in_recovery()"
)

reads = Counter(
    "eventapi_db_reads_total",
    "Reads a replica may serve, by where they went (primary or a replica's name)",
    ["target"],
)
primary_reasons = Counter(
    "eventapi_db_replica_skipped_total",
    "Replica-eligible reads served by the primary, by why",
    ["reason"],
)
replica_lag = Gauge(
    "eventapi_db_replica_lag_seconds", "Age of the newest primary sample replayed", ["replica"]
)
replica_up = Gauge(
    "eventapi_db_replica_up", "1 if the replica answers and is in recovery", ["replica"]
)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # time.monotonic() just before the clock was read
    clock: int  # -1: taken before the write clock was last reset (covers no mark)
    lsn: int


class Replica:
    def __init__(self, name: str, url: str, engine: AsyncEngine) -> None:
        self.name = name
        self.display_url = make_url(url).render_as_string(hide_password=True)
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.up = False
        self.error: str | None = "not checked yet"
        self.replay_lsn = 0
        self.position: Sample | None = None
        self.checked_at: float | None = None

    def lag(self, now: float) -> float | None:
        return None if self.position is None else max(0.0, now - self.position.at)

    def usable(self, now: float, max_lag: float, need: int) -> bool:
        if not self.up or self.position is None:
            return False
        return now - self.position.at <= max_lag and (need <= 0 or self.position.clock >= need)

    def failed(self, error: BaseException | str) -> None:
        """A read or a check could not use it: skip it until a check succeeds again."""
        self.up = False
        self.error = error if isinstance(error, str) else type(error).__name__
        replica_up.labels(self.name).set(0)

    def describe(self, now: float, max_lag: float) -> dict[str, Any]:
        lag = self.lag(now)
        if not self.up:
            state = "down"
        elif lag is None or lag > max_lag:
            state = "lagging"
        else:
            state = "ok"
        return {
            "name": self.name,
            "url": self.display_url,
            "state": state,
            "lag_seconds": None if lag is None else round(lag, 3),
            "replayed_lsn": self.replay_lsn,
            "error": self.error,
        }


class ReplicaSet:
    def __init__(
        self,
        urls: list[str],
        make_engine: Callable[[str], AsyncEngine],
        *,
        max_lag: float,
        poll_interval: float,
    ) -> None:
        self.replicas = [
            Replica(f"replica{i}", url, make_engine(url)) for i, url in enumerate(urls, 1)
        ]
        self.max_lag = max_lag
        self.poll_interval = poll_interval
        # Enough samples to place a replica anywhere within the lag bound (and a margin).
        self.samples: deque[Sample] = deque(maxlen=int(2 * max_lag / poll_interval) + 8)
        self.redis: Redis | None = None
        self._primary: AsyncEngine | None = None
        self._wal_block = 8192
        self._wal_segment = 16 * 1024 * 1024
        self._task: asyncio.Task[None] | None = None
        self._epoch: bytes | None = None
        self._checked = asyncio.Event()

    # Lifecycle ------------------------------------------------------------------------
    async def start(self, primary: AsyncEngine, redis: Redis) -> None:
        self._primary = primary
        self.redis = redis
        try:
            async with primary.connect() as conn:
                block, segment = (await conn.execute(WAL_LAYOUT)).one()
            self._wal_block, self._wal_segment = int(block), int(segment)
        except Exception as exc:
            log.warning("could not read the WAL layout; assuming defaults", error=str(exc))
        await self.check()
        self._task = asyncio.create_task(self._run(), name="replica-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for replica in self.replicas:
            await replica.engine.dispose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the monitor die: the replicas just go unused
                log.exception("replica check failed")

    # Sampling -------------------------------------------------------------------------
    async def check(self) -> None:
        """Take a sample of the primary, then ask every replica how far it has replayed."""
        assert self._primary is not None and self.redis is not None
        at = time.monotonic()
        try:
            async with asyncio.timeout(self.check_timeout):
                raw_clock, epoch = await self.redis.mget(CLOCK_KEY, EPOCH_KEY)
                if epoch is None or epoch != self._epoch:
                    await self._new_epoch()
                clock = int(raw_clock or 0)
                async with self._primary.connect() as conn:
                    lsn = int((await conn.execute(PRIMARY_LSN)).scalar_one())
        except Exception as exc:
            # Without a fresh sample no replica can be shown to be current: they age out.
            log.warning("could not sample the primary", error=type(exc).__name__)
        else:
            self.samples.append(Sample(at, clock, self._record_end(lsn)))
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))
        now = time.monotonic()
        for replica in self.replicas:
            lag = replica.lag(now)
            replica_lag.labels(replica.name).set(float("inf") if lag is None else lag)

    async def _new_epoch(self) -> None:
        """Redis lost the clock, or this is the first sample: numbers taken from now on may
        be smaller than those of earlier samples, which therefore prove nothing about
        them. Earlier samples keep measuring lag but cover no mark (clock -1) until
        replicas replay a new one. The epoch key lives as long as the clock (no TTL), so a
        Redis that lost one lost both."""
        assert self.redis is not None
        await self.redis.set(EPOCH_KEY, uuid.uuid4().hex, nx=True)
        current = await self.redis.get(EPOCH_KEY)
        if self._epoch is not None:
            log.warning("the write clock was reset; replica positions start over")
        self._epoch = current
        self.samples = deque(
            (Sample(s.at, -1, s.lsn) for s in self.samples), maxlen=self.samples.maxlen
        )
        for replica in self.replicas:
            if replica.position is not None:
                replica.position = Sample(replica.position.at, -1, replica.position.lsn)

    def _record_end(self, lsn: int) -> int:
        if lsn % self._wal_segment == LONG_PAGE_HEADER:
            return lsn - LONG_PAGE_HEADER
        if lsn % self._wal_block == SHORT_PAGE_HEADER:
            return lsn - SHORT_PAGE_HEADER
        return lsn

    @property
    def check_timeout(self) -> float:
        return max(1.0, 4 * self.poll_interval)

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(self.check_timeout), replica.engine.connect() as conn:
                row = (await conn.execute(REPLICA_LSN)).one()
        except Exception as exc:
            if replica.up:
                log.warning("replica unreachable", replica=replica.name, error=type(exc).__name__)
            replica.failed(exc)
            return
        replay, in_recovery = int(row[0]), bool(row[1])
        replica.checked_at = time.monotonic()
        if not in_recovery:
            # Promoted, or pointed at a primary by mistake: its data may have diverged.
            replica.failed("not a standby")
            return
        if not replica.up:
            log.info("replica available", replica=replica.name)
        replica.up = True
        replica.error = None
        replica.replay_lsn = replay
        replica_up.labels(replica.name).set(1)
        for sample in reversed(self.samples):
            if sample.lsn <= replay:
                if replica.position is None or sample.at > replica.position.at:
                    replica.position = sample
                break

    # Choosing -------------------------------------------------------------------------
    def choose(self, need: int) -> Replica | None:
        """A replica that may serve a read needing the writes numbered up to `need`."""
        now = time.monotonic()
        usable = [r for r in self.replicas if r.usable(now, self.max_lag, need)]
        return random.choice(usable) if usable else None

    def choose_sampled_after(self, since: float) -> Replica | None:
        """A usable replica whose position is a sample taken after `since` (monotonic)."""
        now = time.monotonic()
        usable = [
            r
            for r in self.replicas
            if r.usable(now, self.max_lag, 0) and r.position is not None and r.position.at > since
        ]
        return random.choice(usable) if usable else None

    @property
    def epoch(self) -> bytes | None:
        """The write clock's epoch the samples belong to (None before the first sample)."""
        return self._epoch

    def any_usable(self) -> bool:
        return self.choose(0) is not None

    async def marker(self, scope: str) -> int | None:
        """The clock value of `scope`'s last write still within the lag window (None: no
        recent write); a mark of another epoch than the samples' cannot be met. Raises
        when Redis cannot say."""
        assert self.redis is not None
        value = await self.redis.get(MARKER_PREFIX + scope)
        if value is None:
            return None
        number, _, epoch = value.partition(b":")
        return int(number) if epoch == self._epoch else UNREACHABLE

    def describe(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [replica.describe(now, self.max_lag) for replica in self.replicas]


def note_read(target: str, reason: str | None = None) -> None:
    reads.labels(target).inc()
    if reason is not None:
        primary_reasons.labels(reason).inc()


AS_OF_KEY = "eventapi.replica_as_of"
