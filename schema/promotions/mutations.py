from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import run_mutation
from schema.ids import input_id
from schema.promotions.inputs import CreatePromotionInput
from schema.promotions.types import Promotion, PromotionPayload
from server.clock import utcnow
from server.promotions import service
from server.promotions.models import Promotion as PromotionModel


@strawberry.type
class PromotionMutations:
    @strawberry.mutation(
        description="A promotion and its promo codes (managers and owners, or events:write)."
    )
    async def create_promotion(self, info: Info, input: CreatePromotionInput) -> PromotionPayload:
        async def work(session: AsyncSession) -> PromotionModel:
            amount = input.amount_off
            return await service.create_promotion(
                session,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                event_id=(
                    input_id(input.event_id, "eventId") if input.event_id is not None else None
                ),
                name=input.name,
                kind=input.kind,
                percent_off=input.percent_off,
                amount_off=service.AmountOff(amount.amount, amount.currency) if amount else None,
                buy_quantity=input.buy_quantity,
                get_quantity=input.get_quantity,
                codes=input.codes,
                max_uses=input.max_uses,
                max_uses_per_user=input.max_uses_per_user,
                expires_at=input.expires_at,
                now=utcnow(),
            )

        model, errors = await run_mutation(info, work)
        return PromotionPayload(
            promotion=Promotion.from_model(model) if model else None, errors=errors
        )
