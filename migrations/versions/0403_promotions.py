"""Promotions: promotions, promo codes (unique per organization whatever their case),
redemptions (one per order, its order foreign key deferred because the redemption is
written before the order row), and the orders.promo_code_id foreign key.

Revision ID: 0403
Revises: 0401
Create Date: 2026-11-25 12:36:13.580389
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger, drop_updated_at_trigger

TABLES_WITH_UPDATED_AT = ("promotions", "promo_codes")

revision: str = '0403'
down_revision: str | None = '0401'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('promotions',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('percentage', 'fixed_amount', 'buy_x_get_y', name='promotion_kind'), nullable=False),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('amount_off_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('buy_quantity', sa.Integer(), nullable=True),
    sa.Column('get_quantity', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'percentage' AND percent_off BETWEEN 1 AND 100 AND amount_off_minor IS NULL AND currency IS NULL AND buy_quantity IS NULL AND get_quantity IS NULL) OR (kind = 'fixed_amount' AND amount_off_minor > 0 AND currency IS NOT NULL AND percent_off IS NULL AND buy_quantity IS NULL AND get_quantity IS NULL) OR (kind = 'buy_x_get_y' AND buy_quantity >= 1 AND get_quantity >= 1 AND percent_off IS NULL AND amount_off_minor IS NULL AND currency IS NULL)", name=op.f('ck_promotions_terms')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_promotions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_promotions_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_promotions_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions'))
    )
    op.create_index('ix_promotions_event_id', 'promotions', ['event_id'], unique=False)
    op.create_index('ix_promotions_organization_id_created_at', 'promotions', ['organization_id', 'created_at'], unique=False)
    op.create_table('promo_codes',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_user', sa.Integer(), nullable=True),
    sa.Column('used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_uses IS NULL OR max_uses >= 1', name=op.f('ck_promo_codes_max_uses_positive')),
    sa.CheckConstraint('max_uses_per_user IS NULL OR max_uses_per_user >= 1', name=op.f('ck_promo_codes_max_uses_per_user_positive')),
    sa.CheckConstraint('used >= 0 AND (max_uses IS NULL OR used <= max_uses)', name=op.f('ck_promo_codes_uses_within_limit')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_promo_codes_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promo_codes_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_codes'))
    )
    op.create_index('ix_promo_codes_promotion_id', 'promo_codes', ['promotion_id'], unique=False)
    op.create_index('uq_promo_codes_organization_id_lower_code', 'promo_codes', ['organization_id', sa.literal_column('lower(code)')], unique=True)
    op.create_table('promo_redemptions',
    sa.Column('promo_code_id', sa.Uuid(), nullable=False),
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_key', sa.String(length=300), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('discount_minor >= 0', name=op.f('ck_promo_redemptions_discount_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_promo_redemptions_order_id_orders'), ondelete='CASCADE', initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_promo_redemptions_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promo_code_id'], ['promo_codes.id'], name=op.f('fk_promo_redemptions_promo_code_id_promo_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promo_redemptions_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_redemptions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_promo_redemptions_order_id'))
    )
    op.create_index('ix_promo_redemptions_active_by_buyer', 'promo_redemptions', ['promo_code_id', 'buyer_key'], unique=False, postgresql_where=sa.text('released_at IS NULL'))
    op.create_foreign_key(op.f('fk_orders_promo_code_id_promo_codes'), 'orders', 'promo_codes', ['promo_code_id'], ['id'], ondelete='SET NULL')
    for table in TABLES_WITH_UPDATED_AT:
        add_updated_at_trigger(table)


def downgrade() -> None:
    for table in TABLES_WITH_UPDATED_AT:
        drop_updated_at_trigger(table)
    op.drop_constraint(op.f('fk_orders_promo_code_id_promo_codes'), 'orders', type_='foreignkey')
    op.drop_index('ix_promo_redemptions_active_by_buyer', table_name='promo_redemptions', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_table('promo_redemptions')
    op.drop_index('uq_promo_codes_organization_id_lower_code', table_name='promo_codes')
    op.drop_index('ix_promo_codes_promotion_id', table_name='promo_codes')
    op.drop_table('promo_codes')
    op.drop_index('ix_promotions_organization_id_created_at', table_name='promotions')
    op.drop_index('ix_promotions_event_id', table_name='promotions')
    op.drop_table('promotions')
    sa.Enum(name='promotion_kind').drop(op.get_bind(), checkfirst=True)
