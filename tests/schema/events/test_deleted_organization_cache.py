from __future__ import annotations

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

EVENT = "query($slug: String!) { event(slug: $slug) { id title } }"
DELETE = "mutation($id: ID!) { deleteOrganization(id: $id) }"


async def test_a_deleted_organizations_event_is_not_served_from_the_cache(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=5)
    first = await gql(EVENT, {"slug": sale.slug})
    again = await gql(EVENT, {"slug": sale.slug})  # now served from the cache
    assert first["event"] == again["event"] and first["event"] is not None

    assert (await gql(DELETE, {"id": sale.org.id}, token=sale.org.owner.token))[
        "deleteOrganization"
    ] is True

    assert (await gql(EVENT, {"slug": sale.slug}))["event"] is None


MINE = """
{ myTickets { status event { title organization { name slug } } }
  myOrders { status event { title organization { name } } } }
"""


async def test_a_buyer_still_sees_the_event_and_organization_of_their_orders_after_deletion(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=5, price="0.00")
    buyer = await factories.register(gql)
    placed = await commerce.order(gql, sale, 1, token=buyer.token)
    assert placed["errors"] == [] and placed["order"]["status"] == "CONFIRMED"
    before = await gql(MINE, token=buyer.token)

    assert (await gql(DELETE, {"id": sale.org.id}, token=sale.org.owner.token))[
        "deleteOrganization"
    ] is True
    after = await gql(MINE, token=buyer.token)

    assert after == before
    [ticket] = after["myTickets"]
    assert ticket["event"]["organization"]["slug"]
    assert [o["status"] for o in after["myOrders"]] == ["CONFIRMED"]


async def test_a_deleted_organizations_members_and_events_stay_out_of_reach(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=5, price="0.00")
    buyer = await factories.register(gql)
    await commerce.order(gql, sale, 1, token=buyer.token)
    await gql(DELETE, {"id": sale.org.id}, token=sale.org.owner.token)

    members = await gql.errors(
        "{ myTickets { event { organization { members { role } } } } }", token=buyer.token
    )
    listed = await gql(
        "{ myTickets { event { organization { events { totalCount edges { node { id } } } } } } }",
        token=buyer.token,
    )

    assert {e["extensions"]["code"] for e in members} <= {"FORBIDDEN", "NOT_FOUND"}, members
    assert listed["myTickets"][0]["event"]["organization"]["events"] == {
        "totalCount": 0,
        "edges": [],
    }
