"""After-commit effects of the orders domain."""

from __future__ import annotations

import structlog

from server.app_state import AppState
from server.clock import utcnow
from server.effects import handles
from server.errors import DomainError
from server.orders.payment_events import RefundRequested
from server.orders.refunds import execute_refund
from server.orders.soldout import SoldOutNotes
from server.ticketing.changes import UnitsFreed

log = structlog.get_logger("eventapi.orders.effects")


@handles(RefundRequested)
async def send_refunds(state: AppState, effects: list[RefundRequested]) -> None:
    """Automatic refunds go to the provider once the decision is committed. A failure is
    logged and the refund stays pending for payment reconciliation to retry."""
    for effect in effects:
        try:
            await execute_refund(state.db, state.settings, refund_id=effect.refund_id, now=utcnow())
        except DomainError as error:
            log.warning(
                "automatic refund failed; reconciliation will retry",
                refund_id=str(effect.refund_id),
                error=error.message,
            )


@handles(UnitsFreed)
async def forget_sold_out(state: AppState, effects: list[UnitsFreed]) -> None:
    await SoldOutNotes(state.redis).forget(
        [(e.event_id, e.occurrence_id, e.ticket_type_id) for e in effects]
    )
