"""Migration 0960 on data made before emails were normalized: addresses rewritten in their
normal form with their skeletons, the account already holding an address keeps it when a
look-alike spelling of it also had an account, and guest orders meet their accounts."""

from __future__ import annotations

import uuid

from server.migrate import upgrade
from tests.server.test_migrations import run_sql, scratch_url

__all__ = ["scratch_url"]

USER = (
    "INSERT INTO users (id, email, name, password_hash, created_at) "
    "VALUES (:id, :email, 'U', 'x', now() - make_interval(days => :age))"
)


def test_stored_emails_are_normalized_and_clashes_left_to_an_operator(scratch_url: str) -> None:
    upgrade(scratch_url, "0700")
    ids = {name: uuid.uuid4() for name in ("fullwidth", "plain", "dotted", "zero_width", "cyr")}
    for name, email, age in [
        ("fullwidth", "\uff41\uff4e\uff4e\uff41@example.com", 3),  # older than the plain spelling
        ("plain", "anna@example.com", 2),
        ("dotted", "Ben@Example.com.", 5),
        ("zero_width", "b\u200ben@example.com", 1),  # reads as ben too, and is newer
        ("cyr", "\u0430\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", 4),
    ]:
        run_sql(scratch_url, USER, id=ids[name], email=email, age=age)
    org, event, occurrence = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    run_sql(
        scratch_url, "INSERT INTO organizations (id, name, slug) VALUES (:id, 'O', 'o')", id=org
    )
    run_sql(
        scratch_url,
        "INSERT INTO events (id, organization_id, slug, title, status, timezone, "
        "transfer_allowed, guest_checkout) VALUES (:id, :org, 'e', 'E', 'published', 'UTC', "
        "true, true)",
        id=event,
        org=org,
    )
    run_sql(
        scratch_url,
        "INSERT INTO event_occurrences (id, event_id, organization_id, starts_at, ends_at) "
        "VALUES (:id, :event, :org, now(), now() + interval '1 hour')",
        id=occurrence,
        event=event,
        org=org,
    )
    run_sql(
        scratch_url,
        "INSERT INTO orders (id, organization_id, event_id, occurrence_id, buyer_email, status,"
        " currency, subtotal_minor, discount_minor, platform_fee_minor, provider_fee_minor,"
        " fees_minor, total_minor) VALUES (:id, :org, :event, :occ, '\uff21\uff2e\uff2e\uff21@example.com.',"
        " 'confirmed', 'USD', 100, 0, 0, 0, 0, 100)",
        id=uuid.uuid4(),
        org=org,
        event=event,
        occ=occurrence,
    )

    upgrade(scratch_url, "0960")

    users = {
        row[0]: (row[1], row[2])
        for row in run_sql(scratch_url, "SELECT id, email, email_skeleton FROM users")
    }
    assert users[ids["plain"]] == ("anna@example.com", "anna@exarnple.corn")
    # A second account for what reads as anna's address: left as stored, for an operator.
    assert users[ids["fullwidth"]] == ("\uff41\uff4e\uff4e\uff41@example.com", None)
    assert users[ids["dotted"]] == ("ben@example.com", "ben@exarnple.corn")
    assert users[ids["zero_width"]] == ("b\u200ben@example.com", None)
    assert users[ids["cyr"]][0] == "\u0430\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"
    assert users[ids["cyr"]][1] is not None
    assert run_sql(scratch_url, "SELECT buyer_email FROM orders") == [("anna@example.com",)]
