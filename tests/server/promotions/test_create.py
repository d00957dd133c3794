from __future__ import annotations

import asyncio

import pytest

from server.clock import utcnow
from server.errors import Forbidden
from server.promotions import service
from server.promotions.errors import PromoCodesTaken
from server.promotions.models import PromotionKind
from tests.server.promotions.conftest import Catalog


async def test_a_code_taken_after_the_check_is_still_refused_by_the_unique_index(
    catalog: Catalog,
) -> None:
    """The second creator checks before the first commits, so only the unique index on
    (organization_id, lower(code)) can refuse it; it still names the taken code."""
    first_inserted = asyncio.Event()
    second_checked = asyncio.Event()

    async def create(code: str, before_commit: asyncio.Event | None) -> None:
        async with catalog.db.transaction() as session:
            await service.create_promotion(
                session,
                actor=catalog.manager,
                organization_id=catalog.organization_id,
                event_id=None,
                name="Race",
                kind=PromotionKind.PERCENTAGE,
                percent_off=5,
                codes=[code],
                now=utcnow(),
            )
            if before_commit is not None:
                first_inserted.set()
                await second_checked.wait()

    async def second() -> None:
        await first_inserted.wait()
        # The first transaction has inserted but not committed: the check sees nothing.
        async with catalog.db.read() as session:
            assert await service._taken_codes(session, catalog.organization_id, ["tie"]) == []
        second_checked.set()
        await create("tie", None)

    results = await asyncio.gather(create("TIE", first_inserted), second(), return_exceptions=True)

    assert results[0] is None
    assert isinstance(results[1], PromoCodesTaken)
    assert results[1].codes == ["TIE"]


async def test_the_creator_is_recorded_and_the_terms_of_other_kinds_are_empty(
    catalog: Catalog,
) -> None:
    async with catalog.db.transaction() as session:
        promotion = await service.create_promotion(
            session,
            actor=catalog.manager,
            organization_id=catalog.organization_id,
            event_id=None,
            name="  Trimmed  ",
            kind=PromotionKind.BUY_X_GET_Y,
            buy_quantity=2,
            get_quantity=1,
            codes=[" SPACED "],
            now=utcnow(),
        )

    assert promotion.name == "Trimmed"
    assert promotion.created_by_id == catalog.manager.user_id
    assert (promotion.percent_off, promotion.amount_off_minor, promotion.currency) == (
        None,
        None,
        None,
    )
    async with catalog.db.read() as session:
        codes = await service.codes_by_promotion(session, [promotion.id])
    assert [c.code for c in codes[promotion.id]] == ["SPACED"]


async def test_staff_may_not_create_promotions(catalog: Catalog) -> None:
    with pytest.raises(Forbidden):
        async with catalog.db.transaction() as session:
            await service.create_promotion(
                session,
                actor=catalog.staff,
                organization_id=catalog.organization_id,
                event_id=None,
                name="Nope",
                kind=PromotionKind.PERCENTAGE,
                percent_off=5,
                codes=["NOPE"],
                now=utcnow(),
            )
