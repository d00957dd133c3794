"""The root schema: every domain's Query, Mutation and Subscription composed in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.analytics.queries import AnalyticsQueries
from schema.analytics.subscriptions import AnalyticsSubscriptions
from schema.apikeys.mutations import ApiKeyMutations
from schema.apikeys.queries import ApiKeyQueries
from schema.auth.mutations import AuthMutations
from schema.auth.queries import AuthQueries
from schema.events.mutations import EventMutations
from schema.events.queries import EventQueries
from schema.guards import OperationGuards
from schema.names import RememberingNameConverter
from schema.orders.mutations import OrderMutations
from schema.orders.queries import OrderQueries
from schema.organizations.mutations import OrganizationMutations
from schema.organizations.queries import OrganizationQueries
from schema.persisted.mutations import TrustedDocumentMutations
from schema.persisted.queries import TrustedDocumentQueries
from schema.promotions.mutations import PromotionMutations
from schema.promotions.queries import PromotionQueries
from schema.reports.mutations import ReportMutations
from schema.reports.queries import ReportQueries
from schema.scalars import SCALAR_MAP
from schema.subscriptions import LiveSubscriptions
from schema.subscriptions.shared import SharedEventExecutor
from schema.ticketing.mutations import TicketingMutations
from schema.ticketing.queries import TicketingQueries
from schema.tickets.mutations import TicketMutations
from schema.tickets.queries import TicketQueries
from schema.venues.mutations import VenueMutations
from schema.venues.queries import VenueQueries
from schema.waitlist.mutations import WaitlistMutations
from schema.waitlist.queries import WaitlistQueries
from schema.webhooks.mutations import WebhookMutations
from schema.webhooks.queries import WebhookQueries
from server import unavailable

SNAPSHOT = Path(__file__).with_name("schema.graphql")

Query = merge_types(
    "Query",
    (
        AuthQueries,
        OrganizationQueries,
        ApiKeyQueries,
        VenueQueries,
        EventQueries,
        TicketingQueries,
        PromotionQueries,
        OrderQueries,
        ReportQueries,
        TicketQueries,
        WebhookQueries,
        TrustedDocumentQueries,
        WaitlistQueries,
        AnalyticsQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AuthMutations,
        ApiKeyMutations,
        OrganizationMutations,
        VenueMutations,
        EventMutations,
        TicketingMutations,
        PromotionMutations,
        OrderMutations,
        ReportMutations,
        TicketMutations,
        WebhookMutations,
        TrustedDocumentMutations,
        WaitlistMutations,
    ),
)
Subscription = merge_types("Subscription", (LiveSubscriptions, AnalyticsSubscriptions))


class EventSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any | None = None
    ) -> None:
        """Errors of what Strawberry executes (subscriptions) reach the client as it formats
        them: one caused by Redis or PostgreSQL being unreachable says so, as over HTTP
        (`SERVICE_UNAVAILABLE`, no internal detail), and is counted, not logged as a bug."""
        unexpected = []
        for error in errors:
            if "code" in (error.extensions or {}) or not unavailable.caused_by_outage(
                error.original_error
            ):
                unexpected.append(error)
                continue
            context = getattr(execution_context, "context", None)
            error.message = unavailable.MESSAGE
            error.extensions = {
                "code": unavailable.CODE,
                "requestId": getattr(context, "request_id", None),
            }
            unavailable.refused("/graphql", error.original_error)
        super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    # The HTTP handler applies the guards itself; the extension covers what Strawberry
    # executes (operations over WebSocket).
    return EventSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP, name_converter=RememberingNameConverter()),
        extensions=[OperationGuards],
        # Subscription events shared by many subscribers are executed once per document.
        execution_context_class=SharedEventExecutor,
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SNAPSHOT.write_text(sdl())
    print(f"wrote {SNAPSHOT}")
