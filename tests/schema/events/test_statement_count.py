"""Every nested field of a listing resolves through per-request DataLoaders: a page of 20
events with all their relations costs the same number of SQL statements as a page of 5."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event as sa_event

from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.schema.events import catalog
from tests.schema.events.catalog import occurrence
from tests.support import factories
from tests.support.gql import GraphQLClient

PAGE = """
query Page($first: Int) {
  events(first: $first) {
    totalCount
    edges {
      node {
        id title slug
        organization { id name }
        venue { id name timezone }
        occurrences { id startsAt endsAt capacity }
        assets { id url }
        seatmap { id name seatCount }
        policies { refundPolicy }
        ticketTypes {
          id name
          price { amount currency }
          currentPrice { amount currency }
          currentTier { id name }
          priceTiers { id name price { amount } }
          availability { available sold reserved held status }
        }
      }
    }
  }
}
"""
CREATE_TIER = """
mutation Tier($input: CreatePriceTierInput!) {
  createPriceTier(input: $input) { errors { code message } }
}
"""


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


async def seed(gql: GraphQLClient, count: int) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org)
    seatmap = await catalog.create_seatmap(gql, org, venue["id"])
    for i in range(count):
        event = await catalog.create_event(
            gql,
            org,
            title=f"Event {i}",
            venueId=venue["id"],
            seatmapId=seatmap["id"],
            occurrences=[occurrence(i, capacity=300), occurrence(i + 30)],
        )
        for name in ("General", "VIP"):
            type_id = await catalog.add_ticket_type(gql, org, event["id"], name=name)
            data = await gql(
                CREATE_TIER,
                {
                    "input": {
                        "ticketTypeId": type_id,
                        "name": "Early bird",
                        "price": {"amount": "4000.00", "currency": "NGN"},
                        "maxQuantity": 10,
                    }
                },
                token=org.owner.token,
            )
            assert data["createPriceTier"]["errors"] == []
        await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)


async def statements_for_page(gql: GraphQLClient, db: Database, first: int) -> tuple[int, Any]:
    with counted_statements(db) as statements:
        data = await gql(PAGE, {"first": first})
    return len(statements), data


async def test_a_page_of_20_costs_no_more_statements_than_a_page_of_5(
    gql: GraphQLClient, make_settings: Callable[..., Settings]
) -> None:
    await seed(gql, 20)

    # The cost guard counts unbounded nested lists as 20 items each; this page asks for
    # every relation at once, beyond the default budget.
    async with running_app(make_settings(query_max_cost=500_000)) as (app, client):
        db = app.state.eventapi.db
        small, small_data = await statements_for_page(GraphQLClient(client), db, 5)
        large, large_data = await statements_for_page(GraphQLClient(client), db, 20)

    edges = large_data["events"]["edges"]
    assert len(small_data["events"]["edges"]) == 5
    assert len(edges) == 20
    assert all(len(e["node"]["ticketTypes"]) == 2 for e in edges)
    assert all(len(e["node"]["occurrences"]) == 2 for e in edges)
    assert all(e["node"]["venue"]["name"] == "Main Hall" for e in edges)
    assert all(e["node"]["seatmap"]["seatCount"] == 12 for e in edges)
    assert all(
        t["currentTier"]["name"] == "Early bird" and t["availability"]["available"] == 100
        for e in edges
        for t in e["node"]["ticketTypes"]
    )
    print(f"\nSQL statements: page of 5 = {small}, page of 20 = {large}")
    assert large == small
    assert large <= 15
