"""The public listing: published events only, title search, a date filter, and keyset
pagination with a total count."""

from __future__ import annotations

from typing import Any

from tests.schema.events import catalog
from tests.schema.events.catalog import occurrence
from tests.support import factories
from tests.support.gql import GraphQLClient

LIST = """
query List($search: String, $startsAfter: DateTime, $first: Int, $after: String) {
  events(search: $search, startsAfter: $startsAfter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { title status startsAt } }
  }
}
"""


async def listing(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    return dict((await gql(LIST, variables))["events"])


def titles(page: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in page["edges"]]


async def test_only_published_events_are_listed_in_date_order(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    await catalog.published_event(gql, org, title="Later", occurrences=[occurrence(10)])
    await catalog.published_event(gql, org, title="Sooner", occurrences=[occurrence(2)])
    await catalog.create_event(gql, org, title="Draft")
    done = await catalog.published_event(
        gql, org, title="Done", occurrences=[catalog.past_occurrence(1)]
    )
    await gql(catalog.COMPLETE_EVENT, {"id": done["id"]}, token=org.owner.token)
    off = await catalog.published_event(gql, org, title="Off", occurrences=[occurrence(3)])
    await gql(catalog.CANCEL_EVENT, {"id": off["id"]}, token=org.owner.token)

    page = await listing(gql)

    assert titles(page) == ["Sooner", "Later"]
    assert page["totalCount"] == 2
    assert {e["node"]["status"] for e in page["edges"]} == {"PUBLISHED"}


async def test_search_matches_part_of_the_title_in_any_case(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    for i, title in enumerate(["Lagos Jazz Festival", "JAZZ brunch", "Rock Night", "100% Pure"]):
        await catalog.published_event(gql, org, title=title, occurrences=[occurrence(i)])

    jazz = await listing(gql, search="jAzZ")
    percent = await listing(gql, search="100%")
    underscore = await listing(gql, search="_")
    blank = await listing(gql, search="  ")

    assert titles(jazz) == ["Lagos Jazz Festival", "JAZZ brunch"]
    assert jazz["totalCount"] == 2
    assert titles(percent) == ["100% Pure"]
    assert titles(underscore) == []
    assert blank["totalCount"] == 4


async def test_starts_after_keeps_events_with_a_date_at_or_after_it(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    await catalog.published_event(gql, org, title="Past", occurrences=[occurrence(1)])
    await catalog.published_event(
        gql, org, title="Weekly", occurrences=[occurrence(0), occurrence(7), occurrence(14)]
    )
    await catalog.published_event(gql, org, title="Future", occurrences=[occurrence(20)])

    page = await listing(gql, startsAfter=catalog.at(5))

    assert titles(page) == ["Weekly", "Future"]
    assert page["totalCount"] == 2


async def test_pages_follow_each_other_without_gaps_or_repeats(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    for i in range(7):
        # Two events per date, so the id breaks ties inside the cursor.
        await catalog.published_event(gql, org, title=f"E{i}", occurrences=[occurrence(i // 2)])

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await listing(gql, first=3, after=after)
        assert page["totalCount"] == 7
        seen.extend(titles(page))
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]

    assert pages == 3
    assert seen == [f"E{i}" for i in range(7)]


async def test_an_empty_listing_has_no_cursor(gql: GraphQLClient) -> None:
    page = await listing(gql)

    assert page == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_an_event_is_found_by_slug_and_by_id(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org, title="Afrobeat Live")

    by_slug = await gql(catalog.EVENT_BY_SLUG, {"slug": "afrobeat-live"})
    by_id = await gql(catalog.EVENT_BY_ID, {"id": event["id"]})

    assert by_slug["event"]["id"] == event["id"]
    assert by_id["event"] == by_slug["event"]


async def test_organization_events_paginate_newest_first_and_filter_by_status(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)
    for i in range(3):
        await catalog.create_event(gql, org, title=f"Draft {i}")
    await catalog.published_event(gql, org, title="Live")
    query = """
    query($id: ID!, $status: EventStatus, $after: String) {
      organization(id: $id) {
        events(status: $status, first: 2, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { title } }
        }
      }
    }
    """

    first = await gql(query, {"id": org.id, "status": "DRAFT"}, token=org.owner.token)
    page = first["organization"]["events"]
    second = await gql(
        query,
        {"id": org.id, "status": "DRAFT", "after": page["pageInfo"]["endCursor"]},
        token=org.owner.token,
    )
    rest = second["organization"]["events"]

    assert page["totalCount"] == 3
    assert titles(page) == ["Draft 2", "Draft 1"]
    assert titles(rest) == ["Draft 0"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_events_of_a_deleted_organization_disappear(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org, title="Gone")
    await catalog.published_event(gql, await factories.create_org(gql), title="Staying")

    deleted = await gql(
        "mutation($id: ID!) { deleteOrganization(id: $id) }", {"id": org.id}, token=org.owner.token
    )

    assert deleted["deleteOrganization"] is True
    assert titles(await listing(gql)) == ["Staying"]
    assert (await gql(catalog.EVENT_BY_ID, {"id": event["id"]}))["event"] is None
