from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.db import Database
from server.promotions.models import PromoCode, Promotion
from tests.support.gql import GraphQLClient

PROMOTION_FIELDS = """
  id name kind eventId percentOff amountOff { amount currency } buyQuantity getQuantity
  codes { id code maxUses maxUsesPerUser used expiresAt }
"""
CREATE_PROMOTION = f"""
mutation($input: CreatePromotionInput!) {{
  createPromotion(input: $input) {{
    promotion {{ {PROMOTION_FIELDS} }}
    errors {{ field message code }}
  }}
}}
"""
PROMOTIONS = f"""
query($org: ID!, $event: ID) {{
  promotions(organizationId: $org, eventId: $event) {{ {PROMOTION_FIELDS} }}
}}
"""


def promotion_input(organization_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organizationId": organization_id,
        "name": "Spring sale",
        "kind": "PERCENTAGE",
        "percentOff": 20,
        "codes": ["SPRING20"],
    }
    values.update(fields)
    return {key: value for key, value in values.items() if value is not ...}


async def create_promotion(
    gql: GraphQLClient, organization_id: str, *, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """The createPromotion payload (promotion and errors)."""
    data = await gql(
        CREATE_PROMOTION, {"input": promotion_input(organization_id, **fields)}, token=token
    )
    return dict(data["createPromotion"])


async def counts(db: Database) -> tuple[int, int]:
    """(promotions, promo codes) in the database."""
    async with db.read() as session:
        promotions = await session.scalar(select(func.count()).select_from(Promotion))
        codes = await session.scalar(select(func.count()).select_from(PromoCode))
    return int(promotions or 0), int(codes or 0)
