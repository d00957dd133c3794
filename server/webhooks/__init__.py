"""Outbound webhooks: endpoints an organization registers, and the signed, ordered,
retried delivery of its outbox events to them."""
