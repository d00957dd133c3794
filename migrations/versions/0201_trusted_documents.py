"""Trusted documents: the operations an organization registers for its API keys.

Revision ID: 0201
Revises: 0001
Create Date: 2026-11-25 12:46:42.053162
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import add_updated_at_trigger, drop_updated_at_trigger

revision: str = '0201'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trusted_documents',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('operation_names', sa.ARRAY(sa.String(length=200)), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_trusted_documents_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_trusted_documents_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_documents')),
    sa.UniqueConstraint('organization_id', 'hash', name=op.f('uq_trusted_documents_organization_id_hash'))
    )
    add_updated_at_trigger('trusted_documents')


def downgrade() -> None:
    drop_updated_at_trigger('trusted_documents')
    op.drop_table('trusted_documents')
