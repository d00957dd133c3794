"""Every model, imported once so `Base.metadata` knows all tables (Alembic, tests)."""

from server.apikeys.models import ApiKey
from server.auth.models import Session, User
from server.db import Base
from server.organizations.models import Membership, Organization
from server.outbox.models import OutboxEvent

__all__ = ["ApiKey", "Base", "Membership", "Organization", "OutboxEvent", "Session", "User"]
