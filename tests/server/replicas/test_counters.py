"""The replica's own statistics show the listing reads, and the primary's show none: an app
of its own reads while nothing else holds a connection, and the counters are compared once
every backend has gone (a backend writes its statistics when it exits)."""

from __future__ import annotations

from collections.abc import Callable

from server.app_state import AppState
from server.config import Settings
from server.embedded import EmbeddedPostgres
from server.embedded_replica import EmbeddedReplica
from tests.conftest import running_app
from tests.server.replicas.conftest import replica_set, replica_settings
from tests.support import commerce
from tests.support.gql import GraphQLClient
from tests.support.replicas import caught_up, eventually

PUBLIC_EVENTS = "{ events(first: 50) { totalCount edges { node { id title } } } }"
LISTINGS = 5


def scans(server: EmbeddedPostgres, table: str) -> int:
    columns = "coalesce(seq_scan, 0) + coalesce(idx_scan, 0)"
    sql = f"SELECT {columns} FROM pg_stat_user_tables WHERE relname = '{table}'"  # noqa: S608
    return int(server.psql(sql, "eventapi"))


def clients(server: EmbeddedPostgres) -> int:
    return int(
        server.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    )


async def test_listings_move_the_replica_counters_and_not_the_primary(
    primary: EmbeddedPostgres,
    make_settings: Callable[[], Settings],
    replica: EmbeddedReplica,
    state: AppState,
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql)

    async def no_clients() -> bool:
        return clients(primary) == 0 and clients(replica) == 0

    await caught_up(replica, primary)
    await state.db.engine.dispose()  # the suite's app lets go of its connections
    await eventually(no_clients, "every backend has written its statistics and gone")
    primary_before, replica_before = scans(primary, "events"), scans(replica, "events")

    async with running_app(replica_settings(make_settings, replica)) as (app, http):
        await eventually(lambda: _usable(app), "the replica serves reads")
        listings = GraphQLClient(http)
        for _ in range(LISTINGS):
            page = (await listings(PUBLIC_EVENTS))["events"]
            assert [e["node"]["id"] for e in page["edges"]] == [sale.event_id]
    await eventually(no_clients, "the app's backends have gone")

    # A listing is a count and a page: two scans of `events` each, all on the replica.
    assert scans(replica, "events") - replica_before >= 2 * LISTINGS
    assert scans(primary, "events") == primary_before


async def _usable(app: object) -> bool:
    return replica_set(app).any_usable()  # type: ignore[arg-type]
