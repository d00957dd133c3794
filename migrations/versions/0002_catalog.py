"""Catalog: venues, seatmaps, events and occurrences, the event seat snapshot (by trigger),
assets, ticket types, price tiers (no overlapping windows, by exclusion constraint),
per-occurrence inventory, holds and seat allocations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:21:53.895900
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger

TABLES_WITH_UPDATED_AT = (
    "venues",
    "seatmaps",
    "events",
    "event_occurrences",
    "event_assets",
    "ticket_types",
    "price_tiers",
    "inventory",
    "holds",
    "seat_allocations",
)

# When an event is created from a venue seatmap, copy the seats into the event's own
# snapshot in the same statement's transaction: what an event sells never changes when
# the venue's seatmap is edited later.
SNAPSHOT_FUNCTION = """
CREATE OR REPLACE FUNCTION snapshot_event_seatmap() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seatmap_id IS NOT NULL THEN
        INSERT INTO event_seats (id, event_id, source_seat_id, section, "row", number)
        SELECT uuidv7(), NEW.id, s.id, s.section, s."row", s.number
        FROM seats s
        WHERE s.seatmap_id = NEW.seatmap_id;
    END IF;
    RETURN NULL;
END;
$$;
"""
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('venues',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_venues_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues'))
    )
    op.create_index(op.f('ix_venues_organization_id'), 'venues', ['organization_id'], unique=False)
    op.create_table('seatmaps',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('venue_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('seat_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_seatmaps_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_seatmaps_venue_id_venues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seatmaps'))
    )
    op.create_index(op.f('ix_seatmaps_organization_id'), 'seatmaps', ['organization_id'], unique=False)
    op.create_index(op.f('ix_seatmaps_venue_id'), 'seatmaps', ['venue_id'], unique=False)
    op.create_table('events',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('venue_id', sa.Uuid(), nullable=True),
    sa.Column('seatmap_id', sa.Uuid(), nullable=True),
    sa.Column('seatmap_name', sa.String(length=200), nullable=True),
    sa.Column('slug', sa.String(length=96), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'published', 'completed', 'cancelled', name='event_status'), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('refund_policy', sa.Text(), nullable=True),
    sa.Column('transfer_allowed', sa.Boolean(), nullable=False),
    sa.Column('cancellation_policy', sa.Text(), nullable=True),
    sa.Column('refund_deadline_hours', sa.Integer(), nullable=True),
    sa.Column('guest_checkout', sa.Boolean(), nullable=False),
    sa.Column('first_starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('search', postgresql.TSVECTOR(), sa.Computed("to_tsvector('simple', coalesce(title, ''))", persisted=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('refund_deadline_hours IS NULL OR refund_deadline_hours >= 0', name=op.f('ck_events_refund_deadline')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seatmap_id'], ['seatmaps.id'], name=op.f('fk_events_seatmap_id_seatmaps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_events_venue_id_venues'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('slug', name=op.f('uq_events_slug'))
    )
    op.create_index('ix_events_organization_id_status', 'events', ['organization_id', 'status'], unique=False)
    op.create_index('ix_events_public_listing', 'events', ['first_starts_at', 'id'], unique=False, postgresql_where=sa.text("status = 'published'"))
    op.create_index('ix_events_title_trgm', 'events', [sa.literal_column('lower(title)')], unique=False, postgresql_using='gin', postgresql_ops={'lower(title)': 'gin_trgm_ops'})
    op.create_table('seats',
    sa.Column('seatmap_id', sa.Uuid(), nullable=False),
    sa.Column('section', sa.String(length=64), nullable=False),
    sa.Column('row', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['seatmap_id'], ['seatmaps.id'], name=op.f('fk_seats_seatmap_id_seatmaps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seats')),
    sa.UniqueConstraint('seatmap_id', 'section', 'row', 'number', name=op.f('uq_seats_seatmap_id_section_row_number'))
    )
    op.create_index('ix_seats_seatmap_id_section', 'seats', ['seatmap_id', 'section'], unique=False)
    op.create_table('event_assets',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('image', 'pdf', 'video', 'seatmap_render', name='asset_kind'), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_assets_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_event_assets_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_assets')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_event_assets_storage_key'))
    )
    op.create_index(op.f('ix_event_assets_event_id'), 'event_assets', ['event_id'], unique=False)
    op.create_table('event_occurrences',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('allocated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('allocated >= 0 AND (capacity IS NULL OR allocated <= capacity)', name=op.f('ck_event_occurrences_within_capacity')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_event_occurrences_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_event_occurrences_ends_after_start')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_occurrences_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_event_occurrences_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_occurrences'))
    )
    op.create_index('ix_event_occurrences_event_id_starts_at', 'event_occurrences', ['event_id', 'starts_at'], unique=False)
    op.create_table('event_seats',
    sa.Column('id', sa.Uuid(), server_default=sa.text('uuidv7()'), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('source_seat_id', sa.Uuid(), nullable=True),
    sa.Column('section', sa.String(length=64), nullable=False),
    sa.Column('row', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_seats_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_seats')),
    sa.UniqueConstraint('event_id', 'section', 'row', 'number', name=op.f('uq_event_seats_event_id_section_row_number'))
    )
    op.create_index('ix_event_seats_event_id_section', 'event_seats', ['event_id', 'section'], unique=False)
    op.create_table('ticket_types',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('min_per_order', sa.Integer(), nullable=False),
    sa.Column('max_per_order', sa.Integer(), nullable=False),
    sa.Column('max_per_buyer', sa.Integer(), nullable=True),
    sa.Column('sales_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sales_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('visibility', sa.Enum('public', 'private', name='visibility'), nullable=False),
    sa.Column('sections', sa.ARRAY(sa.String(length=64)), server_default='{}', nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_per_buyer IS NULL OR max_per_buyer >= min_per_order', name=op.f('ck_ticket_types_buyer_limit')),
    sa.CheckConstraint('min_per_order >= 1 AND max_per_order >= min_per_order', name=op.f('ck_ticket_types_order_limits')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_ticket_types_price_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_ticket_types_quantity_positive')),
    sa.CheckConstraint('sales_end IS NULL OR sales_start IS NULL OR sales_end > sales_start', name=op.f('ck_ticket_types_sales_window')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_ticket_types_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ticket_types_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_types'))
    )
    op.create_index('ix_ticket_types_event_id', 'ticket_types', ['event_id'], unique=False)
    op.create_table('inventory',
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reserved', sa.Integer(), server_default='0', nullable=False),
    sa.Column('held', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('sold >= 0 AND reserved >= 0 AND held >= 0 AND sold + reserved + held <= quantity', name=op.f('ck_inventory_never_oversold')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_inventory_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_inventory_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_inventory_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory')),
    sa.UniqueConstraint('ticket_type_id', 'occurrence_id', name=op.f('uq_inventory_ticket_type_id_occurrence_id'))
    )
    op.create_index('ix_inventory_event_id', 'inventory', ['event_id'], unique=False)
    op.create_index('ix_inventory_occurrence_id', 'inventory', ['occurrence_id'], unique=False)
    op.create_table('price_tiers',
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_quantity', sa.Integer(), nullable=True),
    sa.Column('allocated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('ticket_type_id'), '='), (sa.text("tstzrange(starts_at, ends_at, '[)')"), '&&'), using='gist', name='excl_price_tiers_no_overlap'),
    sa.CheckConstraint('allocated >= 0 AND (max_quantity IS NULL OR allocated <= max_quantity)', name=op.f('ck_price_tiers_within_max')),
    sa.CheckConstraint('ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at', name=op.f('ck_price_tiers_window')),
    sa.CheckConstraint('max_quantity IS NULL OR max_quantity > 0', name=op.f('ck_price_tiers_max_quantity_positive')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_price_tiers_price_not_negative')),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_price_tiers_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_tiers'))
    )
    op.create_index(op.f('ix_price_tiers_ticket_type_id'), 'price_tiers', ['ticket_type_id'], unique=False)
    op.create_table('holds',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('inventory_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('quantity > 0 AND used >= 0 AND used <= quantity', name=op.f('ck_holds_usage')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_holds_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inventory_id'], ['inventory.id'], name=op.f('fk_holds_inventory_id_inventory'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_holds_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_holds_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
    sa.UniqueConstraint('token', name=op.f('uq_holds_token'))
    )
    op.create_index('ix_holds_active_expiry', 'holds', ['expires_at'], unique=False, postgresql_where=sa.text('released_at IS NULL'))
    op.create_index('ix_holds_inventory_id', 'holds', ['inventory_id'], unique=False)
    op.create_table('seat_allocations',
    sa.Column('occurrence_id', sa.Uuid(), nullable=False),
    sa.Column('event_seat_id', sa.Uuid(), nullable=False),
    sa.Column('ticket_type_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.Enum('held', 'reserved', 'sold', name='seat_state'), nullable=False),
    sa.Column('hold_id', sa.Uuid(), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['event_seat_id'], ['event_seats.id'], name=op.f('fk_seat_allocations_event_seat_id_event_seats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_seat_allocations_hold_id_holds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occurrence_id'], ['event_occurrences.id'], name=op.f('fk_seat_allocations_occurrence_id_event_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_seat_allocations_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_allocations'))
    )
    op.create_index('ix_seat_allocations_hold_id', 'seat_allocations', ['hold_id'], unique=False)
    op.create_index('ix_seat_allocations_order_id', 'seat_allocations', ['order_id'], unique=False)
    op.create_index('uq_seat_allocations_active', 'seat_allocations', ['occurrence_id', 'event_seat_id'], unique=True, postgresql_where=sa.text('released_at IS NULL'))
    for table in TABLES_WITH_UPDATED_AT:
        add_updated_at_trigger(table)
    op.execute(SNAPSHOT_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_snapshot_seatmap AFTER INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION snapshot_event_seatmap()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_snapshot_seatmap ON events")
    op.execute("DROP FUNCTION IF EXISTS snapshot_event_seatmap()")
    op.drop_index('uq_seat_allocations_active', table_name='seat_allocations', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_index('ix_seat_allocations_order_id', table_name='seat_allocations')
    op.drop_index('ix_seat_allocations_hold_id', table_name='seat_allocations')
    op.drop_table('seat_allocations')
    op.drop_index('ix_holds_inventory_id', table_name='holds')
    op.drop_index('ix_holds_active_expiry', table_name='holds', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_table('holds')
    op.drop_index(op.f('ix_price_tiers_ticket_type_id'), table_name='price_tiers')
    op.drop_table('price_tiers')
    op.drop_index('ix_inventory_occurrence_id', table_name='inventory')
    op.drop_index('ix_inventory_event_id', table_name='inventory')
    op.drop_table('inventory')
    op.drop_index('ix_ticket_types_event_id', table_name='ticket_types')
    op.drop_table('ticket_types')
    op.drop_index('ix_event_seats_event_id_section', table_name='event_seats')
    op.drop_table('event_seats')
    op.drop_index('ix_event_occurrences_event_id_starts_at', table_name='event_occurrences')
    op.drop_table('event_occurrences')
    op.drop_index(op.f('ix_event_assets_event_id'), table_name='event_assets')
    op.drop_table('event_assets')
    op.drop_index('ix_seats_seatmap_id_section', table_name='seats')
    op.drop_table('seats')
    op.drop_index('ix_events_title_trgm', table_name='events', postgresql_using='gin')
    op.drop_index('ix_events_public_listing', table_name='events', postgresql_where=sa.text("status = 'published'"))
    op.drop_index('ix_events_organization_id_status', table_name='events')
    op.drop_table('events')
    op.drop_index(op.f('ix_seatmaps_venue_id'), table_name='seatmaps')
    op.drop_index(op.f('ix_seatmaps_organization_id'), table_name='seatmaps')
    op.drop_table('seatmaps')
    op.drop_index(op.f('ix_venues_organization_id'), table_name='venues')
    op.drop_table('venues')
    for enum in ("seat_state", "visibility", "asset_kind", "event_status"):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
