from __future__ import annotations

from tests.support import commerce
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
