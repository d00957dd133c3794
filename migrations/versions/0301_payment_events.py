"""Payment events: every verified provider webhook, stored once by (provider, event id).

Revision ID: 0301
Revises: 0001
Create Date: 2026-11-25 12:27:08.799427
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.helpers import add_updated_at_trigger, drop_updated_at_trigger

revision: str = '0301'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_events',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('provider_ref', sa.String(length=255), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    sa.UniqueConstraint('provider', 'event_id', name=op.f('uq_payment_events_provider_event_id'))
    )
    op.create_index('ix_payment_events_provider_ref', 'payment_events', ['provider', 'provider_ref'], unique=False)
    op.create_index('ix_payment_events_reference', 'payment_events', ['reference'], unique=False)
    add_updated_at_trigger('payment_events')


def downgrade() -> None:
    drop_updated_at_trigger('payment_events')
    op.drop_index('ix_payment_events_reference', table_name='payment_events')
    op.drop_index('ix_payment_events_provider_ref', table_name='payment_events')
    op.drop_table('payment_events')
