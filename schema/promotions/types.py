from __future__ import annotations

from datetime import datetime

import strawberry

from schema.common import Money
from schema.context import Info
from schema.errors import UserError
from server.promotions.models import PromoCode as PromoCodeModel
from server.promotions.models import Promotion as PromotionModel
from server.promotions.models import PromotionKind as PromotionKindModel

PromotionKind = strawberry.enum(PromotionKindModel, name="PromotionKind")


@strawberry.type(description="A code buyers enter; `used` counts its uses held by orders.")
class PromoCode:
    id: strawberry.ID
    code: str
    max_uses: int | None
    max_uses_per_user: int | None
    used: int = strawberry.field(
        description="Uses held by pending and confirmed orders (cancelled and expired "
        "orders give theirs back)."
    )
    expires_at: datetime | None

    @classmethod
    def from_model(cls, model: PromoCodeModel) -> PromoCode:
        return cls(
            id=strawberry.ID(str(model.id)),
            code=model.code,
            max_uses=model.max_uses,
            max_uses_per_user=model.max_uses_per_user,
            used=model.used,
            expires_at=model.expires_at,
        )


@strawberry.type
class Promotion:
    id: strawberry.ID
    name: str
    kind: PromotionKind  # type: ignore[valid-type]
    event_id: strawberry.ID | None = strawberry.field(
        description="The event it applies to; null: every event of the organization."
    )
    percent_off: int | None
    amount_off: Money | None
    buy_quantity: int | None
    get_quantity: int | None
    created_at: datetime
    model: strawberry.Private[PromotionModel]

    @classmethod
    def from_model(cls, model: PromotionModel) -> Promotion:
        amount_off = None
        if model.amount_off_minor is not None and model.currency is not None:
            amount_off = Money.of(model.amount_off_minor, model.currency)
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            kind=model.kind,
            event_id=strawberry.ID(str(model.event_id)) if model.event_id else None,
            percent_off=model.percent_off,
            amount_off=amount_off,
            buy_quantity=model.buy_quantity,
            get_quantity=model.get_quantity,
            created_at=model.created_at,
            model=model,
        )

    @strawberry.field
    async def codes(self, info: Info) -> list[PromoCode]:
        from schema.promotions.loaders import PromoCodesByPromotionLoader

        codes = await info.context.loader(PromoCodesByPromotionLoader).load(self.model.id)
        return [PromoCode.from_model(code) for code in codes]


@strawberry.type
class PromotionPayload:
    promotion: Promotion | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
