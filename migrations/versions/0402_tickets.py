"""Tickets (one per admission, with a unique signed QR payload), check-ins (unique per
ticket and occurrence, so one of several simultaneous scans wins) and ticket transfers
(at most one pending per ticket).

Revision ID: 0402
Revises: 0401
Create Date: 2026-11-25 12:36:58.202720
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger, drop_updated_at_trigger

TABLES_WITH_UPDATED_AT = ("tickets", "ticket_transfers")

revision: str = '0402'
down_revision: str | None = '0401'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tickets',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('event_seat_id', sa.Uuid(), nullable=True),
    sa.Column('holder_user_id', sa.Uuid(), nullable=True),
    sa.Column('holder_email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('valid', 'used', 'cancelled', 'transferred', name='ticket_status'), nullable=False),
    sa.Column('serial', sa.LargeBinary(length=16), nullable=False),
    sa.Column('qr_payload', sa.String(length=255), nullable=False),
    sa.Column('transferred_from_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('position >= 0', name=op.f('ck_tickets_position_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tickets_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_seat_id'], ['event_seats.id'], name=op.f('fk_tickets_event_seat_id_event_seats'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['holder_user_id'], ['users.id'], name=op.f('fk_tickets_holder_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_tickets_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_tickets_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_tickets_order_item_id_order_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_tickets_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_tickets_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transferred_from_id'], ['tickets.id'], name=op.f('fk_tickets_transferred_from_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    op.create_index('ix_tickets_holder_email_lower', 'tickets', [sa.literal_column('lower(holder_email)')], unique=False)
    op.create_index('ix_tickets_holder_user_id', 'tickets', ['holder_user_id'], unique=False)
    op.create_index('ix_tickets_occurrence_id_status', 'tickets', ['occurrence_id', 'status'], unique=False)
    op.create_index('ix_tickets_order_id', 'tickets', ['order_id'], unique=False)
    op.create_index('uq_tickets_order_item_id_position', 'tickets', ['order_item_id', 'position'], unique=True, postgresql_where=sa.text('transferred_from_id IS NULL'))
    op.create_index('uq_tickets_qr_payload', 'tickets', ['qr_payload'], unique=True)
    op.create_table('check_ins',
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('scanned_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('scanned_by_api_key_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_check_ins_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_check_ins_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scanned_by_api_key_id'], ['api_keys.id'], name=op.f('fk_check_ins_scanned_by_api_key_id_api_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scanned_by_user_id'], ['users.id'], name=op.f('fk_check_ins_scanned_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_check_ins_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
    sa.UniqueConstraint('ticket_id', 'occurrence_id', name=op.f('uq_check_ins_ticket_id_occurrence_id'))
    )
    op.create_index('ix_check_ins_occurrence_id_at', 'check_ins', ['occurrence_id', 'at'], unique=False)
    op.create_table('ticket_transfers',
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('from_user_id', sa.Uuid(), nullable=True),
    sa.Column('recipient_email', sa.String(length=254), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'cancelled', name='transfer_status'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('new_ticket_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_user_id'], ['users.id'], name=op.f('fk_ticket_transfers_accepted_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_ticket_transfers_from_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['new_ticket_id'], ['tickets.id'], name=op.f('fk_ticket_transfers_new_ticket_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ticket_transfers_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_transfers_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_transfers')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ticket_transfers_token_hash'))
    )
    op.create_index('ix_ticket_transfers_recipient_email', 'ticket_transfers', ['recipient_email'], unique=False)
    op.create_index('ix_ticket_transfers_ticket_id', 'ticket_transfers', ['ticket_id'], unique=False)
    op.create_index('uq_ticket_transfers_pending', 'ticket_transfers', ['ticket_id'], unique=True, postgresql_where=sa.text("status = 'pending'"))
    for table in TABLES_WITH_UPDATED_AT:
        add_updated_at_trigger(table)


def downgrade() -> None:
    for table in TABLES_WITH_UPDATED_AT:
        drop_updated_at_trigger(table)
    op.drop_index('uq_ticket_transfers_pending', table_name='ticket_transfers', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_ticket_transfers_ticket_id', table_name='ticket_transfers')
    op.drop_index('ix_ticket_transfers_recipient_email', table_name='ticket_transfers')
    op.drop_table('ticket_transfers')
    op.drop_index('ix_check_ins_occurrence_id_at', table_name='check_ins')
    op.drop_table('check_ins')
    op.drop_index('uq_tickets_qr_payload', table_name='tickets')
    op.drop_index('uq_tickets_order_item_id_position', table_name='tickets', postgresql_where=sa.text('transferred_from_id IS NULL'))
    op.drop_index('ix_tickets_order_id', table_name='tickets')
    op.drop_index('ix_tickets_occurrence_id_status', table_name='tickets')
    op.drop_index('ix_tickets_holder_user_id', table_name='tickets')
    op.drop_index('ix_tickets_holder_email_lower', table_name='tickets')
    op.drop_table('tickets')
    for enum in ("transfer_status", "ticket_status"):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
