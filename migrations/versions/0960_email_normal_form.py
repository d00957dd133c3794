"""Emails in their normal form, and each account's confusable skeleton.

Stored addresses are rewritten in the canonical form `server.auth.emails` gives (NFKC,
invisible characters removed, lower case, no trailing dot, Unicode domain), and every
account gets the UTS #39 skeleton used to refuse look-alike registrations. An account
whose address, once normalized, is another account's (two accounts for what reads as one
address, made before the normalization) keeps its address as stored and no skeleton: the
account already holding the normal form (or else the oldest) keeps it, and an operator
settles the rest (docs/identity.md lists them with `email_skeleton IS NULL`). Guest
orders, tickets, transfers and waitlist entries are normalized too, so they meet their
accounts; a waitlist entry that would then duplicate an active one keeps its address.

Revision ID: 0960
Revises: 0700
Create Date: 2026-12-03 01:00:00
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.auth.emails import email_skeleton, normalize_email

revision: str = '0960'
down_revision: str | None = '0700'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 1000
# Values that normalization may change: non-ASCII, upper case, untrimmed, a trailing dot
# or an ASCII-spelled international domain. Anything else is already in normal form.
MAY_CHANGE = (
    "(octet_length({c}) <> char_length({c}) OR {c} <> lower({c}) OR {c} <> btrim({c})"
    " OR {c} LIKE '%.' OR {c} LIKE '%xn--%')"
)
GUEST_COLUMNS = [
    ("orders", "buyer_email"),
    ("tickets", "holder_email"),
    ("ticket_transfers", "recipient_email"),
]


def upgrade() -> None:
    op.add_column('users', sa.Column('email_skeleton', sa.String(length=1024), nullable=True))
    op.create_index('ix_users_email_skeleton', 'users', ['email_skeleton'], unique=False)
    conn = op.get_bind()
    _normalize_users(conn)
    for table, column in GUEST_COLUMNS:
        _normalize_column(conn, table, column)
    _normalize_waitlist(conn)


def _normalize_users(conn: sa.Connection) -> None:
    rows = conn.execute(sa.text("SELECT id, email FROM users ORDER BY created_at, id")).all()
    unchanged: list[dict[str, object]] = []
    changing = []
    for user_id, email in rows:
        canonical = normalize_email(email)
        if canonical == email:
            unchanged.append({"id": user_id, "skeleton": email_skeleton(canonical)})
        else:
            changing.append((user_id, email, canonical))
    for start in range(0, len(unchanged), BATCH):
        conn.execute(
            sa.text("UPDATE users SET email_skeleton = :skeleton WHERE id = :id"),
            unchanged[start : start + BATCH],
        )
    for user_id, email, canonical in changing:  # oldest first
        taken = conn.scalar(
            sa.text("SELECT id FROM users WHERE lower(email) = lower(:email) AND id <> :id"),
            {"email": canonical, "id": user_id},
        )
        if taken is not None:
            log.warning(
                "account %s (%r) reads as account %s's address %r: left as stored",
                user_id, email, taken, canonical,
            )
            continue
        conn.execute(
            sa.text("UPDATE users SET email = :email, email_skeleton = :skeleton WHERE id = :id"),
            {"email": canonical, "skeleton": email_skeleton(canonical), "id": user_id},
        )


def _changes(conn: sa.Connection, table: str, column: str) -> list[dict[str, str]]:
    found = conn.execute(
        sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {MAY_CHANGE.format(c=column)}")
    ).scalars()
    return [
        {"old": value, "new": normalize_email(value)}
        for value in found
        if normalize_email(value) != value
    ]


def _normalize_column(conn: sa.Connection, table: str, column: str) -> None:
    changes = _changes(conn, table, column)
    if changes:
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), changes
        )


def _normalize_waitlist(conn: sa.Connection) -> None:
    changes = _changes(conn, "waitlist_entries", "email")
    if not changes:
        return
    conn.execute(
        sa.text(
            """
            UPDATE waitlist_entries w SET email = :new
            WHERE w.email = :old AND NOT (
              w.status IN ('waiting', 'offered') AND EXISTS (
                SELECT 1 FROM waitlist_entries o
                WHERE o.inventory_id = w.inventory_id AND o.email = :new
                  AND o.status IN ('waiting', 'offered')))
            """
        ),
        changes,
    )


def downgrade() -> None:
    # Addresses stay in their normal form: it is what they always meant.
    op.drop_index('ix_users_email_skeleton', table_name='users')
    op.drop_column('users', 'email_skeleton')
