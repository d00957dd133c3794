"""Who may do what: managers and owners write, staff read, outsiders see nothing of drafts
(the same answer as for a missing row), anonymous callers must sign in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.schema.events import catalog
from tests.support import factories
from tests.support.factories import Cast
from tests.support.gql import GraphQLClient

Attempt = Callable[[GraphQLClient, Cast, dict[str, Any], dict[str, Any]], Awaitable[Any]]


async def setup(gql: GraphQLClient) -> tuple[Cast, dict[str, Any]]:
    crew = await factories.cast(gql)
    venue = await catalog.create_venue(gql, crew.org)
    event = await catalog.create_event(gql, crew.org, venueId=venue["id"])
    await catalog.add_ticket_type(gql, crew.org, event["id"])
    return crew, {"venue": venue["id"], "event": event["id"]}


MUTATIONS: dict[str, tuple[str, str, Callable[[Cast, dict[str, Any]], dict[str, Any]]]] = {
    "createVenue": (
        catalog.CREATE_VENUE,
        "createVenue",
        lambda c, ids: {"input": {"organizationId": c.org.id, "name": "X", "timezone": "UTC"}},
    ),
    "createSeatmap": (
        catalog.CREATE_SEATMAP,
        "createSeatmap",
        lambda c, ids: {
            "input": {"venueId": ids["venue"], "name": "X", "seats": catalog.seat_grid(1, 1, 2)}
        },
    ),
    "createEvent": (
        catalog.CREATE_EVENT,
        "createEvent",
        lambda c, ids: {"input": {"organizationId": c.org.id, "title": "X", "occurrences": []}},
    ),
    "updateEvent": (
        catalog.UPDATE_EVENT,
        "updateEvent",
        lambda c, ids: {"input": {"id": ids["event"], "title": "Changed"}},
    ),
    "publishEvent": (catalog.PUBLISH_EVENT, "publishEvent", lambda c, ids: {"id": ids["event"]}),
    "cancelEvent": (catalog.CANCEL_EVENT, "cancelEvent", lambda c, ids: {"id": ids["event"]}),
    "completeEvent": (
        catalog.COMPLETE_EVENT,
        "completeEvent",
        lambda c, ids: {"id": ids["event"]},
    ),
}

STATE = """
query($org: ID!, $event: ID!) {
  organization(id: $org) { events { totalCount } }
  event(id: $event) { title status }
  venues(organizationId: $org) { id }
}
"""


async def snapshot(gql: GraphQLClient, crew: Cast, ids: dict[str, Any]) -> Any:
    return await gql(STATE, {"org": crew.org.id, "event": ids["event"]}, token=crew.owner.token)


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_anonymous_callers_must_sign_in_and_change_nothing(
    gql: GraphQLClient, name: str
) -> None:
    crew, ids = await setup(gql)
    query, _, variables = MUTATIONS[name]
    before = await snapshot(gql, crew, ids)

    code = await gql.error_code(query, variables(crew, ids))

    assert code == "UNAUTHENTICATED"
    assert await snapshot(gql, crew, ids) == before


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_another_organization_gets_not_found_and_changes_nothing(
    gql: GraphQLClient, name: str
) -> None:
    crew, ids = await setup(gql)
    query, field, variables = MUTATIONS[name]
    before = await snapshot(gql, crew, ids)

    data = await gql(query, variables(crew, ids), token=crew.outsider.token)

    assert [e["code"] for e in data[field]["errors"]] == ["NOT_FOUND"]
    assert await snapshot(gql, crew, ids) == before


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_staff_are_forbidden_and_change_nothing(gql: GraphQLClient, name: str) -> None:
    crew, ids = await setup(gql)
    query, _, variables = MUTATIONS[name]
    before = await snapshot(gql, crew, ids)

    code = await gql.error_code(query, variables(crew, ids), token=crew.staff.token)

    assert code == "FORBIDDEN"
    assert await snapshot(gql, crew, ids) == before


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_managers_may(gql: GraphQLClient, name: str) -> None:
    crew, ids = await setup(gql)
    query, field, variables = MUTATIONS[name]
    if name == "completeEvent":  # an event that has taken place
        done = await catalog.published_event(
            gql, crew.org, occurrences=[catalog.past_occurrence(1)]
        )
        ids = {**ids, "event": done["id"]}

    data = await gql(query, variables(crew, ids), token=crew.manager.token)

    assert data[field]["errors"] == []


async def test_api_keys_need_the_events_write_scope(gql: GraphQLClient) -> None:
    crew, ids = await setup(gql)
    reader = await factories.create_api_key(gql, crew.org, ["events:read"])
    writer = await factories.create_api_key(gql, crew.org, ["events:write"])
    variables = {"input": {"id": ids["event"], "title": "By key"}}

    code = await gql.error_code(catalog.UPDATE_EVENT, variables, api_key=reader)
    data = await gql(catalog.UPDATE_EVENT, variables, api_key=writer)

    assert code == "FORBIDDEN"
    assert data["updateEvent"]["event"]["title"] == "By key"


async def test_a_draft_is_visible_to_members_and_keys_only(gql: GraphQLClient) -> None:
    crew, ids = await setup(gql)
    reader = await factories.create_api_key(gql, crew.org, ["events:read"])
    other_key = await factories.create_api_key(gql, crew.other_org, ["events:read"])
    variables = {"id": ids["event"]}

    seen = {
        who: (await gql(catalog.EVENT_BY_ID, variables, **how))["event"]
        for who, how in {
            "staff": {"token": crew.staff.token},
            "key": {"api_key": reader},
            "outsider": {"token": crew.outsider.token},
            "other key": {"api_key": other_key},
            "anonymous": {},
        }.items()
    }

    assert seen["staff"]["status"] == "DRAFT"
    assert seen["key"]["status"] == "DRAFT"
    assert seen["outsider"] is None
    assert seen["other key"] is None
    assert seen["anonymous"] is None


async def test_a_draft_is_not_found_by_slug_either(gql: GraphQLClient) -> None:
    crew, ids = await setup(gql)
    slug = (await gql(catalog.EVENT_BY_ID, {"id": ids["event"]}, token=crew.staff.token))["event"][
        "slug"
    ]

    anonymous = await gql(catalog.EVENT_BY_SLUG, {"slug": slug})
    member = await gql(catalog.EVENT_BY_SLUG, {"slug": slug}, token=crew.staff.token)

    assert anonymous["event"] is None
    assert member["event"]["id"] == ids["event"]


async def test_organization_events_lists_drafts_for_members_only(gql: GraphQLClient) -> None:
    crew, _ = await setup(gql)
    await catalog.published_event(gql, crew.org, title="Public")
    query = """
    query($id: ID!) { organization(id: $id) { events { totalCount edges { node { status } } } } }
    """

    staff = await gql(query, {"id": crew.org.id}, token=crew.staff.token)

    statuses = [e["node"]["status"] for e in staff["organization"]["events"]["edges"]]
    assert sorted(statuses) == ["DRAFT", "PUBLISHED"]
    assert staff["organization"]["events"]["totalCount"] == 2


async def test_an_events_organization_shows_outsiders_only_public_events(
    gql: GraphQLClient,
) -> None:
    crew, _ = await setup(gql)
    public = await catalog.published_event(gql, crew.org, title="Public")
    query = """
    query($id: ID!) {
      event(id: $id) { organization { events { totalCount edges { node { title } } } } }
    }
    """

    data = await gql(query, {"id": public["id"]})

    listing = data["event"]["organization"]["events"]
    assert listing["totalCount"] == 1
    assert [e["node"]["title"] for e in listing["edges"]] == ["Public"]


async def test_a_cancelled_draft_stays_hidden_but_a_cancelled_sale_stays_public(
    gql: GraphQLClient,
) -> None:
    crew, ids = await setup(gql)
    sold = await catalog.published_event(gql, crew.org, title="Was on sale")
    for event_id in (ids["event"], sold["id"]):
        await gql(catalog.CANCEL_EVENT, {"id": event_id}, token=crew.owner.token)

    draft = await gql(catalog.EVENT_BY_ID, {"id": ids["event"]}, token=crew.outsider.token)
    public = await gql(catalog.EVENT_BY_ID, {"id": sold["id"]}, token=crew.outsider.token)
    member = await gql(catalog.EVENT_BY_ID, {"id": ids["event"]}, token=crew.staff.token)

    assert draft["event"] is None
    assert public["event"]["status"] == "CANCELLED"
    assert member["event"]["status"] == "CANCELLED"
