"""Every model, imported once so `Base.metadata` knows all tables (Alembic, tests)."""

from server.apikeys.models import ApiKey
from server.auth.models import Session, User
from server.db import Base
from server.events.models import Event, EventAsset, EventOccurrence, EventSeat
from server.organizations.models import Membership, Organization
from server.outbox.models import OutboxEvent
from server.payments.models import PaymentEvent
from server.ticketing.models import Hold, Inventory, PriceTier, SeatAllocation, TicketType
from server.venues.models import Seat, Seatmap, Venue

__all__ = [
    "ApiKey",
    "Base",
    "Event",
    "EventAsset",
    "EventOccurrence",
    "EventSeat",
    "Hold",
    "Inventory",
    "Membership",
    "Organization",
    "OutboxEvent",
    "PaymentEvent",
    "PriceTier",
    "Seat",
    "SeatAllocation",
    "Seatmap",
    "Session",
    "TicketType",
    "User",
    "Venue",
]
