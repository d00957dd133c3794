"""The data of bench/analytics.py: an event shaped like a real large sale, written straight
into PostgreSQL (creating 200,000 orders through the API would take an hour and measure
createOrder, not analytics).

The event, its two dates and four ticket types are created through the API. Then, with one
fixed random seed: orders over the four weeks before now, more of them as the event comes
closer; 80 % on the first date; one line (7 in 10) or two; 1 to 4 tickets a line; a promo
discount on one order in 10; the platform's and the provider's fees. Status: 82 %
confirmed, 4 % pending (placed in the last 15 minutes), 8 % expired, 2 % cancelled by the
buyer, 4 % refunded in full; one confirmed order in 20 partly refunded. Confirmed orders
have their tickets; 60 % of the first date's tickets are checked in over the last three
hours (the gate is open). Ids are UUIDv7 of the row's creation time, as the platform
makes them. The same shape is written for other events of the platform too, so the
tables hold more than the measured event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.checkin import EVENT, ORG, PUBLISH, SIGN_UP, TYPE
from bench.harness import Connection
from server.db import Database

OWNER = ("owner@bench.test", "owner-password-1234")
TYPES = (("General", "25.00"), ("Premium", "60.00"), ("VIP", "150.00"), ("Student", "15.00"))

_LINES = """
CREATE TEMP TABLE seed_orders ON COMMIT DROP AS
WITH drawn AS (
  SELECT n, random() AS r_status, random() AS r_date, random() AS r_time, random() AS r_type,
         random() AS r_second, random() AS r_promo,
         1 + (random() * 3.999)::int % 4 AS q1, 1 + (random() * 1.999)::int % 2 AS q2
  FROM generate_series(1, :orders) AS n
)
SELECT n,
  CASE WHEN r_status < 0.82 THEN 'confirmed' WHEN r_status < 0.86 THEN 'pending'
       WHEN r_status < 0.94 THEN 'expired' WHEN r_status < 0.96 THEN 'cancelled'
       ELSE 'refunded' END AS kind,
  CASE WHEN r_date < 0.8 THEN 0 ELSE 1 END AS date_index,
  CASE WHEN r_status BETWEEN 0.82 AND 0.86 THEN now() - r_time * interval '15 minutes'
       ELSE now() - interval '28 days' * (1 - sqrt(r_time)) END AS created_at,
  CASE WHEN r_type < 0.55 THEN 0 WHEN r_type < 0.75 THEN 1 WHEN r_type < 0.85 THEN 2
       ELSE 3 END AS t1, q1,
  CASE WHEN r_second < 0.3 THEN 1 + (r_type * 10)::int % 3 END AS t2_offset, q2,
  r_promo < 0.1 AS promo
FROM drawn
"""
_ORDERS = """
WITH priced AS (
  SELECT s.*, (CAST(:prices AS bigint[]))[s.t1 + 1] * s.q1
      + coalesce((CAST(:prices AS bigint[]))[(s.t1 + s.t2_offset) % 4 + 1] * s.q2, 0) AS subtotal
  FROM seed_orders s
), money AS (
  SELECT p.*, CASE WHEN promo THEN subtotal / 10 ELSE 0 END AS discount,
         100 + (subtotal * 3) / 100 AS fees
  FROM priced p
)
INSERT INTO orders (id, organization_id, event_id, occurrence_id, buyer_email, status,
  currency, subtotal_minor, discount_minor, platform_fee_minor, provider_fee_minor, fees_minor,
  total_minor, refunded_minor, payment_provider, expires_at, confirmed_at, cancelled_at,
  cancel_reason, created_at, updated_at)
SELECT uuidv7(m.created_at - now()), :org, :event, (CAST(:dates AS uuid[]))[m.date_index + 1],
  'buyer' || m.n || '@' || :domain,
  CAST(CASE m.kind WHEN 'expired' THEN 'cancelled' ELSE m.kind END AS order_status),
  'USD', m.subtotal, m.discount, 100, m.fees - 100, m.fees, m.subtotal - m.discount + m.fees,
  CASE WHEN m.kind = 'refunded' THEN m.subtotal - m.discount + m.fees ELSE 0 END, 'test',
  m.created_at + interval '15 minutes',
  CASE WHEN m.kind IN ('confirmed', 'refunded') THEN m.created_at + interval '40 seconds' END,
  CASE WHEN m.kind = 'expired' THEN m.created_at + interval '15 minutes'
       WHEN m.kind = 'cancelled' THEN m.created_at + interval '5 minutes' END,
  CASE WHEN m.kind = 'expired' THEN 'expired' WHEN m.kind = 'cancelled' THEN 'buyer' END,
  m.created_at, m.created_at + interval '40 seconds'
FROM money m
"""
_ITEMS = """
INSERT INTO order_items (id, order_id, ticket_type_id, inventory_id, quantity,
  unit_price_minor, subtotal_minor, seat_ids)
SELECT uuidv7(o.created_at - now()), o.id, i.ticket_type_id, i.id, line.quantity,
  t.price_minor, t.price_minor * line.quantity, '{}'
FROM orders o
JOIN seed_orders s ON o.buyer_email = 'buyer' || s.n || '@' || :domain
CROSS JOIN LATERAL (VALUES (s.t1, s.q1), ((s.t1 + s.t2_offset) % 4, s.q2)) AS line(t, quantity)
JOIN ticket_types t ON t.id = (CAST(:types AS uuid[]))[line.t + 1]
JOIN inventory i ON i.ticket_type_id = t.id AND i.occurrence_id = o.occurrence_id
WHERE o.event_id = :event AND line.t IS NOT NULL
"""
_REFUNDS = """
INSERT INTO refunds (id, order_id, amount_minor, currency, status, automatic, created_at,
  updated_at)
SELECT uuidv7(at - now()), id, amount, 'USD', 'succeeded', false, at, at
FROM (
  SELECT id, CASE WHEN status = 'refunded' THEN total_minor ELSE 500 END AS amount,
         least(now(), confirmed_at + interval '1 day' * (1 + abs(hashtext(id::text)) % 6)) AS at
  FROM orders WHERE event_id = :event
    AND (status = 'refunded' OR (status = 'confirmed' AND abs(hashtext(id::text)) % 20 = 0))
) r
"""
_PARTIAL = """
UPDATE orders o SET refunded_minor = 500 FROM refunds r
WHERE r.order_id = o.id AND o.event_id = :event AND o.status = 'confirmed'
"""
_TICKETS = """
INSERT INTO tickets (id, organization_id, event_id, occurrence_id, order_id, order_item_id,
  position, ticket_type_id, holder_email, status, serial, qr_payload, issued_at, created_at,
  updated_at)
SELECT uuidv7(o.confirmed_at - now()), o.organization_id, o.event_id, o.occurrence_id, o.id,
  x.id, p.position, x.ticket_type_id, o.buyer_email, 'valid',
  decode(md5(x.id::text || p.position), 'hex'), 'bench:' || x.id || ':' || p.position,
  o.confirmed_at, o.confirmed_at, o.confirmed_at
FROM orders o JOIN order_items x ON x.order_id = o.id
CROSS JOIN LATERAL generate_series(0, x.quantity - 1) AS p(position)
WHERE o.event_id = :event AND o.status = 'confirmed'
"""
_CHECK_INS = """
WITH admitted AS (
  UPDATE tickets SET status = 'used', used_at = now() - interval '3 hours' * random()
  WHERE event_id = :event AND occurrence_id = (CAST(:dates AS uuid[]))[1] AND random() < 0.6
  RETURNING id, occurrence_id, organization_id, used_at
)
INSERT INTO check_ins (id, ticket_id, occurrence_id, organization_id, at, location)
SELECT uuidv7(used_at - now()), id, occurrence_id, organization_id, used_at, 'Gate A'
FROM admitted
"""
_COUNTERS = """
UPDATE inventory i SET
  sold = coalesce((SELECT sum(x.quantity) FROM order_items x JOIN orders o ON o.id = x.order_id
                   WHERE x.inventory_id = i.id AND o.status = 'confirmed'), 0),
  reserved = coalesce((SELECT sum(x.quantity) FROM order_items x JOIN orders o ON o.id = x.order_id
                       WHERE x.inventory_id = i.id AND o.status = 'pending'), 0)
WHERE i.event_id = :event
"""


async def create_event(conn: Connection, token: str, org: str, title: str) -> dict[str, Any]:
    """An event with two dates and the four ticket types, published."""
    start = datetime.now(UTC) + timedelta(hours=1)
    dates = [
        {
            "startsAt": (start + timedelta(days=d)).isoformat(),
            "endsAt": (start + timedelta(days=d, hours=4)).isoformat(),
        }
        for d in (0, 7)
    ]
    created = await conn.graphql(
        EVENT, {"i": {"organizationId": org, "title": title, "occurrences": dates}}, token
    )
    event = created["data"]["createEvent"]["event"]
    types = []
    for name, price in TYPES:
        made = await conn.graphql(
            TYPE,
            {
                "i": {
                    "eventId": event["id"],
                    "name": name,
                    "price": {"amount": price, "currency": "USD"},
                    "quantity": 1_000_000,
                }
            },
            token,
        )
        types.append(made["data"]["createTicketType"]["ticketType"]["id"])
    await conn.graphql(PUBLISH, {"id": event["id"]}, token)
    return {"event": event["id"], "dates": [o["id"] for o in event["occurrences"]], "types": types}


async def setup(conn: Connection) -> dict[str, Any]:
    """An owner (who reads analytics), their organization and the measured event."""
    registered = await conn.graphql(
        SIGN_UP,
        {"i": {"email": OWNER[0], "password": OWNER[1], "name": "Owner"}},
    )
    token = registered["data"]["register"]["accessToken"]
    org = (await conn.graphql(ORG, {"i": {"name": "Arena"}}, token))["data"]["createOrganization"][
        "organization"
    ]["id"]
    return {"token": token, "org": org, **await create_event(conn, token, org, "Final Night")}


async def sign_in(conn: Connection) -> str:
    """A fresh access token for the owner (seeding outlasts the first one)."""
    signed = await conn.graphql(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        {"i": {"email": OWNER[0], "password": OWNER[1]}},
    )
    return str(signed["data"]["login"]["accessToken"])


async def seed(database_url: str, org: str, event: dict[str, Any], orders: int, tag: str) -> None:
    """`orders` orders of the shape above for `event`, and what follows from them."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    params = {"org": org, "event": event["event"], "dates": event["dates"], "domain": tag}
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT setseed(0.42)"))
            await session.execute(text(_LINES), {"orders": orders})
            prices = list(
                await session.scalars(
                    text(
                        "SELECT price_minor FROM ticket_types WHERE id = ANY(:t) "
                        "ORDER BY array_position(CAST(:t AS uuid[]), id)"
                    ),
                    {"t": event["types"]},
                )
            )
            await session.execute(text(_ORDERS), {**params, "prices": prices})
            await session.execute(text(_ITEMS), {**params, "types": event["types"]})
            for statement in (_REFUNDS, _PARTIAL, _TICKETS, _CHECK_INS, _COUNTERS):
                await session.execute(text(statement), params)
    finally:
        await db.dispose()


async def vacuum(database_url: str) -> None:
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(
                text("VACUUM ANALYZE orders, order_items, refunds, tickets, check_ins, inventory")
            )
    finally:
        await db.dispose()
