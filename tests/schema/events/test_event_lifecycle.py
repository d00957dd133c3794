"""Creating, editing, publishing, cancelling and completing events through the API."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from server.db import Database
from server.events.models import EventOccurrence
from server.outbox.models import OutboxEvent
from server.ticketing.models import Inventory
from tests.schema.events import catalog
from tests.schema.events.catalog import occurrence, past_occurrence
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors


async def outbox(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.read() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(r.event_type, dict(r.payload)) for r in rows]


async def test_an_event_takes_its_venue_time_zone_policies_and_dates(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org, timezone="Europe/Berlin")

    event = await catalog.create_event(
        gql,
        org,
        title="Schöne Nacht: Jazz & Soul!",
        description="Late set.",
        venueId=venue["id"],
        occurrences=[occurrence(days=7), occurrence(days=0, capacity=500)],
        policies={
            "refundPolicy": "Full refund up to 48 hours before.",
            "transferAllowed": False,
            "cancellationPolicy": "Refunded in full.",
            "refundDeadlineHours": 48,
        },
    )

    assert event["status"] == "DRAFT"
    assert event["slug"] == "schone-nacht-jazz-soul"
    assert event["timezone"] == "Europe/Berlin"
    assert event["venue"] == {"id": venue["id"], "name": "Main Hall", "timezone": "Europe/Berlin"}
    assert [(o["startsAt"], o["capacity"]) for o in event["occurrences"]] == [
        (catalog.at(0), 500),
        (catalog.at(7), None),
    ]
    assert event["startsAt"] == catalog.at(0)
    assert event["lastStartsAt"] == catalog.at(7)
    assert event["policies"] == {
        "refundPolicy": "Full refund up to 48 hours before.",
        "transferAllowed": False,
        "cancellationPolicy": "Refunded in full.",
        "refundDeadlineHours": 48,
    }
    assert event["organization"] == {"id": org.id}


async def test_without_a_venue_the_event_is_in_utc(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    event = await catalog.create_event(gql, org)

    assert event["timezone"] == "UTC"
    assert event["venue"] is None
    assert event["policies"]["transferAllowed"] is True


async def test_titles_that_slugify_alike_get_distinct_slugs(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    slugs = [
        (await catalog.create_event(gql, org, title=title))["slug"]
        for title in ("Jazz Night", "jazz night", "JAZZ -- NIGHT", "🎷")
    ]

    assert slugs == ["jazz-night", "jazz-night-2", "jazz-night-3", "event"]


async def test_a_recurrence_rule_adds_weekly_dates_in_the_venue_zone(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    venue = await catalog.create_venue(gql, org, timezone="Europe/Berlin")

    event = await catalog.create_event(
        gql,
        org,
        venueId=venue["id"],
        occurrences=[],
        recurrence={
            "rule": "FREQ=WEEKLY;COUNT=3",
            "startsAt": "2026-03-15T20:00:00+01:00",
            "endsAt": "2026-03-15T23:00:00+01:00",
            "capacity": 200,
        },
    )

    assert [(o["startsAt"], o["endsAt"], o["capacity"]) for o in event["occurrences"]] == [
        ("2026-03-15T19:00:00+00:00", "2026-03-15T22:00:00+00:00", 200),
        ("2026-03-22T19:00:00+00:00", "2026-03-22T22:00:00+00:00", 200),
        ("2026-03-29T18:00:00+00:00", "2026-03-29T21:00:00+00:00", 200),
    ]


async def test_an_invalid_rule_is_a_validation_error_and_creates_nothing(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)

    data = await gql(
        catalog.CREATE_EVENT,
        {
            "input": {
                "organizationId": org.id,
                "title": "Forever",
                "occurrences": [],
                "recurrence": {
                    "rule": "FREQ=DAILY",
                    "startsAt": catalog.at(0),
                    "endsAt": catalog.at(0, 2),
                },
            }
        },
        token=org.owner.token,
    )

    assert payload_errors(data["createEvent"]) == [("VALIDATION", ["recurrence.rule"])]
    org_events = await gql(
        "query($id: ID!) { organization(id: $id) { events { totalCount } } }",
        {"id": org.id},
        token=org.owner.token,
    )
    assert org_events["organization"]["events"]["totalCount"] == 0


async def test_update_changes_details_and_adds_dates_with_inventory(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(
        gql, org, description="Old", policies={"refundPolicy": "Old policy"}
    )
    await catalog.add_ticket_type(gql, org, event["id"], quantity=50)

    data = await gql(
        catalog.UPDATE_EVENT,
        {
            "input": {
                "id": event["id"],
                "title": "Jazz Night II",
                "policies": {"refundDeadlineHours": 24},
                "addOccurrences": [occurrence(days=14)],
                "addRecurrence": {
                    "rule": "FREQ=DAILY;COUNT=2",
                    "startsAt": catalog.at(30),
                    "endsAt": catalog.at(30, 2),
                },
            }
        },
        token=org.owner.token,
    )

    updated = data["updateEvent"]["event"]
    assert data["updateEvent"]["errors"] == []
    assert updated["title"] == "Jazz Night II"
    assert updated["slug"] == event["slug"]
    assert updated["description"] == "Old"
    assert updated["policies"]["refundPolicy"] == "Old policy"
    assert updated["policies"]["refundDeadlineHours"] == 24
    assert [o["startsAt"] for o in updated["occurrences"]] == [
        catalog.at(0),
        catalog.at(14),
        catalog.at(30),
        catalog.at(31),
    ]
    assert updated["lastStartsAt"] == catalog.at(31)
    async with db.read() as session:
        occurrence_ids = set(
            await session.scalars(
                select(EventOccurrence.id).where(EventOccurrence.event_id == uuid.UUID(event["id"]))
            )
        )
        stocked = list(
            await session.execute(
                select(Inventory.occurrence_id, Inventory.quantity).where(
                    Inventory.event_id == uuid.UUID(event["id"])
                )
            )
        )
    assert {o for o, _ in stocked} == occurrence_ids
    assert {q for _, q in stocked} == {50}


async def test_null_clears_a_description_and_a_policy(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(
        gql, org, description="Old", policies={"refundPolicy": "Old", "refundDeadlineHours": 3}
    )

    data = await gql(
        catalog.UPDATE_EVENT,
        {"input": {"id": event["id"], "description": None, "policies": {"refundPolicy": None}}},
        token=org.owner.token,
    )

    updated = data["updateEvent"]["event"]
    assert updated["description"] is None
    assert updated["policies"]["refundPolicy"] is None
    assert updated["policies"]["refundDeadlineHours"] == 3


async def test_a_date_already_taken_is_refused_and_nothing_changes(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)

    data = await gql(
        catalog.UPDATE_EVENT,
        {"input": {"id": event["id"], "title": "New", "addOccurrences": [occurrence(0)]}},
        token=org.owner.token,
    )

    assert payload_errors(data["updateEvent"]) == [("VALIDATION", ["addOccurrences"])]
    again = await gql(catalog.EVENT_BY_ID, {"id": event["id"]}, token=org.owner.token)
    assert again["event"]["title"] == "Jazz Night"
    assert len(again["event"]["occurrences"]) == 1


async def test_publishing_needs_a_date_and_a_ticket_type(gql: GraphQLClient, db: Database) -> None:
    org = await factories.create_org(gql)
    no_dates = await catalog.create_event(gql, org, occurrences=[])
    no_types = await catalog.create_event(gql, org)

    for event in (no_dates, no_types):
        data = await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)
        assert payload_errors(data["publishEvent"]) == [("INVALID_STATE", None)]
    assert await outbox(db) == []


async def test_publish_then_complete_emits_the_published_event(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org, occurrences=[past_occurrence(1)])

    done = await gql(catalog.COMPLETE_EVENT, {"id": event["id"]}, token=org.owner.token)

    assert done["completeEvent"] == {
        "event": {"id": event["id"], "status": "COMPLETED"},
        "errors": [],
    }
    assert await outbox(db) == [
        (
            "event.published",
            {
                "eventId": event["id"],
                "slug": event["slug"],
                "title": "Jazz Night",
                "organizationId": org.id,
            },
        )
    ]


async def test_cancelling_records_the_reason_and_emits_event_cancelled(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)

    data = await gql(
        catalog.CANCEL_EVENT,
        {"id": event["id"], "reason": " Storm warning "},
        token=org.owner.token,
    )

    assert data["cancelEvent"]["event"] == {
        "id": event["id"],
        "status": "CANCELLED",
        "cancelReason": "Storm warning",
    }
    assert (await outbox(db))[-1] == (
        "event.cancelled",
        {
            "eventId": event["id"],
            "slug": event["slug"],
            "title": "Jazz Night",
            "organizationId": org.id,
            "reason": "Storm warning",
        },
    )


async def test_a_draft_can_be_cancelled_but_not_completed(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)

    completed = await gql(catalog.COMPLETE_EVENT, {"id": event["id"]}, token=org.owner.token)
    cancelled = await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token)

    assert payload_errors(completed["completeEvent"]) == [("INVALID_STATE", None)]
    assert cancelled["cancelEvent"]["event"]["status"] == "CANCELLED"


async def test_closed_events_refuse_every_transition_and_edit(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token)
    before = await outbox(db)

    results = [
        (await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token))[
            "publishEvent"
        ],
        (await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token))[
            "cancelEvent"
        ],
        (await gql(catalog.COMPLETE_EVENT, {"id": event["id"]}, token=org.owner.token))[
            "completeEvent"
        ],
        (
            await gql(
                catalog.UPDATE_EVENT,
                {"input": {"id": event["id"], "title": "Again"}},
                token=org.owner.token,
            )
        )["updateEvent"],
    ]

    assert [payload_errors(r) for r in results] == [[("INVALID_STATE", None)]] * 4
    assert await outbox(db) == before


async def test_concurrent_events_with_one_title_all_get_distinct_slugs(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    events = await asyncio.gather(
        *(catalog.create_event(gql, org, title="Flash Sale") for _ in range(6))
    )

    slugs = [e["slug"] for e in events]
    assert len(set(slugs)) == 6
    assert all(s.startswith("flash-sale") for s in slugs)


@pytest.mark.parametrize(
    "dates",
    [[occurrence(days=2)], [past_occurrence(3), occurrence(days=4)]],
    ids=["only-future", "one-date-still-to-come"],
)
async def test_an_event_with_a_date_still_to_begin_cannot_be_completed(
    gql: GraphQLClient, db: Database, dates: list[dict[str, object]]
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org, occurrences=dates)
    before = await outbox(db)

    data = await gql(catalog.COMPLETE_EVENT, {"id": event["id"]}, token=org.owner.token)

    assert payload_errors(data["completeEvent"]) == [("INVALID_STATE", None)]
    assert "last date" in data["completeEvent"]["errors"][0]["message"]
    again = await gql(catalog.EVENT_BY_ID, {"id": event["id"]}, token=org.owner.token)
    assert again["event"]["status"] == "PUBLISHED"
    assert await outbox(db) == before


async def test_an_event_whose_last_date_has_begun_can_be_completed(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(
        gql, org, occurrences=[past_occurrence(8), past_occurrence(0.01)]
    )

    data = await gql(catalog.COMPLETE_EVENT, {"id": event["id"]}, token=org.owner.token)

    assert data["completeEvent"]["errors"] == []
    assert data["completeEvent"]["event"]["status"] == "COMPLETED"
