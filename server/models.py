"""Every model, imported once so `Base.metadata` knows all tables (Alembic, tests)."""

from server.analytics.models import AnalyticsHour, AnalyticsMark, AnalyticsTypeHour
from server.apikeys.models import ApiKey
from server.auth.models import Session, User
from server.db import Base
from server.events.models import Event, EventAsset, EventOccurrence, EventSeat
from server.jobs.models import JobDeadLetter
from server.orders.models import Dispute, IdempotencyKey, Order, OrderItem, Payment, Refund
from server.organizations.models import Membership, Organization
from server.outbox.models import OutboxEvent
from server.payments.models import PaymentEvent
from server.persisted.models import TrustedDocument
from server.promotions.models import PromoCode, PromoRedemption, Promotion
from server.reports.models import Report
from server.ticketing.models import Hold, Inventory, PriceTier, SeatAllocation, TicketType
from server.tickets.models import CheckIn, Ticket, TicketTransfer
from server.venues.models import Seat, Seatmap, Venue
from server.waitlist.models import WaitlistEntry, WaitlistPool
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AnalyticsHour",
    "AnalyticsMark",
    "AnalyticsTypeHour",
    "ApiKey",
    "Base",
    "CheckIn",
    "Dispute",
    "Event",
    "EventAsset",
    "EventOccurrence",
    "EventSeat",
    "Hold",
    "IdempotencyKey",
    "Inventory",
    "JobDeadLetter",
    "Membership",
    "Order",
    "OrderItem",
    "Organization",
    "OutboxEvent",
    "Payment",
    "PaymentEvent",
    "PriceTier",
    "PromoCode",
    "PromoRedemption",
    "Promotion",
    "Refund",
    "Report",
    "Seat",
    "SeatAllocation",
    "Seatmap",
    "Session",
    "Ticket",
    "TicketTransfer",
    "TicketType",
    "TrustedDocument",
    "User",
    "Venue",
    "WaitlistEntry",
    "WaitlistPool",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
