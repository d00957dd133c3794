"""A streaming replica for the package, and an app that reads from it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.app_state import AppState
from server.config import Settings
from server.embedded import EmbeddedPostgres
from server.embedded_replica import EmbeddedReplica
from server.replicas.replica_set import EPOCH_KEY, ReplicaSet
from tests.conftest import running_app
from tests.support.gql import GraphQLClient
from tests.support.replicas import eventually, streaming_replica
from tests.support.services import ServiceUrls

# A paused replica stays within the bound for the length of a test; tests that need a
# lagging replica lower the bound on the running app.
MAX_LAG = 60.0
POLL = 0.1


@pytest.fixture(scope="package")
def primary(services: ServiceUrls) -> EmbeddedPostgres:
    if services.embedded is None:
        pytest.skip("replica tests stream from the embedded PostgreSQL; DATABASE_URL is set")
    return services.embedded.postgres


@pytest.fixture(scope="package")
def replica(services: ServiceUrls) -> Iterator[EmbeddedReplica]:
    with streaming_replica(services) as replica:
        yield replica


def replica_settings(make_settings: Callable[..., Settings], replica: EmbeddedReplica) -> Settings:
    return make_settings(
        database_replica_urls=[replica.url],
        replica_max_lag=MAX_LAG,
        replica_poll_interval=POLL,
    )


@pytest.fixture(scope="module")
async def replica_app(
    make_settings: Callable[..., Settings], replica: EmbeddedReplica
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    async with running_app(replica_settings(make_settings, replica)) as pair:
        yield pair


@pytest.fixture
async def on_replica(
    replica_app: tuple[Starlette, httpx.AsyncClient], replica: EmbeddedReplica
) -> AsyncIterator[GraphQLClient]:
    """A GraphQL client of the replica app, once the replica serves reads and the monitor
    has started a new epoch of the write clock (every test starts with a flushed Redis; a
    mark taken before the monitor notices counts as unreachable, which would send a
    test's first reads to the primary)."""
    app, http = replica_app
    replicas = replica_set(app)
    await eventually(lambda: _usable(replicas), "the replica serves reads")
    await eventually(lambda: _epoch_adopted(app), "the monitor adopts the new epoch")
    http.cookies.clear()
    try:
        yield GraphQLClient(http)
    finally:
        replicas.max_lag = MAX_LAG
        if replica.process is None or replica.process.poll() is not None:
            replica.start()
        replica.resume_replay()


async def _usable(replicas: ReplicaSet) -> bool:
    return replicas.any_usable()


async def _epoch_adopted(app: Starlette) -> bool:
    state: AppState = app.state.eventapi
    epoch = await state.redis.get(EPOCH_KEY)
    return epoch is not None and epoch == replica_set(app).epoch


def replica_set(app: Starlette) -> ReplicaSet:
    state: AppState = app.state.eventapi
    assert state.db.replicas is not None
    return state.db.replicas


def reads(target: str) -> float:
    """How many replica-eligible reads went to `target` (primary or replica1) so far."""
    from prometheus_client import REGISTRY

    value: Any = REGISTRY.get_sample_value("eventapi_db_reads_total", {"target": target})
    return float(value or 0)


async def monitor_has_seen_every_write(app: Starlette) -> None:
    """Until the app's lag monitor places the replica at or past the write clock's
    current value (the replica has replayed every write so far, and a sample shows it)."""
    state: AppState = app.state.eventapi
    clock = int(await state.redis.get("tc:seq") or 0)
    replica = replica_set(app).replicas[0]

    async def seen() -> bool:
        return replica.position is not None and replica.position.clock >= clock

    await eventually(seen, "the monitor places the replica past every write")


def skipped() -> dict[str, float]:
    """Why replica-eligible reads went to the primary so far (for assertion messages)."""
    from prometheus_client import REGISTRY

    return {
        sample.labels["reason"]: sample.value
        for metric in REGISTRY.collect()
        if metric.name == "eventapi_db_replica_skipped"
        for sample in metric.samples
        if sample.name == "eventapi_db_replica_skipped_total"
    }
