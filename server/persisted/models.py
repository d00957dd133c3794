from __future__ import annotations

import uuid

from sqlalchemy import ARRAY, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class TrustedDocument(IdMixin, TimestampMixin, Base):
    """An operation an organization registered; with PERSISTED_QUERIES_ONLY_FOR_API_KEYS its
    API keys may run nothing else. `hash` is the SHA-256 of `document`, lowercase hex."""

    __tablename__ = "trusted_documents"
    __table_args__ = (UniqueConstraint("organization_id", "hash"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    operation_names: Mapped[list[str]] = mapped_column(ARRAY(String(200)))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
