"""GET /tickets/{id}/qr.svg|png for the holder and the organization's staff, and the
public key that lets a scanner verify codes offline."""

from __future__ import annotations

import base64

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from server.tickets import qr
from server.tickets.images import qr_png, qr_svg
from tests.schema.tickets.helpers import purchase
from tests.support import factories
from tests.support.gql import GraphQLClient

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_holder_gets_the_code_as_svg_and_png(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client)
    ticket = bought.ticket

    svg = await client.get(f"/tickets/{ticket['id']}/qr.svg", headers=_auth(bought.buyer.token))
    png = await client.get(f"/tickets/{ticket['id']}/qr.png", headers=_auth(bought.buyer.token))

    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == qr_svg(ticket["qrCode"])
    assert b"<svg" in svg.content
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG_MAGIC)
    assert png.content == qr_png(ticket["qrCode"])
    for response in (svg, png):
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_organizations_staff_and_read_keys_get_it_too(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")
    key = await factories.create_api_key(gql, bought.sale.org, ["orders:read"])
    url = f"/tickets/{bought.ticket['id']}/qr.svg"

    by_staff = await client.get(url, headers=_auth(staff.token))
    by_owner = await client.get(url, headers=_auth(bought.sale.org.owner.token))
    by_key = await client.get(url, headers={"x-api-key": key})

    assert [r.status_code for r in (by_staff, by_owner, by_key)] == [200, 200, 200]


async def test_nobody_else_learns_whether_the_ticket_exists(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client)
    stranger = await factories.register(gql)
    outsider = await factories.create_org(gql)
    events_key = await factories.create_api_key(gql, bought.sale.org, ["events:read"])
    url = f"/tickets/{bought.ticket['id']}/qr.png"

    anonymous = await client.get(url)
    bad_token = await client.get(url, headers=_auth("not-a-token"))
    cases = {
        "stranger": await client.get(url, headers=_auth(stranger.token)),
        "other organization": await client.get(url, headers=_auth(outsider.owner.token)),
        "key without orders:read": await client.get(url, headers={"x-api-key": events_key}),
        "unknown ticket": await client.get(
            "/tickets/01a21299-913e-7233-80f3-185623384b5e/qr.png",
            headers=_auth(bought.buyer.token),
        ),
        "malformed id": await client.get("/tickets/nope/qr.png", headers=_auth(bought.buyer.token)),
    }

    assert (anonymous.status_code, bad_token.status_code) == (401, 401)
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
    assert {name: r.status_code for name, r in cases.items()} == dict.fromkeys(cases, 404)
    bodies = {r.content for r in cases.values()}
    assert len(bodies) == 1  # the same answer whether or not the ticket exists
    assert all(PNG_MAGIC not in r.content for r in [anonymous, bad_token, *cases.values()])


async def test_a_scanner_verifies_codes_offline_with_the_published_key(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client)

    response = await client.get("/tickets/signing-key")

    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    published = response.json()
    assert (published["algorithm"], published["format"]) == ("Ed25519", "T1")
    raw = base64.urlsafe_b64decode(
        published["publicKey"] + "=" * (-len(published["publicKey"]) % 4)
    )
    from_raw = Ed25519PublicKey.from_public_bytes(raw)
    from_pem = load_pem_public_key(published["pem"].encode())
    assert isinstance(from_pem, Ed25519PublicKey)
    for key in (from_raw, from_pem):
        claims = qr.verify(bought.ticket["qrCode"], public=key)
        assert str(claims.ticket_id) == bought.ticket["id"]
