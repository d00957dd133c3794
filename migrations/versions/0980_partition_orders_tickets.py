"""Orders and tickets partitioned by month of their id (UUIDv7, so of their creation):
existing rows are moved into monthly partitions; the primary keys, checks, indexes,
triggers and every foreign key (theirs and those pointing at them) are kept. See
docs/partitioning.md for the choice of key.

Two unique indexes of `tickets` cannot span partitions keyed by id and go:
- `uq_tickets_qr_payload`: the payload embeds the ticket's id under a signature, so two
  tickets cannot share one; the gate looks a ticket up by id and compares the payload.
- `uq_tickets_order_item_id_position`: a ticket issued for an order item's admission now
  has an id derived from the order and the (item, position) pair
  (server.tickets.service.admission_id), so the primary key refuses a second issue.

Revision ID: 0980
Revises: 0960
Create Date: 2026-12-02 22:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.partitioning import DROP_FUNCTIONS, FUNCTIONS, partition_by_id, unpartition

revision: str = '0980'
down_revision: str | Sequence[str] | None = '0960'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKET_UNIQUES = frozenset({"uq_tickets_qr_payload", "uq_tickets_order_item_id_position"})


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(function)
    partition_by_id("orders")
    partition_by_id("tickets", drop_unique=TICKET_UNIQUES)


def downgrade() -> None:
    unpartition("tickets")
    unpartition("orders")
    op.create_index('uq_tickets_qr_payload', 'tickets', ['qr_payload'], unique=True)
    op.create_index(
        'uq_tickets_order_item_id_position',
        'tickets',
        ['order_item_id', 'position'],
        unique=True,
        postgresql_where=sa.text('transferred_from_id IS NULL'),
    )
    for drop in DROP_FUNCTIONS:
        op.execute(drop)
