"""Analytics: the hourly rollup of settled facts with its mark, and the indexes its reads use;
order items by hold (a waitlist offer's standing orders).

Revision ID: 0990
Revises: 0980
Create Date: 2026-12-03 00:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0990'
down_revision: str | None = '0980'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_marks',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('folded_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('folded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_analytics_marks_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_analytics_marks'))
    )
    op.create_table('analytics_hours',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('discounts_minor', sa.BigInteger(), nullable=False),
    sa.Column('fees_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunds_minor', sa.BigInteger(), nullable=False),
    sa.Column('check_ins', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_analytics_hours_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_analytics_hours_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'occurrence_id', 'hour', name=op.f('pk_analytics_hours'))
    )
    op.create_table('analytics_type_hours',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_analytics_type_hours_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_analytics_type_hours_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_analytics_type_hours_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'occurrence_id', 'ticket_type_id', 'hour', name=op.f('pk_analytics_type_hours'))
    )
    op.drop_index('ix_orders_event_id_status', table_name='orders')
    op.create_index('ix_orders_event_id_status', 'orders', ['event_id', 'status'], unique=False, postgresql_include=['occurrence_id', 'cancel_reason'])
    op.create_index('ix_orders_event_id_confirmed_at', 'orders', ['event_id', 'confirmed_at'], unique=False, postgresql_where=sa.text('confirmed_at IS NOT NULL'))
    op.create_index('ix_refunds_succeeded_updated_at', 'refunds', ['updated_at'], unique=False, postgresql_where=sa.text("status = 'succeeded'"))
    op.create_index('ix_order_items_hold_id', 'order_items', ['hold_id'], unique=False, postgresql_where=sa.text('hold_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_order_items_hold_id', table_name='order_items', postgresql_where=sa.text('hold_id IS NOT NULL'))
    op.drop_index('ix_refunds_succeeded_updated_at', table_name='refunds', postgresql_where=sa.text("status = 'succeeded'"))
    op.drop_index('ix_orders_event_id_confirmed_at', table_name='orders', postgresql_where=sa.text('confirmed_at IS NOT NULL'))
    op.drop_index('ix_orders_event_id_status', table_name='orders')
    op.create_index('ix_orders_event_id_status', 'orders', ['event_id', 'status'], unique=False)
    op.drop_table('analytics_type_hours')
    op.drop_table('analytics_hours')
    op.drop_table('analytics_marks')
