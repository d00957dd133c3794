from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class JobDeadLetter(IdMixin, TimestampMixin, Base):
    """A job that used all its tries (or an outbox consumer that failed): what it was, what
    it was given and the last error, for an operator to inspect and replay."""

    __tablename__ = "job_dead_letters"

    queue: Mapped[str] = mapped_column(String(64))
    function: Mapped[str] = mapped_column(String(200))
    job_id: Mapped[str | None] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str] = mapped_column(Text)
    tries: Mapped[int] = mapped_column(Integer)
