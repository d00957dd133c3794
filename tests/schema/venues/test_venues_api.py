"""Venues and seatmaps through the API, up to a 50,000-seat stadium in one call."""

from __future__ import annotations

import time
from collections.abc import Callable

from server.config import Settings
from tests.conftest import running_app
from tests.schema.events import catalog
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

SEATMAP = """
query($id: ID!, $section: String) {
  seatmap(id: $id) { id name seatCount seats(section: $section) { id section row number } }
}
"""
VENUES = "query($org: ID!) { venues(organizationId: $org) { id name address timezone } }"


async def test_a_venue_is_created_and_listed_for_members(gql: GraphQLClient) -> None:
    crew = await factories.cast(gql)

    data = await gql(
        catalog.CREATE_VENUE,
        {
            "input": {
                "organizationId": crew.org.id,
                "name": "  Eko Convention Centre ",
                "address": "Victoria Island, Lagos",
                "timezone": "Africa/Lagos",
            }
        },
        token=crew.manager.token,
    )
    venue = data["createVenue"]["venue"]
    listed = await gql(VENUES, {"org": crew.org.id}, token=crew.staff.token)
    outsider = await gql.error_code(VENUES, {"org": crew.org.id}, token=crew.outsider.token)

    assert venue["name"] == "Eko Convention Centre"
    assert listed["venues"] == [venue]
    assert outsider == "NOT_FOUND"


async def test_a_seatmap_keeps_its_seats_in_the_order_given(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org)
    seats = [
        {"section": "B", "row": "2", "number": "10"},
        {"section": "A", "row": "1", "number": "1"},
        {"section": "B", "row": "2", "number": "9"},
    ]

    seatmap = await catalog.create_seatmap(gql, org, venue["id"], seats=seats, name="Club")
    whole = await gql(SEATMAP, {"id": seatmap["id"]}, token=org.owner.token)
    section_b = await gql(SEATMAP, {"id": seatmap["id"], "section": "B"}, token=org.owner.token)
    anonymous = await gql.error_code(SEATMAP, {"id": seatmap["id"]})

    assert seatmap["seatCount"] == 3
    assert [{k: s[k] for k in ("section", "row", "number")} for s in whole["seatmap"]["seats"]] == (
        seats
    )
    assert [s["number"] for s in section_b["seatmap"]["seats"]] == ["10", "9"]
    assert anonymous == "UNAUTHENTICATED"


async def test_a_50000_seat_stadium_in_one_call_with_seat_ranges(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org, name="Stadium")
    ranges = [
        {"section": f"S{s:02}", "row": f"R{r:02}", "first": 1, "last": 50}
        for s in range(40)
        for r in range(25)
    ]

    started = time.perf_counter()
    data = await gql(
        catalog.CREATE_SEATMAP,
        {"input": {"venueId": venue["id"], "name": "Full", "seats": [], "seatRanges": ranges}},
        token=org.owner.token,
    )
    elapsed = time.perf_counter() - started
    print(f"\n50,000 seats through the API (seatRanges): {elapsed:.2f}s")

    assert data["createSeatmap"]["errors"] == []
    assert data["createSeatmap"]["seatmap"]["seatCount"] == 50_000


async def test_a_50000_seat_list_in_one_call_when_the_body_limit_allows(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(max_body_size=4_000_000)) as (_, client):
        gql = GraphQLClient(client)
        org = await factories.create_org(gql)
        venue = await catalog.create_venue(gql, org, name="Stadium")
        seats = catalog.seat_grid(50, 40, 25)

        started = time.perf_counter()
        data = await gql(
            catalog.CREATE_SEATMAP,
            {"input": {"venueId": venue["id"], "name": "Listed", "seats": seats}},
            token=org.owner.token,
        )
        elapsed = time.perf_counter() - started
    print(f"\n50,000 listed seats through the API: {elapsed:.2f}s")

    assert data["createSeatmap"]["errors"] == []
    assert data["createSeatmap"]["seatmap"]["seatCount"] == 50_000


async def test_a_seatmap_needs_seats_and_an_existing_venue(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org)

    empty = await gql(
        catalog.CREATE_SEATMAP,
        {"input": {"venueId": venue["id"], "name": "Empty", "seats": []}},
        token=org.owner.token,
    )
    unknown = await gql(
        catalog.CREATE_SEATMAP,
        {
            "input": {
                "venueId": "01900000-0000-7000-8000-000000000000",
                "name": "Nowhere",
                "seats": catalog.seat_grid(1, 1, 1),
            }
        },
        token=org.owner.token,
    )
    huge_range = await gql(
        catalog.CREATE_SEATMAP,
        {
            "input": {
                "venueId": venue["id"],
                "name": "Endless",
                "seats": [],
                "seatRanges": [{"section": "A", "row": "1", "first": 1, "last": 10_000_000}],
            }
        },
        token=org.owner.token,
    )

    assert payload_errors(empty["createSeatmap"]) == [("VALIDATION", ["seats"])]
    assert payload_errors(unknown["createSeatmap"]) == [("NOT_FOUND", ["venueId"])]
    assert payload_errors(huge_range["createSeatmap"]) == [
        ("VALIDATION", ["seatRanges", "0"]),
        ("VALIDATION", ["seats"]),
    ]
