"""An event's policies: refunds, transfers, cancellation, the refund deadline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from server.errors import Validator
from server.events.models import Event

MAX_POLICY_LENGTH = 5_000
MAX_REFUND_DEADLINE_HOURS = 24 * 366


class Unchanged(Enum):
    """Marks a nullable field an edit leaves alone (None would clear it)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class PolicySpec:
    refund_policy: Any = UNCHANGED  # str | None | UNCHANGED
    transfer_allowed: bool | None = None  # None: unchanged
    cancellation_policy: Any = UNCHANGED
    refund_deadline_hours: Any = UNCHANGED  # int | None | UNCHANGED


def check_policies(checks: Validator, policies: PolicySpec) -> None:
    for name, value in (
        ("refundPolicy", policies.refund_policy),
        ("cancellationPolicy", policies.cancellation_policy),
    ):
        if isinstance(value, str):
            checks.check(
                len(value) <= MAX_POLICY_LENGTH,
                ["policies", name],
                f"Policies are at most {MAX_POLICY_LENGTH} characters.",
            )
    hours = policies.refund_deadline_hours
    if isinstance(hours, int):
        checks.check(
            0 <= hours <= MAX_REFUND_DEADLINE_HOURS,
            ["policies", "refundDeadlineHours"],
            f"The refund deadline is between 0 and {MAX_REFUND_DEADLINE_HOURS} hours "
            "before the event.",
        )


def apply_policies(event: Event, policies: PolicySpec) -> None:
    if policies.refund_policy is not UNCHANGED:
        event.refund_policy = (policies.refund_policy or "").strip() or None
    if policies.transfer_allowed is not None:
        event.transfer_allowed = policies.transfer_allowed
    if policies.cancellation_policy is not UNCHANGED:
        event.cancellation_policy = (policies.cancellation_policy or "").strip() or None
    if policies.refund_deadline_hours is not UNCHANGED:
        event.refund_deadline_hours = policies.refund_deadline_hours
