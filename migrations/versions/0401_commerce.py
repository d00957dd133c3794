"""Commerce: orders and their items, idempotency keys, payments, refunds, disputes (a
trigger keeps orders.dispute_status in sync), and the seat allocation -> order link.

Revision ID: 0401
Revises: 0002
Create Date: 2026-11-25 12:32:10.929189
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger

TABLES_WITH_UPDATED_AT = ("orders", "payments", "refunds", "disputes")

# An order's dispute status is the status of its latest dispute, kept by the database so
# no code path can forget it.
DISPUTE_SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION sync_order_dispute_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders
    SET dispute_status = (
        SELECT d.status FROM disputes AS d
        WHERE d.order_id = NEW.order_id
        ORDER BY d.opened_at DESC, d.id DESC
        LIMIT 1
    )
    WHERE id = NEW.order_id;
    RETURN NULL;
END;
$$;
"""
from sqlalchemy.dialects import postgresql
revision: str = '0401'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('orders',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_user_id', sa.Uuid(), nullable=True),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'cancelled', 'refunded', name='order_status'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('platform_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('provider_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('fees_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('promo_code_id', sa.Uuid(), nullable=True),
    sa.Column('hold_id', sa.Uuid(), nullable=True),
    sa.Column('payment_provider', sa.String(length=16), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=32), nullable=True),
    sa.Column('dispute_status', sa.Enum('none', 'open', 'won', 'lost', name='dispute_status'), server_default='none', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('subtotal_minor >= 0 AND discount_minor >= 0 AND discount_minor <= subtotal_minor AND fees_minor >= 0 AND total_minor = subtotal_minor - discount_minor + fees_minor AND refunded_minor >= 0 AND refunded_minor <= total_minor', name=op.f('ck_orders_money')),
    sa.ForeignKeyConstraint(['buyer_user_id'], ['users.id'], name=op.f('fk_orders_buyer_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_orders_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_orders_hold_id_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_orders_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_orders_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    op.create_index('ix_orders_buyer_email_status', 'orders', ['buyer_email', 'status'], unique=False)
    op.create_index('ix_orders_buyer_user_id_status', 'orders', ['buyer_user_id', 'status'], unique=False)
    op.create_index('ix_orders_event_id_status', 'orders', ['event_id', 'status'], unique=False)
    op.create_index('ix_orders_organization_id_created_at', 'orders', ['organization_id', 'created_at'], unique=False)
    op.create_index('ix_orders_pending_expiry', 'orders', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_idempotency_keys_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope_key'))
    )
    op.create_index('ix_idempotency_keys_expires_at', 'idempotency_keys', ['expires_at'], unique=False)
    op.create_table('order_items',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('inventory_id', sa.Uuid(), nullable=False),
    sa.Column('price_tier_id', sa.Uuid(), nullable=True),
    sa.Column('hold_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('subtotal_minor', sa.BigInteger(), nullable=False),
    sa.Column('seat_ids', sa.ARRAY(sa.Uuid()), server_default='{}', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0 AND unit_price_minor >= 0', name=op.f('ck_order_items_positive')),
    sa.CheckConstraint('subtotal_minor = quantity * unit_price_minor', name=op.f('ck_order_items_subtotal')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_order_items_hold_id_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inventory_id'], ['inventory.id'], name=op.f('fk_order_items_inventory_id_inventory'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_tier_id'], ['price_tiers.id'], name=op.f('fk_order_items_price_tier_id_price_tiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_order_items_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    op.create_index('ix_order_items_inventory_id', 'order_items', ['inventory_id'], unique=False)
    op.create_index('ix_order_items_order_id', 'order_items', ['order_id'], unique=False)
    op.create_table('payments',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('provider_ref', sa.String(length=128), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('created', 'pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', name='payment_status'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('authorization_url', sa.String(length=500), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_payments_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('order_id', 'idempotency_key', name=op.f('uq_payments_order_id_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_payments_reference'))
    )
    op.create_index('ix_payments_open', 'payments', ['created_at'], unique=False, postgresql_where=sa.text("status IN ('created', 'pending')"))
    op.create_index('ix_payments_order_id', 'payments', ['order_id'], unique=False)
    op.create_index('ix_payments_provider_ref', 'payments', ['provider', 'provider_ref'], unique=False)
    op.create_table('disputes',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_dispute_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.Enum('none', 'open', 'won', 'lost', name='dispute_status'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_disputes_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_disputes_payment_id_payments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('provider', 'provider_dispute_id', name=op.f('uq_disputes_provider_provider_dispute_id'))
    )
    op.create_index(op.f('ix_disputes_order_id'), 'disputes', ['order_id'], unique=False)
    op.create_table('refunds',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', name='refund_status'), nullable=False),
    sa.Column('provider_ref', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_refunds_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_refunds_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    op.create_index(op.f('ix_refunds_order_id'), 'refunds', ['order_id'], unique=False)
    op.create_foreign_key(op.f('fk_seat_allocations_order_id_orders'), 'seat_allocations', 'orders', ['order_id'], ['id'], ondelete='CASCADE', deferrable=True, initially='DEFERRED')
    for table in TABLES_WITH_UPDATED_AT:
        add_updated_at_trigger(table)
    op.execute(DISPUTE_SYNC_FUNCTION)
    op.execute(
        "CREATE TRIGGER disputes_sync_order AFTER INSERT OR UPDATE OF status ON disputes "
        "FOR EACH ROW EXECUTE FUNCTION sync_order_dispute_status()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS disputes_sync_order ON disputes")
    op.execute("DROP FUNCTION IF EXISTS sync_order_dispute_status()")
    op.drop_constraint(op.f('fk_seat_allocations_order_id_orders'), 'seat_allocations', type_='foreignkey')
    op.drop_index(op.f('ix_refunds_order_id'), table_name='refunds')
    op.drop_table('refunds')
    op.drop_index(op.f('ix_disputes_order_id'), table_name='disputes')
    op.drop_table('disputes')
    op.drop_index('ix_payments_provider_ref', table_name='payments')
    op.drop_index('ix_payments_order_id', table_name='payments')
    op.drop_index('ix_payments_open', table_name='payments', postgresql_where=sa.text("status IN ('created', 'pending')"))
    op.drop_table('payments')
    op.drop_index('ix_order_items_order_id', table_name='order_items')
    op.drop_index('ix_order_items_inventory_id', table_name='order_items')
    op.drop_table('order_items')
    op.drop_index('ix_idempotency_keys_expires_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index('ix_orders_pending_expiry', table_name='orders', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_orders_organization_id_created_at', table_name='orders')
    op.drop_index('ix_orders_event_id_status', table_name='orders')
    op.drop_index('ix_orders_buyer_user_id_status', table_name='orders')
    op.drop_index('ix_orders_buyer_email_status', table_name='orders')
    op.drop_table('orders')
    for enum in ("refund_status", "payment_status", "dispute_status", "order_status"):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
