"""The public event page as a whole response in the shared response cache: served to
anonymous callers from Redis, never after a committed change to what it shows, and never
past the next moment its prices or availability change by the clock."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from server.app_state import AppState
from server.cache import tagged_cache
from tests.schema.events import catalog
from tests.support import factories
from tests.support.gql import GraphQLClient

PAGE = """
query Page($slug: String) {
  event(slug: $slug) {
    title status
    occurrences { startsAt }
    ticketTypes { name currentPrice { amount } availability { available held status } }
  }
}
"""
CREATE_HOLD = """
mutation Hold($input: CreateHoldInput!) {
  createHold(input: $input) { hold { id } errors { code message } }
}
"""
CREATE_TIER = """
mutation Tier($input: CreatePriceTierInput!) {
  createPriceTier(input: $input) { errors { code message } }
}
"""


async def page(gql: GraphQLClient, slug: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    response = await gql.raw(PAGE, {"slug": slug}, operation_name="Page", **kw)
    body = response.json()
    assert "errors" not in body, body
    return response.headers.get("x-cache", ""), body["data"]["event"]


async def entry_ttl_ms(state: AppState, redis: Redis, slug: str) -> int:
    digest = hashlib.sha256(PAGE.encode()).hexdigest()
    variables = orjson.dumps({"slug": slug}, option=orjson.OPT_SORT_KEYS).decode()
    key = tagged_cache(state).entry_key("graphql-response", f"{digest}\x00Page\x00{variables}")
    return int(await redis.pttl(key))


async def published(gql: GraphQLClient) -> tuple[factories.TestOrg, dict[str, Any], str]:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    type_id = await catalog.add_ticket_type(gql, org, event["id"], quantity=50)
    await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)
    return org, event, type_id


async def test_the_second_anonymous_read_is_served_whole_from_the_cache(
    gql: GraphQLClient,
) -> None:
    _, event, _ = await published(gql)

    first = await page(gql, event["slug"])
    second = await page(gql, event["slug"])

    assert first[0] == "MISS"
    assert second == ("HIT", first[1])


async def test_an_edit_a_new_ticket_type_and_a_hold_each_show_at_once(
    gql: GraphQLClient,
) -> None:
    org, event, type_id = await published(gql)
    await page(gql, event["slug"])

    await gql(
        catalog.UPDATE_EVENT,
        {"input": {"id": event["id"], "title": "Renamed"}},
        token=org.owner.token,
    )
    after_edit = await page(gql, event["slug"])
    await catalog.add_ticket_type(gql, org, event["id"], name="VIP")
    after_type = await page(gql, event["slug"])
    expires = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    hold = await gql(
        CREATE_HOLD,
        {"input": {"ticketTypeId": type_id, "quantity": 5, "expiresAt": expires}},
        token=org.owner.token,
    )
    assert hold["createHold"]["errors"] == []
    after_hold = await page(gql, event["slug"])

    assert after_edit[0] == "MISS" and after_edit[1]["title"] == "Renamed"
    assert after_type[0] == "MISS"
    assert [t["name"] for t in after_type[1]["ticketTypes"]] == ["General", "VIP"]
    assert after_hold[0] == "MISS"
    general = after_hold[1]["ticketTypes"][0]["availability"]
    assert (general["available"], general["held"]) == (45, 5)


async def test_the_entry_lives_no_longer_than_the_next_tier_change(
    gql: GraphQLClient, state: AppState, redis: Redis
) -> None:
    org, event, type_id = await published(gql)
    starts = datetime.now(UTC) + timedelta(minutes=10)
    data = await gql(
        CREATE_TIER,
        {
            "input": {
                "ticketTypeId": type_id,
                "name": "Late",
                "price": {"amount": "7000.00", "currency": "NGN"},
                "startsAt": starts.isoformat(),
            }
        },
        token=org.owner.token,
    )
    assert data["createPriceTier"]["errors"] == []

    await page(gql, event["slug"])
    ttl = await entry_ttl_ms(state, redis, event["slug"])

    assert 0 < ttl <= 10 * 60 * 1000


async def test_the_entry_lives_no_longer_than_the_next_hold_expiry(
    gql: GraphQLClient, state: AppState, redis: Redis
) -> None:
    org, event, type_id = await published(gql)
    expires = datetime.now(UTC) + timedelta(minutes=3)
    await gql(
        CREATE_HOLD,
        {"input": {"ticketTypeId": type_id, "quantity": 2, "expiresAt": expires.isoformat()}},
        token=org.owner.token,
    )

    await page(gql, event["slug"])
    ttl = await entry_ttl_ms(state, redis, event["slug"])

    assert 0 < ttl <= 3 * 60 * 1000


async def test_members_and_hold_tokens_are_never_served_a_shared_answer(
    gql: GraphQLClient,
) -> None:
    org, event, _ = await published(gql)
    query = "query($slug: String, $token: String) { event(slug: $slug) { ticketTypes(holdToken: $token) { name } } }"

    member = [
        (await gql.raw(PAGE, {"slug": event["slug"]}, token=org.owner.token)).headers.get("x-cache")
        for _ in range(2)
    ]
    with_token = [
        (await gql.raw(query, {"slug": event["slug"], "token": "some-token"})).headers.get(
            "x-cache"
        )
        for _ in range(2)
    ]

    assert member == [None, None]
    assert with_token == ["MISS", "MISS"]


async def test_an_organization_listing_inside_the_page_is_not_shared(gql: GraphQLClient) -> None:
    _, event, _ = await published(gql)
    query = "query($id: ID) { event(id: $id) { organization { events { totalCount } } } }"

    answers = [(await gql.raw(query, {"id": event["id"]})).headers.get("x-cache") for _ in range(2)]

    assert answers == ["MISS", "MISS"]


async def test_an_unknown_slug_is_not_cached(gql: GraphQLClient) -> None:
    slug = f"nothing-{uuid.uuid4().hex[:6]}"

    answers = [(await gql.raw(PAGE, {"slug": slug})).headers.get("x-cache") for _ in range(2)]

    assert answers == ["MISS", "MISS"]
