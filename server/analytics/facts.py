"""The facts analytics add up, as SQL written once for the rollup and for live reads.

A fact is dated and never changes once it has happened:
- a paid order (confirmed, or since refunded: PAID is a state orders never leave), dated
  `confirmed_at`: its subtotal (face value), discount and fees, and per ticket type its
  tickets and face value;
- a refund that succeeded, dated when it did (`updated_at`, set by the trigger in the
  transaction that marked it succeeded; nothing updates a succeeded refund again);
- a check-in, dated `at`.

`FACT_CTES` defines three CTEs over the facts of `:event` dated in [`:start`, `:end`)
(either may be NULL: unbounded), in buckets of `:grain` (a date_trunc unit, UTC):
`paid` (one row per paid order), `lines` (tickets and face value per date, bucket and
ticket type) and `facts` (per date and bucket: orders, tickets, gross, discounts, fees,
refunds, check_ins; several rows per bucket, to be summed). Each range is an index range:
ix_orders_event_id_confirmed_at, ix_refunds_succeeded_updated_at, ix_check_ins_occurrence_id_at.
"""

from __future__ import annotations

from sqlalchemy import text

MARK = text("SELECT folded_before FROM analytics_marks WHERE event_id = :event")
PAID = "('confirmed', 'refunded')"

_START = "coalesce(CAST(:start AS timestamptz), '-infinity')"
_END = "coalesce(CAST(:end AS timestamptz), 'infinity')"

FACT_CTES = f"""
paid AS (
  SELECT o.id, o.occurrence_id, date_trunc(:grain, o.confirmed_at, 'UTC') AS at,
         o.subtotal_minor, o.discount_minor, o.fees_minor
  FROM orders o
  WHERE o.event_id = :event AND o.confirmed_at >= {_START} AND o.confirmed_at < {_END}
    AND o.status IN {PAID}
), lines AS (
  SELECT p.occurrence_id, p.at, x.ticket_type_id, sum(x.quantity) AS tickets,
         sum(x.subtotal_minor) AS gross
  FROM paid p JOIN order_items x ON x.order_id = p.id
  GROUP BY 1, 2, 3
), facts AS (
  SELECT occurrence_id, at, count(*) AS orders, 0 AS tickets, sum(subtotal_minor) AS gross,
         sum(discount_minor) AS discounts, sum(fees_minor) AS fees, 0 AS refunds,
         0 AS check_ins
  FROM paid GROUP BY 1, 2
  UNION ALL
  SELECT occurrence_id, at, 0, sum(tickets), 0, 0, 0, 0, 0 FROM lines GROUP BY 1, 2
  UNION ALL
  SELECT o.occurrence_id, date_trunc(:grain, r.updated_at, 'UTC'), 0, 0, 0, 0, 0,
         sum(r.amount_minor), 0
  FROM refunds r JOIN orders o ON o.id = r.order_id
  WHERE r.status = 'succeeded' AND r.updated_at >= {_START} AND r.updated_at < {_END}
    AND o.event_id = :event
  GROUP BY 1, 2
  UNION ALL
  SELECT c.occurrence_id, date_trunc(:grain, c.at, 'UTC'), 0, 0, 0, 0, 0, 0, count(*)
  FROM check_ins c
  WHERE c.occurrence_id IN (SELECT id FROM event_occurrences WHERE event_id = :event)
    AND c.at >= {_START} AND c.at < {_END}
  GROUP BY 1, 2
)
"""  # noqa: S608 - PAID and the bounds are literals
