"""Who may create promotions: managers and owners, and API keys with events:write, of the
organization. Outsiders find no such organization; a refusal creates nothing."""

from __future__ import annotations

import pytest

from server.db import Database
from tests.schema.promotions.helpers import CREATE_PROMOTION, counts, promotion_input
from tests.support import factories
from tests.support.gql import GraphQLClient

EXPECTED = {
    "anonymous": "UNAUTHENTICATED",
    "outsider": "NOT_FOUND",
    "staff": "FORBIDDEN",
    "manager": "ok",
    "owner": "ok",
    "key with events:write": "ok",
    "key without events:write": "FORBIDDEN",
    "key of another organization": "NOT_FOUND",
}


@pytest.mark.parametrize("actor", EXPECTED)
async def test_create_promotion_tenancy(gql: GraphQLClient, db: Database, actor: str) -> None:
    cast = await factories.cast(gql)
    credentials: dict[str, str] = {}
    if actor in ("outsider", "staff", "manager", "owner"):
        credentials["token"] = getattr(cast, actor).token
    elif actor == "key with events:write":
        credentials["api_key"] = await factories.create_api_key(gql, cast.org, ["events:write"])
    elif actor == "key without events:write":
        credentials["api_key"] = await factories.create_api_key(
            gql, cast.org, ["events:read", "orders:write"]
        )
    elif actor == "key of another organization":
        credentials["api_key"] = await factories.create_api_key(
            gql, cast.other_org, ["events:write"]
        )

    body = (
        await gql.raw(CREATE_PROMOTION, {"input": promotion_input(cast.org.id)}, **credentials)
    ).json()

    if EXPECTED[actor] == "ok":
        assert body["data"]["createPromotion"]["errors"] == []
        assert await counts(db) == (1, 1)
        return
    if EXPECTED[actor] == "NOT_FOUND":
        payload = body["data"]["createPromotion"]
        assert payload["promotion"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("NOT_FOUND", ["organizationId"])
        ]
    else:
        assert body["errors"][0]["extensions"]["code"] == EXPECTED[actor]
    assert await counts(db) == (0, 0)
