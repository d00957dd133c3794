"""One head again: the capability branches (webhooks, trusted documents, payment events,
tickets, reports) grew side by side; new migrations build on this revision.

Revision ID: 0500
Revises: 0101, 0201, 0301, 0402, 0404
Create Date: 2026-11-25 14:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

revision: str = '0500'
down_revision: str | Sequence[str] | None = ('0101', '0201', '0301', '0402', '0404')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
