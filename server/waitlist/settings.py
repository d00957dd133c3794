"""A ticket type's waitlist settings, checked in one place for create and update."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import Validator

MIN_OFFER_TTL = 60  # seconds
MAX_OFFER_TTL = 7 * 24 * 3600
DEFAULT_OFFER_TTL = 3600


def check_waitlist_settings(
    checks: Validator, *, enabled: bool, offer_ttl: int | None, sections: Sequence[str]
) -> None:
    if offer_ttl is not None:
        checks.check(
            MIN_OFFER_TTL <= offer_ttl <= MAX_OFFER_TTL,
            "waitlistOfferTtl",
            f"An offer lasts {MIN_OFFER_TTL} seconds to {MAX_OFFER_TTL // 86400} days.",
        )
    if enabled and sections:
        checks.add(
            "waitlistEnabled",
            "Seated ticket types have no waitlist (an offer would have to name seats).",
        )
