"""Folding an event's settled facts into its hourly rollup, up to a mark.

Why recompute rather than add deltas: a row of `analytics_hours` is always the sum of the
facts of its hour dated before the mark, computed from the tables in one statement. A
fold that runs twice, or two folds at once (they serialize on the event's advisory lock),
or a fold after a crash, can only write the same numbers again; nothing is counted twice
or lost, whatever happened to a job or a message before.

Which facts are settled: a fact is written by a transaction, dated by the clock of that
transaction (PostgreSQL's `now()`, or the app's clock read just before it began). The
mark may pass a date only once every transaction that could still write a fact dated
before it has ended. So the new mark is the earliest of
- now minus `margin`, and
- the start of the oldest transaction still open in this database, minus `slack` (the
  most an app's clock may lag its transaction's start: a wait for a pooled connection,
  clock skew),
read *before* the statement that folds (whose snapshot is taken after it: every
transaction that was open then has either committed into that snapshot or started
early enough that its facts date after the mark). Facts at or after the mark stay in the
tables, where reads add them live (server.analytics.figures)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.analytics.facts import FACT_CTES, MARK

MARGIN = timedelta(minutes=2)
SLACK = timedelta(minutes=2)

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_BOUND = text(
    """
    SELECT least(
      clock_timestamp() - make_interval(secs => :margin),
      (SELECT min(xact_start) FROM pg_stat_activity
       WHERE datname = current_database() AND backend_type = 'client backend'
         AND pid <> pg_backend_pid()) - make_interval(secs => :slack)
    )
    """
)
_FOLD = text(
    f"""
    WITH {FACT_CTES},
    hours AS (
      INSERT INTO analytics_hours (event_id, occurrence_id, hour, orders, tickets, gross_minor,
        discounts_minor, fees_minor, refunds_minor, check_ins)
      SELECT :event, occurrence_id, at, sum(orders), sum(tickets), sum(gross), sum(discounts),
             sum(fees), sum(refunds), sum(check_ins)
      FROM facts GROUP BY occurrence_id, at
      ON CONFLICT (event_id, occurrence_id, hour) DO UPDATE SET
        orders = excluded.orders, tickets = excluded.tickets,
        gross_minor = excluded.gross_minor, discounts_minor = excluded.discounts_minor,
        fees_minor = excluded.fees_minor, refunds_minor = excluded.refunds_minor,
        check_ins = excluded.check_ins
      RETURNING 1
    ), types AS (
      INSERT INTO analytics_type_hours (event_id, occurrence_id, ticket_type_id, hour, tickets,
        gross_minor)
      SELECT :event, occurrence_id, ticket_type_id, at, tickets, gross FROM lines
      ON CONFLICT (event_id, occurrence_id, ticket_type_id, hour) DO UPDATE SET
        tickets = excluded.tickets, gross_minor = excluded.gross_minor
      RETURNING 1
    ), mark AS (
      INSERT INTO analytics_marks (event_id, folded_before, folded_at)
      VALUES (:event, :end, now())
      ON CONFLICT (event_id) DO UPDATE SET
        folded_before = excluded.folded_before, folded_at = excluded.folded_at
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM hours) AS hours, (SELECT count(*) FROM types) AS types
    """  # noqa: S608 - FACT_CTES is a literal
)


@dataclass(frozen=True, slots=True)
class Folded:
    since: datetime | None  # the mark before
    mark: datetime  # the mark now
    hours: int  # rollup rows written (new or recomputed)


async def fold(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    margin: timedelta = MARGIN,
    slack: timedelta = SLACK,
) -> Folded | None:
    """Move the event's mark forward as far as facts are settled, folding the facts in
    between. None when the mark cannot move. Runs in the caller's READ COMMITTED
    transaction, which must commit at once (it holds the event's fold lock)."""
    await session.execute(_LOCK, {"key": f"analytics.fold:{event_id}"})
    since = await session.scalar(MARK, {"event": event_id})
    bound = await session.scalar(
        _BOUND, {"margin": margin.total_seconds(), "slack": slack.total_seconds()}
    )
    assert bound is not None
    if since is not None and bound <= since:
        return None
    start = since.replace(minute=0, second=0, microsecond=0) if since is not None else None
    written = (
        await session.execute(
            _FOLD, {"event": event_id, "grain": "hour", "start": start, "end": bound}
        )
    ).one()
    return Folded(since, bound, int(written.hours))
