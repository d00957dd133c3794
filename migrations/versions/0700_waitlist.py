"""Waitlist: ticket types may keep one; entries in order, and the freed units kept for it.

Revision ID: 0700
Revises: 0500
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger

revision: str = '0700'
down_revision: str | None = '0500'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum('waiting', 'offered', 'accepted', 'expired', 'left', name='waitlist_status')


def upgrade() -> None:
    op.add_column('ticket_types', sa.Column('waitlist_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('ticket_types', sa.Column('waitlist_offer_ttl', sa.Integer(), server_default='3600', nullable=False))
    op.create_check_constraint(
        op.f('ck_ticket_types_waitlist_offer_ttl_range'),
        'ticket_types',
        'waitlist_offer_ttl BETWEEN 60 AND 604800',
    )
    op.create_table('waitlist_entries',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('inventory_id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', STATUS, nullable=False),
    sa.Column('hold_id', sa.Uuid(), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_waitlist_entries_quantity_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_waitlist_entries_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_waitlist_entries_hold_id_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inventory_id'], ['inventory.id'], name=op.f('fk_waitlist_entries_inventory_id_inventory'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_waitlist_entries_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_waitlist_entries_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_waitlist_entries_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_waitlist_entries_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    sa.UniqueConstraint('sequence', name=op.f('uq_waitlist_entries_sequence')),
    )
    op.create_index('uq_waitlist_entries_active_email', 'waitlist_entries', ['inventory_id', 'email'], unique=True, postgresql_where=sa.text("status IN ('waiting', 'offered')"))
    op.create_index('ix_waitlist_entries_waiting', 'waitlist_entries', ['inventory_id', 'sequence'], unique=False, postgresql_where=sa.text("status = 'waiting'"))
    op.create_index('ix_waitlist_entries_offer_expiry', 'waitlist_entries', ['offer_expires_at'], unique=False, postgresql_where=sa.text("status = 'offered'"))
    op.create_index('ix_waitlist_entries_hold_id', 'waitlist_entries', ['hold_id'], unique=False)
    op.create_index('ix_waitlist_entries_user_id', 'waitlist_entries', ['user_id'], unique=False)
    op.create_index('ix_waitlist_entries_email', 'waitlist_entries', ['email'], unique=False)
    op.create_index('ix_waitlist_entries_event_id_status', 'waitlist_entries', ['event_id', 'status'], unique=False)
    add_updated_at_trigger('waitlist_entries')
    op.create_table('waitlist_pools',
    sa.Column('inventory_id', sa.Uuid(), nullable=False),
    sa.Column('units', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('units >= 0', name=op.f('ck_waitlist_pools_units_not_negative')),
    sa.ForeignKeyConstraint(['inventory_id'], ['inventory.id'], name=op.f('fk_waitlist_pools_inventory_id_inventory'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inventory_id', name=op.f('pk_waitlist_pools')),
    )


def downgrade() -> None:
    op.drop_table('waitlist_pools')
    op.drop_table('waitlist_entries')
    STATUS.drop(op.get_bind(), checkfirst=True)
    op.drop_constraint(op.f('ck_ticket_types_waitlist_offer_ttl_range'), 'ticket_types', type_='check')
    op.drop_column('ticket_types', 'waitlist_offer_ttl')
    op.drop_column('ticket_types', 'waitlist_enabled')
