"""Every bad createPromotion input gets a coded error on its field, and creates nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.db import Database
from tests.schema.promotions.helpers import (
    CREATE_PROMOTION,
    counts,
    create_promotion,
    promotion_input,
)
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors

PAST = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
V, NF = "VALIDATION", "NOT_FOUND"

CASES: dict[str, tuple[dict[str, Any], list[tuple[str, list[str]]]]] = {
    "blank name": ({"name": "   "}, [(V, ["name"])]),
    "long name": ({"name": "n" * 201}, [(V, ["name"])]),
    "percentage without percentOff": ({"percentOff": ...}, [(V, ["percentOff"])]),
    "zero percent": ({"percentOff": 0}, [(V, ["percentOff"])]),
    "over a hundred percent": ({"percentOff": 101}, [(V, ["percentOff"])]),
    "percentage with other terms": (
        {"amountOff": {"amount": "5", "currency": "USD"}, "buyQuantity": 2},
        [(V, ["amountOff"]), (V, ["buyQuantity"])],
    ),
    "fixed amount without amountOff": (
        {"kind": "FIXED_AMOUNT", "percentOff": ...},
        [(V, ["amountOff"])],
    ),
    "fixed amount of zero": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "0", "currency": "USD"},
        },
        [(V, ["amountOff", "amount"])],
    ),
    "negative fixed amount": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "-5", "currency": "USD"},
        },
        [(V, ["amountOff", "amount"])],
    ),
    "fixed amount with too many decimals": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "1.005", "currency": "USD"},
        },
        [(V, ["amountOff", "amount"])],
    ),
    "fixed amount of an absurd size": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "1e999999", "currency": "USD"},
        },
        [(V, ["amountOff", "amount"])],
    ),
    "fixed amount that is not a number": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "NaN", "currency": "USD"},
        },
        [(V, ["amountOff", "amount"])],
    ),
    "fixed amount in an unknown currency": (
        {
            "kind": "FIXED_AMOUNT",
            "percentOff": ...,
            "amountOff": {"amount": "5", "currency": "XYZ"},
        },
        [(V, ["amountOff", "currency"])],
    ),
    "fixed amount with a percentage": (
        {"kind": "FIXED_AMOUNT", "amountOff": {"amount": "5", "currency": "USD"}},
        [(V, ["percentOff"])],
    ),
    "buy x get y without getQuantity": (
        {"kind": "BUY_X_GET_Y", "percentOff": ..., "buyQuantity": 2},
        [(V, ["getQuantity"])],
    ),
    "buy x get y of zero": (
        {"kind": "BUY_X_GET_Y", "percentOff": ..., "buyQuantity": 0, "getQuantity": 1},
        [(V, ["buyQuantity"])],
    ),
    "no codes": ({"codes": []}, [(V, ["codes"])]),
    "short code": ({"codes": ["AB"]}, [(V, ["codes"])]),
    "long code": ({"codes": ["C" * 33]}, [(V, ["codes"])]),
    "code with a space": ({"codes": ["TWO WORDS"]}, [(V, ["codes"])]),
    "code with other letters": ({"codes": ["ÉTÉ2031"]}, [(V, ["codes"])]),
    "code twice whatever the case": ({"codes": ["SALE", "sale"]}, [(V, ["codes"])]),
    "zero uses": ({"maxUses": 0}, [(V, ["maxUses"])]),
    "zero uses per user": ({"maxUsesPerUser": -1}, [(V, ["maxUsesPerUser"])]),
    "expiry in the past": ({"expiresAt": PAST}, [(V, ["expiresAt"])]),
    "several at once": (
        {"name": "", "percentOff": 0, "codes": ["x"], "maxUses": 0},
        [(V, ["name"]), (V, ["percentOff"]), (V, ["codes"]), (V, ["maxUses"])],
    ),
    "malformed organizationId": ({"organizationId": "not-an-id"}, [(V, ["organizationId"])]),
    "malformed eventId": ({"eventId": "not-an-id"}, [(V, ["eventId"])]),
    "unknown eventId": ({"eventId": str(uuid.uuid4())}, [(NF, ["eventId"])]),
}


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_is_refused_on_its_field_and_creates_nothing(
    gql: GraphQLClient, db: Database, case: str
) -> None:
    fields, expected = CASES[case]
    org = await factories.create_org(gql)

    payload = await create_promotion(gql, org.id, token=org.owner.token, **fields)

    assert payload["promotion"] is None
    assert payload_errors(payload) == expected
    assert all(e["message"] for e in payload["errors"])
    assert await counts(db) == (0, 0)


async def test_an_event_of_another_organization_is_not_found(
    gql: GraphQLClient, db: Database
) -> None:
    theirs = await commerce.sale(gql)
    org = await factories.create_org(gql)

    payload = await create_promotion(gql, org.id, token=org.owner.token, eventId=theirs.event_id)

    assert payload_errors(payload) == [(NF, ["eventId"])]
    assert await counts(db) == (0, 0)


async def test_a_fixed_amount_must_be_in_the_event_currency(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, currency="NGN", price="5000")

    payload = await create_promotion(
        gql,
        sale.org.id,
        token=sale.org.owner.token,
        eventId=sale.event_id,
        kind="FIXED_AMOUNT",
        percentOff=...,
        amountOff={"amount": "5", "currency": "USD"},
    )

    assert payload_errors(payload) == [(V, ["amountOff", "currency"])]
    assert payload["errors"][0]["message"] == "This event sells in NGN."
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "HALF_OFF"),
        ("percentOff", "ten"),
        ("codes", None),
        ("percentOff", 2**31),
        ("expiresAt", "2031-01-01T00:00:00"),  # a date-time without a UTC offset
    ],
)
async def test_values_of_the_wrong_type_are_request_errors(
    gql: GraphQLClient, db: Database, field: str, value: Any
) -> None:
    org = await factories.create_org(gql)
    variables = {"input": {**promotion_input(org.id), field: value}}

    response = await gql.raw(CREATE_PROMOTION, variables, token=org.owner.token)

    assert response.status_code in (200, 400)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await counts(db) == (0, 0)
