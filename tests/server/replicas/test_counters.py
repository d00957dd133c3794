"""The replica's own statistics show the listing reads, and the primary's show none. The
counters are compared once the backends of the apps that wrote and read have gone (a
backend writes out its statistics when it exits); other servers of the suite stay idle."""

from __future__ import annotations

from collections.abc import Callable

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


def client_pids(server: EmbeddedPostgres) -> set[int]:
    rows = server.psql(
        "SELECT pid FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    return {int(pid) for pid in rows.split()}


async def gone(server: EmbeddedPostgres, others: set[int], what: str) -> None:
    async def only_others() -> bool:
        return client_pids(server) <= others

    await eventually(only_others, what)


async def test_listings_move_the_replica_counters_and_not_the_primary(
    primary: EmbeddedPostgres,
    make_settings: Callable[..., Settings],
    replica: EmbeddedReplica,
) -> None:
    on_primary, on_replica = client_pids(primary), client_pids(replica)
    settings = replica_settings(make_settings, replica)
    async with running_app(settings) as (_, http):
        sale = await commerce.sale(GraphQLClient(http))
    await gone(primary, on_primary, "the backends that wrote the event have gone")
    await caught_up(replica, primary)
    primary_before, replica_before = scans(primary, "events"), scans(replica, "events")

    async with running_app(settings) as (app, http):
        await eventually(lambda: _usable(app), "the replica serves reads")
        listings = GraphQLClient(http)
        for _ in range(LISTINGS):
            page = (await listings(PUBLIC_EVENTS))["events"]
            assert [e["node"]["id"] for e in page["edges"]] == [sale.event_id]
    await gone(primary, on_primary, "the reading app's backends on the primary have gone")
    await gone(replica, on_replica, "the reading app's backends on the replica have gone")

    # A listing is a count and a page: two scans of `events` each, all on the replica.
    assert scans(replica, "events") - replica_before >= 2 * LISTINGS
    assert scans(primary, "events") == primary_before


async def _usable(app: object) -> bool:
    return replica_set(app).any_usable()  # type: ignore[arg-type]
