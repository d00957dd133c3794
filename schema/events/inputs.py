from __future__ import annotations

from datetime import datetime

import strawberry

from server.events.occurrences import OccurrenceSpec
from server.events.policies import UNCHANGED, PolicySpec
from server.events.recurrence import Recurrence


@strawberry.input
class OccurrenceInput:
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = strawberry.field(
        default=None, description="Shared by every ticket type on this date."
    )

    def to_spec(self) -> OccurrenceSpec:
        return OccurrenceSpec(self.starts_at, self.ends_at, self.capacity)


@strawberry.input(
    description="An RFC 5545 rule, expanded on the server in the venue's time zone: "
    "`startsAt`/`endsAt` are the first occurrence, the rule repeats it (FREQ DAILY, WEEKLY, "
    "MONTHLY or YEARLY, with COUNT or UNTIL; at most 366 dates within five years)."
)
class RecurrenceInput:
    rule: str = strawberry.field(description="e.g. FREQ=WEEKLY;BYDAY=FR;COUNT=10")
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None

    def to_recurrence(self) -> Recurrence:
        return Recurrence(self.rule, self.starts_at, self.ends_at, self.capacity)


@strawberry.input(description="Omitted fields stay as they are; null clears a policy.")
class PoliciesInput:
    refund_policy: str | None = strawberry.UNSET
    transfer_allowed: bool | None = strawberry.UNSET
    cancellation_policy: str | None = strawberry.UNSET
    refund_deadline_hours: int | None = strawberry.UNSET

    def to_spec(self) -> PolicySpec:
        def given(value: object) -> object:
            return UNCHANGED if value is strawberry.UNSET else value

        return PolicySpec(
            refund_policy=given(self.refund_policy),
            transfer_allowed=None
            if self.transfer_allowed is strawberry.UNSET
            else self.transfer_allowed,
            cancellation_policy=given(self.cancellation_policy),
            refund_deadline_hours=given(self.refund_deadline_hours),
        )


@strawberry.input
class CreateEventInput:
    organization_id: strawberry.ID
    title: str
    description: str | None = None
    venue_id: strawberry.ID | None = None
    seatmap_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A seatmap of the venue; the event keeps its own copy of the seats.",
    )
    occurrences: list[OccurrenceInput]
    policies: PoliciesInput | None = None
    recurrence: RecurrenceInput | None = None


@strawberry.input
class UpdateEventInput:
    id: strawberry.ID
    title: str | None = None
    description: str | None = strawberry.UNSET
    policies: PoliciesInput | None = None
    add_occurrences: list[OccurrenceInput] | None = None
    add_recurrence: RecurrenceInput | None = None
