"""Promotions, their codes, and the redemptions that spend a code's uses.

A code's `used` counter moves only by conditional statements (see service.py), and its
check constraint `used <= max_uses` is the backstop: no interleaving of buyers can spend a
use that is not there. A redemption belongs to one order and is released at most once.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum
from server.orders.models import Order

# What a promo code may look like (case is kept, but ignored when comparing).
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{3,32}")


class PromotionKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    BUY_X_GET_Y = "buy_x_get_y"


# Each kind carries its own terms and none of the others'.
_TERMS = """
(kind = 'percentage' AND percent_off BETWEEN 1 AND 100
    AND amount_off_minor IS NULL AND currency IS NULL
    AND buy_quantity IS NULL AND get_quantity IS NULL)
OR (kind = 'fixed_amount' AND amount_off_minor > 0 AND currency IS NOT NULL
    AND percent_off IS NULL AND buy_quantity IS NULL AND get_quantity IS NULL)
OR (kind = 'buy_x_get_y' AND buy_quantity >= 1 AND get_quantity >= 1
    AND percent_off IS NULL AND amount_off_minor IS NULL AND currency IS NULL)
"""


class Promotion(IdMixin, TimestampMixin, Base):
    """A discount rule of an organization; `event_id` NULL means every event of it."""

    __tablename__ = "promotions"
    __table_args__ = (
        Index("ix_promotions_organization_id_created_at", "organization_id", "created_at"),
        Index("ix_promotions_event_id", "event_id"),
        CheckConstraint(" ".join(_TERMS.split()), name="terms"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PromotionKind] = mapped_column(pg_enum(PromotionKind, "promotion_kind"))
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class PromoCode(IdMixin, TimestampMixin, Base):
    """What a buyer types. Unique per organization whatever its case (the index on
    `lower(code)`); `used` counts the active redemptions."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        Index("ix_promo_codes_promotion_id", "promotion_id"),
        CheckConstraint(
            "used >= 0 AND (max_uses IS NULL OR used <= max_uses)", name="uses_within_limit"
        ),
        CheckConstraint("max_uses IS NULL OR max_uses >= 1", name="max_uses_positive"),
        CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user >= 1",
            name="max_uses_per_user_positive",
        ),
    )

    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(32))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_user: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    expires_at: Mapped[datetime | None]


Index(
    "uq_promo_codes_organization_id_lower_code",
    PromoCode.organization_id,
    func.lower(PromoCode.code),
    unique=True,
)


class PromoRedemption(IdMixin, Base):
    """One order's use of a code. `order_id` references the order through a foreign key
    that is DEFERRABLE INITIALLY DEFERRED: the redemption is written before the order row,
    which createOrder inserts right after in the same transaction."""

    __tablename__ = "promo_redemptions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        # The per-user limit counts a buyer's active redemptions of a code.
        Index(
            "ix_promo_redemptions_active_by_buyer",
            "promo_code_id",
            "buyer_key",
            postgresql_where=text("released_at IS NULL"),
        ),
        CheckConstraint("discount_minor >= 0", name="discount_not_negative"),
    )

    promo_code_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("promo_codes.id", ondelete="CASCADE")
    )
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    order_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    buyer_key: Mapped[str] = mapped_column(String(300))
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    released_at: Mapped[datetime | None]


# `orders.promo_code_id` is declared by the orders model as a plain column (the orders
# migration comes before this one); the foreign key to promo_codes belongs here.
orders_table = Order.__table__
assert isinstance(orders_table, Table)
orders_table.append_constraint(
    ForeignKeyConstraint(["promo_code_id"], ["promo_codes.id"], ondelete="SET NULL")
)
