"""Reads against a real streaming replica: listings go to it; a caller who has just
written reads their write at once, even from a replica whose replay is paused; a replica
that lags past the bound, or stops, sends reads to the primary without a single error."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from starlette.applications import Starlette

from server.app_state import AppState
from server.clock import utcnow
from server.embedded import EmbeddedPostgres
from server.embedded_replica import EmbeddedReplica
from server.reports.service import build_report
from server.storage import storage_for
from tests.server.replicas.conftest import (
    monitor_has_seen_every_write,
    reads,
    replica_set,
    skipped,
)
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.replicas import caught_up, eventually

PUBLIC_EVENTS = "{ events(first: 100) { edges { node { id } } } }"
ORG_EVENTS = """
query($id: ID!) { organization(id: $id) { events(first: 100) { edges { node { id } } } } }
"""
MY_ORDERS = "{ myOrders { id status } }"
EVENT_PAGE = "query($slug: String!) { event(slug: $slug) { id title } }"
RETITLE = """
mutation($id: ID!, $title: String!) {
  updateEvent(input: {id: $id, title: $title}) { event { title } errors { code } }
}
"""


def ids(connection: dict[str, object]) -> set[str]:
    edges = connection["edges"]
    assert isinstance(edges, list)
    return {edge["node"]["id"] for edge in edges}


async def public_event_ids(gql: GraphQLClient) -> set[str]:
    return ids((await gql(PUBLIC_EVENTS))["events"])


async def test_listings_are_read_from_the_replica(
    on_replica: GraphQLClient, replica: EmbeddedReplica, primary: EmbeddedPostgres
) -> None:
    sale = await commerce.sale(on_replica)
    await caught_up(replica, primary)
    replica.pause_replay()
    later = await commerce.sale(on_replica, sale.org)
    on_replica_before, primary_before = reads("replica1"), reads("primary")

    anonymous = await public_event_ids(on_replica)

    # The replica has not replayed the second event: the listing came from it.
    assert anonymous == {sale.event_id}
    assert later.event_id not in anonymous
    assert reads("replica1") == on_replica_before + 1
    assert reads("primary") == primary_before


FULL_EVENT_PAGE = """
query($slug: String!) {
  event(slug: $slug) {
    title organization { name } venue { name } assets { id }
    occurrences { id startsAt }
    ticketTypes { name priceTiers { id } availability { available } }
  }
}
"""


async def test_an_event_page_and_its_relations_are_read_from_the_replica_alone(
    on_replica: GraphQLClient, replica: EmbeddedReplica, primary: EmbeddedPostgres
) -> None:
    sale = await commerce.sale(on_replica)
    await caught_up(replica, primary)
    replica.pause_replay()
    await commerce.add_ticket_type(on_replica, sale)  # the owner's write; the replica lacks it
    on_replica_before, primary_before = reads("replica1"), reads("primary")

    page = (await on_replica(FULL_EVENT_PAGE, {"slug": sale.slug}))["event"]

    # The ticket types (a loader), their tiers and availability (loaders of their own)
    # came from the replica with the root field, and nothing from the primary.
    assert [t["name"] for t in page["ticketTypes"]] == ["Ticket 1"]
    assert page["ticketTypes"][0]["availability"] == {"available": 100}
    assert len(page["occurrences"]) == 1
    assert reads("replica1") >= on_replica_before + 4
    assert reads("primary") == primary_before, skipped()

    # The owner, who has just written, reads every relation from the primary.
    mine = await on_replica(FULL_EVENT_PAGE, {"slug": sale.slug}, token=sale.org.owner.token)
    assert len(mine["event"]["ticketTypes"]) == 2


async def test_the_writer_reads_their_write_at_once_from_the_primary(
    on_replica: GraphQLClient, replica: EmbeddedReplica, primary: EmbeddedPostgres
) -> None:
    sale = await commerce.sale(on_replica)
    buyer = await factories.register(on_replica)
    await caught_up(replica, primary)
    replica.pause_replay()

    placed = await commerce.order(on_replica, sale, 2, token=buyer.token)
    primary_before = reads("primary")
    mine = (await on_replica(MY_ORDERS, token=buyer.token))["myOrders"]
    later = await commerce.sale(on_replica, sale.org)
    owner_sees = ids(
        (await on_replica(ORG_EVENTS, {"id": sale.org.id}, token=sale.org.owner.token))[
            "organization"
        ]["events"]
    )
    others_see = await public_event_ids(on_replica)

    assert placed["errors"] == []
    assert mine == [{"id": placed["order"]["id"], "status": "PENDING"}]
    assert later.event_id in owner_sees  # the owner's own write, right after it
    assert later.event_id not in others_see  # everyone else: the paused replica
    assert reads("primary") == primary_before + 2

    replica.resume_replay()
    await caught_up(replica, primary)


async def test_a_buyer_sees_their_order_confirmed_by_the_provider_at_once(
    on_replica: GraphQLClient,
    replica: EmbeddedReplica,
    primary: EmbeddedPostgres,
    replica_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    _, http = replica_app
    sale = await commerce.sale(on_replica)
    buyer = await factories.register(on_replica)
    placed = (await commerce.order(on_replica, sale, 1, token=buyer.token))["order"]
    payment = (
        await on_replica(
            commerce.CREATE_PAYMENT,
            {"input": {"orderId": placed["id"], "provider": "TEST"}},
            token=buyer.token,
        )
    )["createPayment"]["payment"]
    await caught_up(replica, primary)
    replica.pause_replay()

    # The provider's webhook confirms it: a write by nobody signed in.
    confirmed = await http.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )
    mine = (await on_replica(MY_ORDERS, token=buyer.token))["myOrders"]

    assert confirmed.status_code == 200
    assert mine == [{"id": placed["id"], "status": "CONFIRMED"}]


VENUES = "query($org: ID!) { venues(organizationId: $org) { id } }"
REMOVE = "mutation($org: ID!, $user: ID!) { removeMember(organizationId: $org, userId: $user) }"


async def test_a_removed_member_is_refused_at_once_whatever_the_replica_holds(
    on_replica: GraphQLClient, replica: EmbeddedReplica, primary: EmbeddedPostgres
) -> None:
    org = await factories.create_org(on_replica)
    manager = await factories.add_member(on_replica, org, "MANAGER")
    await caught_up(replica, primary)
    assert (await on_replica(VENUES, {"org": org.id}, token=manager.token))["venues"] == []
    replica.pause_replay()

    removed = await on_replica(REMOVE, {"org": org.id, "user": manager.id}, token=org.owner.token)
    refused = await on_replica.errors(VENUES, {"org": org.id}, token=manager.token)

    # The paused replica still has the membership; the removed member's reads do not use it.
    assert removed == {"removeMember": True}
    assert refused[0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN")


async def test_a_replica_past_the_lag_bound_is_skipped(
    on_replica: GraphQLClient,
    replica: EmbeddedReplica,
    replica_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, http = replica_app
    replicas = replica_set(app)
    replicas.max_lag = 0.5
    sale = await commerce.sale(on_replica)
    replica.pause_replay()
    later = await commerce.sale(on_replica, sale.org)  # the primary moves on

    async def lagging() -> bool:
        body = (await http.get("/health")).json()
        return bool(body["replicas"][0]["state"] == "lagging")

    await eventually(lagging, "the paused replica is reported lagging")
    on_replica_before = reads("replica1")
    seen = await public_event_ids(on_replica)

    assert seen == {sale.event_id, later.event_id}  # the primary's answer
    assert reads("replica1") == on_replica_before
    body = (await http.get("/health")).json()
    # A late replica is shown, and is no reason for the instance to stop serving.
    assert body["replicas"][0]["lag_seconds"] > 0.5
    assert set(body["checks"]) == {"database", "redis", "queue"}


async def test_a_stopped_replica_sends_reads_to_the_primary_without_an_error(
    on_replica: GraphQLClient,
    replica: EmbeddedReplica,
    primary: EmbeddedPostgres,
    replica_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, http = replica_app
    sale = await commerce.sale(on_replica)
    await caught_up(replica, primary)
    answers: list[set[str]] = []
    stopped = asyncio.Event()

    async def reader() -> None:
        while not stopped.is_set() or len(answers) < 60:
            answers.append(await public_event_ids(on_replica))  # fails the test on any error

    readers = [asyncio.create_task(reader()) for _ in range(4)]
    await eventually(lambda: _answered(answers, 20), "reads are flowing")
    served_by_replica, primary_before = reads("replica1"), reads("primary")
    await asyncio.to_thread(replica.stop)  # a fast shutdown: its connections are cut
    stopped.set()
    await asyncio.gather(*readers)

    assert [a for a in answers if a != {sale.event_id}] == []
    assert served_by_replica > 0
    assert reads("primary") > primary_before  # the rest, once it stopped
    body = (await http.get("/health")).json()
    assert body["replicas"][0]["state"] == "down"
    assert body["checks"]["database"]["ok"] is True

    await asyncio.to_thread(replica.start)
    await eventually(lambda: _usable(app), "the restarted replica serves reads again")


async def test_a_page_read_from_a_late_replica_is_not_cached(
    on_replica: GraphQLClient,
    replica: EmbeddedReplica,
    replica_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    sale = await commerce.sale(on_replica)
    await monitor_has_seen_every_write(replica_app[0])

    async def page() -> tuple[str, str]:
        response = await on_replica.raw(EVENT_PAGE, {"slug": sale.slug})
        return response.headers["x-cache"], response.json()["data"]["event"]["title"]

    assert await page() == ("MISS", "Jazz Night")
    assert await page() == ("HIT", "Jazz Night")
    replica.pause_replay()
    retitled = await on_replica(
        RETITLE, {"id": sale.event_id, "title": "Late Show"}, token=sale.org.owner.token
    )

    stale = await page()  # anonymous: the paused replica answers, the old title
    again = await page()
    replica.resume_replay()
    await monitor_has_seen_every_write(replica_app[0])
    fresh = await page()

    assert retitled["updateEvent"] == {"event": {"title": "Late Show"}, "errors": []}
    assert stale == ("MISS", "Jazz Night")
    # What the late replica said was not stored: once it has the change, so does the page.
    assert again == ("MISS", "Jazz Night")
    assert fresh == ("MISS", "Late Show")
    assert await page() == ("HIT", "Late Show")


REQUEST_REPORT = """
mutation($e: ID!) { requestReport(eventId: $e, kind: ORDERS_CSV) { report { id } errors { code } } }
"""
REPORT = "query($id: ID!) { report(id: $id) { status rowsDone } }"


async def test_a_report_file_is_read_from_a_replica_holding_every_order_before_it(
    on_replica: GraphQLClient, replica_app: tuple[Starlette, httpx.AsyncClient]
) -> None:
    app, _ = replica_app
    state: AppState = app.state.eventapi
    sale = await commerce.sale(on_replica)
    buyers = [await factories.register(on_replica) for _ in range(2)]
    for buyer in buyers:
        assert (await commerce.order(on_replica, sale, 1, token=buyer.token))["errors"] == []
    owner = sale.org.owner.token
    report_id = (await on_replica(REQUEST_REPORT, {"e": sale.event_id}, token=owner))[
        "requestReport"
    ]["report"]["id"]
    on_replica_before = reads("replica1")

    await build_report(
        state.db,
        storage_for(state.settings),
        report_id=uuid.UUID(report_id),
        work_dir=state.settings.data_dir / "assets" / "reports",
        now=utcnow(),
    )

    done = (await on_replica(REPORT, {"id": report_id}, token=owner))["report"]
    assert done == {"status": "DONE", "rowsDone": 2}  # both orders, committed just before
    assert reads("replica1") == on_replica_before + 1


ANALYTICS = "query($e: ID!) { eventAnalytics(eventId: $e) { ordersPending ticketsReserved } }"


async def test_event_analytics_are_read_from_the_replica(
    on_replica: GraphQLClient, replica_app: tuple[Starlette, httpx.AsyncClient]
) -> None:
    sale = await commerce.sale(on_replica)
    owner = sale.org.owner.token
    assert (await commerce.order(on_replica, sale, 2))["errors"] == []  # a guest's order
    await monitor_has_seen_every_write(replica_app[0])
    on_replica_before = reads("replica1")

    seen = (await on_replica(ANALYTICS, {"e": sale.event_id}, token=owner))["eventAnalytics"]

    assert seen == {"ordersPending": 1, "ticketsReserved": 2}
    assert reads("replica1") == on_replica_before + 1, skipped()


async def test_health_and_metrics_show_each_replica(
    on_replica: GraphQLClient, replica_app: tuple[Starlette, httpx.AsyncClient]
) -> None:
    _, http = replica_app
    await public_event_ids(on_replica)

    health = (await http.get("/health")).json()
    metrics = (await http.get("/metrics")).text

    [described] = health["replicas"]
    assert described["name"] == "replica1"
    assert described["state"] == "ok"
    assert 0 <= described["lag_seconds"] < 60
    assert described["url"].startswith("postgresql+asyncpg://postgres@/eventapi")
    assert 'eventapi_db_replica_up{replica="replica1"} 1.0' in metrics
    assert 'eventapi_db_replica_lag_seconds{replica="replica1"}' in metrics
    assert 'eventapi_db_reads_total{target="replica1"}' in metrics


async def _answered(answers: list[set[str]], count: int) -> bool:
    return len(answers) >= count


async def _usable(app: Starlette) -> bool:
    return replica_set(app).any_usable()
