from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server.db import Database
from tests.schema.promotions.helpers import PROMOTIONS, counts, create_promotion
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors


async def test_a_manager_creates_a_percentage_promotion_with_several_codes(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)

    payload = await create_promotion(
        gql,
        cast.org.id,
        token=cast.manager.token,
        codes=["Spring-20", "vip_spring"],
        maxUses=100,
        maxUsesPerUser=2,
        expiresAt=expires.isoformat(),
    )

    assert payload["errors"] == []
    promotion = payload["promotion"]
    assert (promotion["name"], promotion["kind"], promotion["percentOff"]) == (
        "Spring sale",
        "PERCENTAGE",
        20,
    )
    assert promotion["eventId"] is None
    assert promotion["amountOff"] is None
    assert [c["code"] for c in promotion["codes"]] == ["Spring-20", "vip_spring"]
    for code in promotion["codes"]:
        assert (code["maxUses"], code["maxUsesPerUser"], code["used"]) == (100, 2, 0)
        assert datetime.fromisoformat(code["expiresAt"]) == expires


async def test_a_fixed_amount_promotion_for_one_event(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, currency="USD")

    payload = await create_promotion(
        gql,
        sale.org.id,
        token=sale.org.owner.token,
        eventId=sale.event_id,
        kind="FIXED_AMOUNT",
        percentOff=...,
        amountOff={"amount": "7.5", "currency": "usd"},
        codes=["TAKE750"],
    )

    assert payload["errors"] == []
    promotion = payload["promotion"]
    assert promotion["eventId"] == sale.event_id
    assert promotion["amountOff"] == {"amount": "7.50", "currency": "USD"}
    assert promotion["percentOff"] is None


async def test_a_buy_x_get_y_promotion(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    payload = await create_promotion(
        gql,
        org.id,
        token=org.owner.token,
        kind="BUY_X_GET_Y",
        percentOff=...,
        buyQuantity=3,
        getQuantity=1,
        codes=["FOURFORTHREE"],
    )

    assert payload["errors"] == []
    assert (payload["promotion"]["buyQuantity"], payload["promotion"]["getQuantity"]) == (3, 1)


async def test_codes_taken_in_the_organization_whatever_their_case_are_named(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    first = await create_promotion(gql, org.id, token=org.owner.token, codes=["SUMMER", "Sun"])
    assert first["errors"] == []

    clash = await create_promotion(
        gql, org.id, token=org.owner.token, codes=["brand-new", "summer", "SUN"]
    )

    assert payload_errors(clash) == [("CONFLICT", ["codes"])]
    assert clash["errors"][0]["message"] == "Already in use in this organization: SUMMER, Sun."
    assert await counts(db) == (1, 2)  # brand-new was not created either


async def test_another_organization_may_use_the_same_code(gql: GraphQLClient) -> None:
    ours, theirs = await factories.create_org(gql), await factories.create_org(gql)

    a = await create_promotion(gql, ours.id, token=ours.owner.token, codes=["WELCOME"])
    b = await create_promotion(gql, theirs.id, token=theirs.owner.token, codes=["welcome"])

    assert a["errors"] == b["errors"] == []


async def test_concurrent_promotions_claiming_one_code_create_exactly_one(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)

    results = await asyncio.gather(
        *[
            create_promotion(
                gql, org.id, token=org.owner.token, name=f"P{n}", codes=[f"own{n}", "RaCe"]
            )
            for n in range(10)
        ]
    )

    won = [r for r in results if r["errors"] == []]
    assert len(won) == 1
    refused = [payload_errors(r) for r in results if r["errors"]]
    assert refused == [[("CONFLICT", ["codes"])]] * 9
    assert await counts(db) == (1, 2)


async def test_members_list_promotions_and_an_event_sees_its_own_and_organization_wide(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(gql, cast.org)
    other = await commerce.sale(gql, cast.org)
    token = cast.owner.token
    await create_promotion(gql, cast.org.id, token=token, name="All", codes=["ALLEVENTS"])
    await create_promotion(
        gql, cast.org.id, token=token, name="Here", eventId=sale.event_id, codes=["HERE"]
    )
    await create_promotion(
        gql, cast.org.id, token=token, name="There", eventId=other.event_id, codes=["THERE"]
    )

    everything = await gql(PROMOTIONS, {"org": cast.org.id}, token=cast.staff.token)
    for_sale = await gql(
        PROMOTIONS, {"org": cast.org.id, "event": sale.event_id}, token=cast.staff.token
    )

    assert [p["name"] for p in everything["promotions"]] == ["There", "Here", "All"]
    assert [p["name"] for p in for_sale["promotions"]] == ["Here", "All"]


async def test_only_members_may_list_promotions(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    read_key = await factories.create_api_key(gql, cast.org, ["events:read"])
    other_key = await factories.create_api_key(gql, cast.org, ["orders:read"])

    outsider = await gql.error_code(PROMOTIONS, {"org": cast.org.id}, token=cast.outsider.token)
    anonymous = await gql.error_code(PROMOTIONS, {"org": cast.org.id})
    unscoped = await gql.error_code(PROMOTIONS, {"org": cast.org.id}, api_key=other_key)
    scoped = await gql(PROMOTIONS, {"org": cast.org.id}, api_key=read_key)
    malformed = await gql.error_code(PROMOTIONS, {"org": "nope"}, token=cast.owner.token)

    assert (outsider, anonymous, unscoped) == ("NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN")
    assert scoped["promotions"] == []
    assert malformed == "BAD_USER_INPUT"


async def test_a_promotion_of_a_cancelled_event_is_refused(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql)
    cancelled = await gql(
        "mutation($id: ID!) { cancelEvent(id: $id) { errors { code } } }",
        {"id": sale.event_id},
        token=sale.org.owner.token,
    )
    assert cancelled["cancelEvent"]["errors"] == []

    payload = await create_promotion(
        gql, sale.org.id, token=sale.org.owner.token, eventId=sale.event_id
    )

    assert payload_errors(payload) == [("INVALID_STATE", ["eventId"])]
    assert await counts(db) == (0, 0)
