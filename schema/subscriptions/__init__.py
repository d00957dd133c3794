"""GraphQL subscriptions (graphql-transport-ws at /graphql): live ticket availability and
order status, served by the instance's live hub (server.live)."""

from schema.subscriptions.fields import LiveSubscriptions

__all__ = ["LiveSubscriptions"]
