"""The report files: rows streamed from a server-side cursor into a CSV on disk, so memory
stays flat however many orders an event has."""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from server.money import format_amount
from server.reports.models import ReportKind

CHUNK = 2000

ORDERS = text(
    """
    SELECT o.id, o.created_at, o.status, o.buyer_email, o.currency, o.subtotal_minor,
           o.discount_minor, o.fees_minor, o.total_minor, o.refunded_minor, o.confirmed_at,
           (SELECT coalesce(sum(i.quantity), 0) FROM order_items AS i
            WHERE i.order_id = o.id) AS tickets
    FROM orders AS o WHERE o.event_id = :event ORDER BY o.created_at, o.id
    """
)
ATTENDEES = text(
    """
    SELECT t.id, t.holder_email, t.status, tt.name AS ticket_type, s.section, s."row", s.number,
           occ.starts_at, t.order_id,
           (SELECT min(c.at) FROM check_ins AS c WHERE c.ticket_id = t.id) AS checked_in_at
    FROM tickets AS t
    JOIN ticket_types AS tt ON tt.id = t.ticket_type_id
    JOIN event_occurrences AS occ ON occ.id = t.occurrence_id
    LEFT JOIN event_seats AS s ON s.id = t.event_seat_id
    WHERE t.event_id = :event
    ORDER BY occ.starts_at, tt.name, t.issued_at, t.order_item_id, t.position, t.id
    """
)
SUMMARY = text(
    """
    SELECT tt.name AS ticket_type, o.currency,
           sum(i.quantity) FILTER (WHERE o.status IN ('confirmed', 'refunded')) AS tickets_sold,
           sum(i.subtotal_minor) FILTER (WHERE o.status IN ('confirmed', 'refunded')) AS gross,
           sum(i.quantity) FILTER (WHERE o.status = 'refunded') AS tickets_refunded,
           sum(i.quantity) FILTER (WHERE o.status = 'pending') AS tickets_pending
    FROM order_items AS i
    JOIN orders AS o ON o.id = i.order_id
    JOIN ticket_types AS tt ON tt.id = i.ticket_type_id
    WHERE o.event_id = :event
    GROUP BY tt.name, tt.position, o.currency ORDER BY tt.position, tt.name
    """
)
COUNTS = {
    ReportKind.ORDERS_CSV: text("SELECT count(*) FROM orders WHERE event_id = :event"),
    ReportKind.ATTENDEES_CSV: text("SELECT count(*) FROM tickets WHERE event_id = :event"),
    ReportKind.SALES_SUMMARY: text(
        "SELECT count(DISTINCT i.ticket_type_id) FROM order_items i "
        "JOIN orders o ON o.id = i.order_id WHERE o.event_id = :event"
    ),
}


def _money(minor: int | None, currency: str) -> str:
    return str(format_amount(int(minor or 0), currency))


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def _orders_row(r: Any) -> list[str]:
    c = r.currency
    return [
        str(r.id),
        _iso(r.created_at),
        r.status.upper(),
        r.buyer_email,
        c,
        str(r.tickets),
        _money(r.subtotal_minor, c),
        _money(r.discount_minor, c),
        _money(r.fees_minor, c),
        _money(r.total_minor, c),
        _money(r.refunded_minor, c),
        _iso(r.confirmed_at),
    ]


def _attendee_row(r: Any) -> list[str]:
    seat = f"{r.section} {r.row}-{r.number}" if r.section else ""
    return [
        str(r.id),
        r.holder_email,
        r.status.upper(),
        r.ticket_type,
        seat,
        _iso(r.starts_at),
        str(r.order_id),
        _iso(r.checked_in_at),
    ]


def _summary_row(r: Any) -> list[str]:
    c = r.currency
    return [
        r.ticket_type,
        c,
        str(r.tickets_sold or 0),
        _money(r.gross, c),
        str(r.tickets_refunded or 0),
        str(r.tickets_pending or 0),
    ]


LAYOUT: dict[ReportKind, tuple[Any, list[str], Callable[[Any], list[str]]]] = {
    ReportKind.ORDERS_CSV: (
        ORDERS,
        [
            "order_id",
            "created_at",
            "status",
            "buyer_email",
            "currency",
            "tickets",
            "subtotal",
            "discount",
            "fees",
            "total",
            "refunded",
            "confirmed_at",
        ],
        _orders_row,
    ),
    ReportKind.ATTENDEES_CSV: (
        ATTENDEES,
        [
            "ticket_id",
            "holder_email",
            "status",
            "ticket_type",
            "seat",
            "starts_at",
            "order_id",
            "checked_in_at",
        ],
        _attendee_row,
    ),
    ReportKind.SALES_SUMMARY: (
        SUMMARY,
        ["ticket_type", "currency", "tickets_sold", "gross", "tickets_refunded", "tickets_pending"],
        _summary_row,
    ),
}


async def count_rows(conn: AsyncConnection, kind: ReportKind, event_id: uuid.UUID) -> int:
    return int((await conn.execute(COUNTS[kind], {"event": event_id})).scalar_one())


async def _rows(conn: AsyncConnection, kind: ReportKind, event_id: uuid.UUID) -> AsyncIterator[Any]:
    query, _, _ = LAYOUT[kind]
    result = await conn.stream(query.execution_options(yield_per=CHUNK), {"event": event_id})
    async for row in result:
        yield row


async def write_csv(
    conn: AsyncConnection,
    kind: ReportKind,
    event_id: uuid.UUID,
    target: Path,
    progress: Callable[[int], Awaitable[None]],
) -> int:
    """Write the report to `target`, CHUNK rows at a time (the file work in a thread);
    `progress(rows)` is awaited after each chunk."""
    _, header, to_row = LAYOUT[kind]
    handle = await asyncio.to_thread(target.open, "w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(handle)
        await asyncio.to_thread(writer.writerow, header)
        written = 0
        chunk: list[list[str]] = []
        async for row in _rows(conn, kind, event_id):
            chunk.append(to_row(row))
            if len(chunk) == CHUNK:
                await asyncio.to_thread(writer.writerows, chunk)
                written += len(chunk)
                chunk = []
                await progress(written)
        if chunk:
            await asyncio.to_thread(writer.writerows, chunk)
            written += len(chunk)
    finally:
        await asyncio.to_thread(handle.close)
    return written
