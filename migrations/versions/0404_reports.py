"""Reports: files organizers ask for, built by the reports worker with visible progress.

Revision ID: 0404
Revises: 0403
Create Date: 2026-11-25 13:09:14.707385
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger

revision: str = '0404'
down_revision: str | None = '0403'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('orders_csv', 'attendees_csv', 'sales_summary', name='report_kind'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='report_status'), nullable=False),
    sa.Column('rows_done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_reports_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_reports_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_reports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    op.create_index('ix_reports_event_id_created_at', 'reports', ['event_id', 'created_at'], unique=False)
    add_updated_at_trigger('reports')


def downgrade() -> None:
    op.drop_index('ix_reports_event_id_created_at', table_name='reports')
    op.drop_table('reports')
    for enum in ('report_status', 'report_kind'):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
