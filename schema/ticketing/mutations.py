from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError, run_mutation
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from schema.ticketing.inputs import (
    CreateHoldInput,
    CreatePriceTierInput,
    CreateTicketTypeInput,
    UpdateTicketTypeInput,
    price_input,
)
from schema.ticketing.types import Hold, HoldPayload, TicketType, TicketTypePayload
from server.clock import utcnow
from server.ticketing import holds, service
from server.ticketing.models import Hold as HoldModel
from server.ticketing.models import Inventory
from server.ticketing.models import TicketType as TicketTypeModel


def _ticket_type_payload(
    model: TicketTypeModel | None, errors: list[UserError]
) -> TicketTypePayload:
    return TicketTypePayload(
        ticket_type=TicketType.from_model(model) if model else None, errors=errors
    )


async def _hold_payload(info: Info, hold: HoldModel | None, errors: list[UserError]) -> HoldPayload:
    if hold is None:
        return HoldPayload(errors=errors)
    async with info.context.db.read() as session:
        row = await session.get(Inventory, hold.inventory_id)
    assert row is not None
    return HoldPayload(hold=Hold.from_model(hold, row.occurrence_id))


@strawberry.type
class TicketingMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Add a ticket type to an event (managers and owners).",
    )
    async def create_ticket_type(
        self, info: Info, input: CreateTicketTypeInput
    ) -> TicketTypePayload:
        async def work(session: AsyncSession) -> TicketTypeModel:
            return await service.create_ticket_type(
                session,
                actor=info.context.actor,
                event_id=input_id(input.event_id, "eventId"),
                name=input.name,
                price=price_input(input.price),
                quantity=input.quantity,
                min_per_order=input.min_per_order if input.min_per_order is not None else 1,
                max_per_order=input.max_per_order if input.max_per_order is not None else 10,
                max_per_buyer=input.max_per_buyer,
                sales_start=input.sales_start,
                sales_end=input.sales_end,
                visibility=input.visibility or service.Visibility.PUBLIC,
                sections=input.sections or [],
                description=input.description,
                waitlist_enabled=bool(input.waitlist_enabled),
                waitlist_offer_ttl=input.waitlist_offer_ttl,
            )

        model, errors = await run_mutation(info, work)
        return _ticket_type_payload(model, errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_ticket_type(
        self, info: Info, input: UpdateTicketTypeInput
    ) -> TicketTypePayload:
        async def work(session: AsyncSession) -> TicketTypeModel:
            return await service.update_ticket_type(
                session,
                actor=info.context.actor,
                ticket_type_id=input_id(input.id, "id"),
                name=input.name,
                price=price_input(input.price) if input.price is not None else None,
                quantity=input.quantity,
                max_per_order=input.max_per_order,
                sales_start=input.sales_start,
                sales_end=input.sales_end,
                visibility=input.visibility,
                waitlist_enabled=input.waitlist_enabled,
                waitlist_offer_ttl=input.waitlist_offer_ttl,
            )

        model, errors = await run_mutation(info, work)
        return _ticket_type_payload(model, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Add a time- or quantity-based price tier.",
    )
    async def create_price_tier(self, info: Info, input: CreatePriceTierInput) -> TicketTypePayload:
        async def work(session: AsyncSession) -> TicketTypeModel:
            return await service.create_price_tier(
                session,
                actor=info.context.actor,
                ticket_type_id=input_id(input.ticket_type_id, "ticketTypeId"),
                name=input.name,
                price=price_input(input.price),
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                max_quantity=input.max_quantity,
            )

        model, errors = await run_mutation(info, work)
        return _ticket_type_payload(model, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Set inventory aside until expiresAt; orders redeem its token.",
    )
    async def create_hold(self, info: Info, input: CreateHoldInput) -> HoldPayload:
        async def work(session: AsyncSession) -> HoldModel:
            return await holds.create_hold(
                session,
                actor=info.context.actor,
                ticket_type_id=input_id(input.ticket_type_id, "ticketTypeId"),
                occurrence_id=(
                    input_id(input.occurrence_id, "occurrenceId") if input.occurrence_id else None
                ),
                quantity=input.quantity,
                expires_at=input.expires_at,
                note=input.note,
                seat_ids=[input_id(s, "seatIds") for s in input.seat_ids]
                if input.seat_ids
                else None,
                now=utcnow(),
            )

        hold, errors = await run_mutation(info, work)
        return await _hold_payload(info, hold, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Release a hold's remaining inventory back to sale.",
    )
    async def release_hold(self, info: Info, id: strawberry.ID) -> HoldPayload:
        async def work(session: AsyncSession) -> HoldModel:
            return await holds.release_hold(
                session, actor=info.context.actor, hold_id=input_id(id, "id"), now=utcnow()
            )

        hold, errors = await run_mutation(info, work)
        return await _hold_payload(info, hold, errors)
