from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import commerce
from tests.support.gql import GraphQLClient

HOLD = """
mutation($i: CreateHoldInput!) { createHold(input: $i) { hold { id expiresAt } errors { field code } } }
"""


async def test_a_date_time_without_an_offset_is_refused_as_bad_input(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=5)
    variables = {
        "i": {
            "ticketTypeId": sale.ticket_type_id,
            "quantity": 1,
            "expiresAt": "2031-01-01T00:00:00",
        }
    }

    response = await gql.raw(HOLD, variables, token=sale.org.owner.token)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "UTC offset" in error["message"]
    [row] = await commerce.availability(gql, sale)
    assert row["held"] == 0


async def test_offsets_and_z_are_accepted_and_returned_with_an_offset(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=5)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    expires = tomorrow.strftime("%Y-%m-%dT%H:%M:%SZ")

    data = await gql(
        HOLD,
        {"i": {"ticketTypeId": sale.ticket_type_id, "quantity": 1, "expiresAt": expires}},
        token=sale.org.owner.token,
    )

    assert data["createHold"]["errors"] == []
    assert data["createHold"]["hold"]["expiresAt"] == tomorrow.isoformat()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
async def test_a_date_time_with_no_utc_equivalent_is_refused_as_bad_input(
    gql: GraphQLClient, moment: str
) -> None:
    sale = await commerce.sale(gql, quantity=5)
    variables = {"i": {"ticketTypeId": sale.ticket_type_id, "quantity": 1, "expiresAt": moment}}

    response = await gql.raw(HOLD, variables, token=sale.org.owner.token)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "out of range" in error["message"]
    [row] = await commerce.availability(gql, sale)
    assert row["held"] == 0


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
async def test_a_literal_date_time_with_no_utc_equivalent_is_refused_too(
    gql: GraphQLClient, moment: str
) -> None:
    response = await gql.raw(f'{{ events(startsAfter: "{moment}") {{ totalCount }} }}')

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "out of range" in error["message"]


async def test_the_first_and_last_instants_in_utc_are_accepted(gql: GraphQLClient) -> None:
    data = await gql(
        "query($a: DateTime, $b: DateTime) {"
        " first: events(startsAfter: $a) { totalCount } last: events(startsAfter: $b) { totalCount } }",
        {"a": "0001-01-01T00:00:00+00:00", "b": "9999-12-31T23:59:59Z"},
    )

    assert data == {"first": {"totalCount": 0}, "last": {"totalCount": 0}}
