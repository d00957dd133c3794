from __future__ import annotations

import uuid
from collections.abc import Sequence

from schema.loaders import ContextLoader
from server.promotions.models import PromoCode
from server.promotions.service import codes_by_promotion


class PromoCodesByPromotionLoader(ContextLoader[uuid.UUID, list[PromoCode]]):
    """Codes of promotions the viewer was already allowed to see (they are reached only
    through createPromotion and the members-only promotions query)."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[PromoCode]]:
        async with self.context.db.read() as session:
            found = await codes_by_promotion(session, list(keys))
        return [found.get(key, []) for key in keys]
