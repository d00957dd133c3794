"""Bad input is a coded error and changes nothing: never a 500, never partial data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.schema.events import catalog
from tests.schema.events.catalog import occurrence
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

COUNTS = """
query($org: ID!) {
  organization(id: $org) { events { totalCount } }
  venues(organizationId: $org) { id }
}
"""


async def counts(gql: GraphQLClient, org: factories.TestOrg) -> tuple[int, int]:
    data = await gql(COUNTS, {"org": org.id}, token=org.owner.token)
    return data["organization"]["events"]["totalCount"], len(data["venues"])


EVENT_CASES: list[tuple[str, dict[str, Any], list[tuple[str, list[str] | None]]]] = [
    (
        "end before start",
        {"occurrences": [{"startsAt": catalog.at(0, 3), "endsAt": catalog.at(0)}]},
        [("VALIDATION", ["occurrences", "0", "endsAt"])],
    ),
    (
        "zero capacity",
        {"occurrences": [occurrence(capacity=0)]},
        [("VALIDATION", ["occurrences", "0", "capacity"])],
    ),
    (
        "negative capacity",
        {"occurrences": [occurrence(capacity=-5)]},
        [("VALIDATION", ["occurrences", "0", "capacity"])],
    ),
    ("empty title", {"title": "   "}, [("VALIDATION", ["title"])]),
    ("overlong title", {"title": "x" * 201}, [("VALIDATION", ["title"])]),
    (
        "negative refund deadline",
        {"policies": {"refundDeadlineHours": -1}},
        [("VALIDATION", ["policies", "refundDeadlineHours"])],
    ),
    (
        "two dates at once",
        {"occurrences": [occurrence(0), occurrence(0, hours=5)]},
        [("VALIDATION", ["occurrences"])],
    ),
    ("malformed venue id", {"venueId": "nope"}, [("VALIDATION", ["venueId"])]),
    (
        "unknown venue",
        {"venueId": "01900000-0000-7000-8000-000000000000"},
        [("NOT_FOUND", ["venueId"])],
    ),
    (
        "recurrence ending before it starts",
        {
            "occurrences": [],
            "recurrence": {
                "rule": "FREQ=WEEKLY;COUNT=2",
                "startsAt": catalog.at(0, 2),
                "endsAt": catalog.at(0),
            },
        },
        [("VALIDATION", ["recurrence", "endsAt"])],
    ),
    *[
        (
            f"recurrence COUNT {label}",
            {
                "occurrences": [],
                "recurrence": {
                    "rule": f"FREQ=WEEKLY;COUNT={count}",
                    "startsAt": catalog.at(0),
                    "endsAt": catalog.at(0, 2),
                },
            },
            [("VALIDATION", ["recurrence.rule"])],
        )
        for label, count in (("in superscript", "\u00b2"), ("of 5000 digits", "9" * 5000))
    ],
    (
        "several problems at once",
        {"title": "", "occurrences": [occurrence(capacity=0)]},
        [("VALIDATION", ["title"]), ("VALIDATION", ["occurrences", "0", "capacity"])],
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES]
)
async def test_bad_event_input_is_refused_whole(
    gql: GraphQLClient, fields: dict[str, Any], expected: list[tuple[str, list[str] | None]]
) -> None:
    org = await factories.create_org(gql)
    values = {"organizationId": org.id, "title": "Fine", "occurrences": [occurrence()], **fields}

    data = await gql(catalog.CREATE_EVENT, {"input": values}, token=org.owner.token)

    assert payload_errors(data["createEvent"]) == expected
    assert data["createEvent"]["event"] is None
    assert await counts(gql, org) == (0, 0)


async def test_times_without_an_offset_are_refused_before_anything_runs(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)
    values = {
        "organizationId": org.id,
        "title": "Floating",
        "occurrences": [{"startsAt": "2031-06-06T19:00:00", "endsAt": "2031-06-06T22:00:00"}],
    }

    code = await gql.error_code(catalog.CREATE_EVENT, {"input": values}, token=org.owner.token)

    assert code == "BAD_USER_INPUT"
    assert await counts(gql, org) == (0, 0)


async def test_another_organizations_venue_is_not_found(gql: GraphQLClient) -> None:
    crew = await factories.cast(gql)
    theirs = await catalog.create_venue(gql, crew.other_org)

    data = await gql(
        catalog.CREATE_EVENT,
        {
            "input": {
                "organizationId": crew.org.id,
                "title": "Borrowed",
                "occurrences": [],
                "venueId": theirs["id"],
            }
        },
        token=crew.owner.token,
    )

    assert payload_errors(data["createEvent"]) == [("NOT_FOUND", ["venueId"])]


async def test_a_seatmap_of_another_venue_is_refused(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    hall = await catalog.create_venue(gql, org, name="Hall")
    arena = await catalog.create_venue(gql, org, name="Arena")
    seatmap = await catalog.create_seatmap(gql, org, arena["id"])

    data = await gql(
        catalog.CREATE_EVENT,
        {
            "input": {
                "organizationId": org.id,
                "title": "Mixed up",
                "occurrences": [],
                "venueId": hall["id"],
                "seatmapId": seatmap["id"],
            }
        },
        token=org.owner.token,
    )

    assert payload_errors(data["createEvent"]) == [("NOT_FOUND", ["seatmapId"])]
    assert (await counts(gql, org))[0] == 0


async def test_a_seatmap_alone_brings_its_venue(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    arena = await catalog.create_venue(gql, org, name="Arena", timezone="America/New_York")
    seatmap = await catalog.create_seatmap(gql, org, arena["id"])

    event = await catalog.create_event(gql, org, seatmapId=seatmap["id"])

    assert event["venue"]["id"] == arena["id"]
    assert event["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timezone": "Mars/Olympus"}, [("VALIDATION", ["timezone"])]),
        ({"timezone": "../../etc/passwd"}, [("VALIDATION", ["timezone"])]),
        ({"name": ""}, [("VALIDATION", ["name"])]),
        ({"organizationId": "not-an-id"}, [("VALIDATION", ["organizationId"])]),
    ],
)
async def test_bad_venue_input_is_refused(
    gql: GraphQLClient, fields: dict[str, Any], expected: list[tuple[str, list[str] | None]]
) -> None:
    org = await factories.create_org(gql)
    values = {"organizationId": org.id, "name": "Hall", "timezone": "UTC", **fields}

    data = await gql(catalog.CREATE_VENUE, {"input": values}, token=org.owner.token)

    assert payload_errors(data["createVenue"]) == expected
    assert await counts(gql, org) == (0, 0)


async def test_duplicate_seats_through_the_api_name_a_few_and_store_nothing(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org)
    seats = catalog.seat_grid(1, 1, 3) * 2

    data = await gql(
        catalog.CREATE_SEATMAP,
        {"input": {"venueId": venue["id"], "name": "Twice", "seats": seats}},
        token=org.owner.token,
    )

    errors = data["createSeatmap"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("VALIDATION", ["seats"])]
    assert "S1/R1/1, S1/R1/2, S1/R1/3" in errors[0]["message"]
    seatmaps = await gql(
        "query($id: ID!) { seatmap(id: $id) { id } }",
        {"id": "01900000-0000-7000-8000-000000000000"},
        token=org.owner.token,
    )
    assert seatmaps["seatmap"] is None


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_sizes_outside_1_to_100_are_refused(gql: GraphQLClient, first: int) -> None:
    errors = await gql.errors("query($n: Int) { events(first: $n) { totalCount } }", {"n": first})

    assert errors[0]["extensions"]["code"] == "VALIDATION"
    assert "between 1 and 100" in errors[0]["message"]


@pytest.mark.parametrize("after", ["!!!", "bm90IGEgY3Vyc29y", "eHx5"])
async def test_malformed_cursors_are_bad_user_input(gql: GraphQLClient, after: str) -> None:
    code = await gql.error_code(
        "query($a: String) { events(after: $a) { totalCount } }", {"a": after}
    )

    assert code == "BAD_USER_INPUT"


async def test_event_needs_exactly_one_of_id_and_slug(gql: GraphQLClient) -> None:
    neither = await gql.error_code("{ event { id } }")
    both = await gql.error_code(
        'query { event(id: "01900000-0000-7000-8000-000000000000", slug: "x") { id } }'
    )
    malformed = await gql.error_code('{ event(id: "nope") { id } }')

    assert (neither, both, malformed) == ("BAD_USER_INPUT",) * 3


async def test_an_unknown_slug_or_id_is_null(gql: GraphQLClient) -> None:
    data = await gql(
        'query { a: event(slug: "nothing-here") { id } '
        'b: event(id: "01900000-0000-7000-8000-000000000000") { id } }'
    )

    assert data == {"a": None, "b": None}
