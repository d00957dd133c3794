from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254))  # canonical (server.auth.emails)
    # Its UTS #39 skeleton, to find accounts that read alike. NULL only for an account
    # whose address, once normalized, clashed with an older one's (migration 0960).
    email_skeleton: Mapped[str | None] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(100))


# Emails are stored normalized, and unique regardless of case.
Index("uq_users_email_lower", func.lower(User.email), unique=True)
Index("ix_users_email_skeleton", User.email_skeleton)


class Session(IdMixin, TimestampMixin, Base):
    """One refresh token's life. Rotation creates the next row in the same family; a
    presented token whose row is already rotated is a reuse, which revokes the family."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_family_id", "family_id"),
        Index("ix_sessions_user_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    token: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the refresh token
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))
