from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
