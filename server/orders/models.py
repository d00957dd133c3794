from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class DisputeStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class PaymentStatus(StrEnum):
    CREATED = "created"
    PENDING = "pending"  # the provider has it; waiting for the buyer
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Order(IdMixin, TimestampMixin, Base):
    """Money is integer minor units in `currency`. `total = subtotal - discount + fees`,
    computed by server.orders.pricing only, and stored.

    Partitioned by month of `id` (a UUIDv7, so of creation; docs/partitioning.md): a
    lookup by id reads one partition, and `id` stays the only key."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_buyer_user_id_status", "buyer_user_id", "status"),
        Index("ix_orders_buyer_email_status", "buyer_email", "status"),
        Index(
            "ix_orders_pending_expiry", "expires_at", postgresql_where=text("status = 'pending'")
        ),
        # Covering for analytics' order counts by state and date (index-only).
        Index(
            "ix_orders_event_id_status",
            "event_id",
            "status",
            postgresql_include=["occurrence_id", "cancel_reason"],
        ),
        # Paid orders by when they were paid: analytics' rollup and its live tail.
        Index(
            "ix_orders_event_id_confirmed_at",
            "event_id",
            "confirmed_at",
            postgresql_where=text("confirmed_at IS NOT NULL"),
        ),
        Index("ix_orders_organization_id_created_at", "organization_id", "created_at"),
        CheckConstraint(
            "subtotal_minor >= 0 AND discount_minor >= 0 AND discount_minor <= subtotal_minor "
            "AND fees_minor >= 0 AND total_minor = subtotal_minor - discount_minor + fees_minor "
            "AND refunded_minor >= 0 AND refunded_minor <= total_minor",
            name="money",
        ),
        {"postgresql_partition_by": "RANGE (id)"},
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    buyer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    buyer_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[OrderStatus] = mapped_column(
        pg_enum(OrderStatus, "order_status"), default=OrderStatus.PENDING
    )
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    platform_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    provider_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    promo_code_id: Mapped[uuid.UUID | None]
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"))
    payment_provider: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    # Kept in step with the disputes table by the `disputes_sync_order` trigger.
    dispute_status: Mapped[DisputeStatus] = mapped_column(
        pg_enum(DisputeStatus, "dispute_status"), default=DisputeStatus.NONE, server_default="none"
    )


class OrderItem(IdMixin, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        Index("ix_order_items_order_id", "order_id"),
        Index("ix_order_items_inventory_id", "inventory_id"),
        # Orders drawn on a hold (few): whether a waitlist offer still has a standing order.
        Index("ix_order_items_hold_id", "hold_id", postgresql_where=text("hold_id IS NOT NULL")),
        CheckConstraint("quantity > 0 AND unit_price_minor >= 0", name="positive"),
        CheckConstraint("subtotal_minor = quantity * unit_price_minor", name="subtotal"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    inventory_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory.id", ondelete="CASCADE"))
    price_tier_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("price_tiers.id", ondelete="SET NULL")
    )
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    seat_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default="{}"
    )


class IdempotencyKey(IdMixin, Base):
    """A client's retry key for createOrder, scoped to the caller and kept at least 24
    hours: the same key and input return the same order; other input is a conflict."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime]


class Payment(IdMixin, TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("order_id", "idempotency_key"),
        Index("ix_payments_order_id", "order_id"),
        Index("ix_payments_provider_ref", "provider", "provider_ref"),
        Index(
            "ix_payments_open",
            "created_at",
            postgresql_where=text("status IN ('created', 'pending')"),
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    provider: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # ours, sent to the provider
    provider_ref: Mapped[str | None] = mapped_column(String(128))  # theirs (intent id, ...)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[PaymentStatus] = mapped_column(
        pg_enum(PaymentStatus, "payment_status"), default=PaymentStatus.CREATED
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    client_secret: Mapped[str | None] = mapped_column(String(255))
    authorization_url: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    succeeded_at: Mapped[datetime | None]


class Refund(IdMixin, TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        # Refunds by when they succeeded (a succeeded refund is never updated again).
        Index(
            "ix_refunds_succeeded_updated_at",
            "updated_at",
            postgresql_where=text("status = 'succeeded'"),
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL")
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RefundStatus] = mapped_column(
        pg_enum(RefundStatus, "refund_status"), default=RefundStatus.PENDING
    )
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Dispute(IdMixin, TimestampMixin, Base):
    """A chargeback, as the provider reports it. The `disputes_sync_order` trigger keeps
    `orders.dispute_status` equal to the state of the order's latest dispute."""

    __tablename__ = "disputes"
    __table_args__ = (UniqueConstraint("provider", "provider_dispute_id"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(String(16))
    provider_dispute_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[DisputeStatus] = mapped_column(pg_enum(DisputeStatus, "dispute_status"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
