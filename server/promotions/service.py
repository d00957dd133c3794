"""Promotions and their codes: creating and listing them. Spending and giving back a
code's uses (what createOrder and order cancellation call) is in redemptions.py and
re-exported here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import DomainError, InvalidState, Validator
from server.events.models import Event, EventStatus
from server.ids import new_id
from server.money import is_currency, to_minor
from server.organizations.access import Permission, any_id, authorize
from server.promotions.discounts import PricedLine, Redemption
from server.promotions.errors import EventNotFound, OrganizationNotFound, PromoCodesTaken
from server.promotions.models import CODE_PATTERN, PromoCode, Promotion, PromotionKind
from server.promotions.redemptions import reclaim_redemption, release_redemption
from server.ticketing.models import TicketType

__all__ = [
    "AmountOff",
    "PricedLine",
    "Redemption",
    "create_promotion",
    "list_promotions",
    "reclaim_redemption",
    "release_redemption",
]

MAX_CODES = 500
MAX_BUY_GET = 1_000
CLOSED = (EventStatus.COMPLETED, EventStatus.CANCELLED)
UNIQUE_CODE_INDEX = "uq_promo_codes_organization_id_lower_code"


@dataclass(frozen=True, slots=True)
class AmountOff:
    amount: Decimal
    currency: str


async def create_promotion(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    event_id: uuid.UUID | None,
    name: str,
    kind: PromotionKind,
    percent_off: int | None = None,
    amount_off: AmountOff | None = None,
    buy_quantity: int | None = None,
    get_quantity: int | None = None,
    codes: Sequence[str],
    max_uses: int | None = None,
    max_uses_per_user: int | None = None,
    expires_at: datetime | None = None,
    now: datetime,
) -> Promotion:
    """A promotion with its codes (managers and owners, or a key with events:write).
    Every problem is reported at once; on any of them nothing is created."""
    await authorize(
        session,
        actor,
        organization_id,
        Permission.EVENTS_WRITE,
        not_found=OrganizationNotFound(field="organizationId"),
    )
    event_currency = await _event_currency(session, organization_id, event_id)
    checks = Validator()
    clean_name = name.strip()
    checks.check(0 < len(clean_name) <= 200, "name", "Enter a name (up to 200 characters).")
    amount = _check_terms(
        checks, kind, percent_off, amount_off, buy_quantity, get_quantity, event_currency
    )
    clean_codes = _check_codes(checks, codes)
    checks.check(max_uses is None or max_uses >= 1, "maxUses", "Allow at least one use.")
    checks.check(
        max_uses_per_user is None or max_uses_per_user >= 1,
        "maxUsesPerUser",
        "Allow each buyer at least one use.",
    )
    if expires_at is not None:
        if expires_at.tzinfo is None:
            checks.add("expiresAt", "Give the expiry with a time zone (for example ...Z).")
        else:
            checks.check(expires_at > now, "expiresAt", "The expiry must be in the future.")
    if clean_codes and not checks.errors:
        taken = await _taken_codes(session, organization_id, clean_codes)
        if taken:
            checks.errors.append(PromoCodesTaken(taken))
    checks.raise_if_any()

    promotion = Promotion(
        id=new_id(),
        organization_id=organization_id,
        event_id=event_id,
        name=clean_name,
        kind=kind,
        percent_off=percent_off if kind is PromotionKind.PERCENTAGE else None,
        amount_off_minor=amount[0] if amount else None,
        currency=amount[1] if amount else None,
        buy_quantity=buy_quantity if kind is PromotionKind.BUY_X_GET_Y else None,
        get_quantity=get_quantity if kind is PromotionKind.BUY_X_GET_Y else None,
        created_by_id=actor.user_id,
    )
    rows = [
        PromoCode(
            id=new_id(),
            promotion_id=promotion.id,
            organization_id=organization_id,
            code=code,
            max_uses=max_uses,
            max_uses_per_user=max_uses_per_user,
            used=0,
            expires_at=expires_at,
        )
        for code in clean_codes
    ]
    try:
        async with session.begin_nested():
            session.add(promotion)
            await session.flush()
            session.add_all(rows)
            await session.flush()
    except IntegrityError as error:
        # A concurrent promotion took a code between our check and our insert: the
        # unique index decides, and the codes it took are named.
        if UNIQUE_CODE_INDEX not in str(error.orig):
            raise
        taken = await _taken_codes(session, organization_id, clean_codes)
        raise PromoCodesTaken(taken or clean_codes) from None
    return promotion


async def _event_currency(
    session: AsyncSession, organization_id: uuid.UUID, event_id: uuid.UUID | None
) -> str | None:
    """Check the event belongs to the organization and still sells; its currency, if its
    ticket types have one yet."""
    if event_id is None:
        return None
    event = (
        await session.execute(
            select(Event.organization_id, Event.status).where(Event.id == event_id)
        )
    ).one_or_none()
    if event is None or event.organization_id != organization_id:
        raise EventNotFound(field="eventId")
    if event.status in CLOSED:
        raise InvalidState(
            f"The event is {event.status.value}; it sells nothing more.", field="eventId"
        )
    return await session.scalar(
        select(TicketType.currency).where(TicketType.event_id == event_id).limit(1)
    )


def _check_terms(
    checks: Validator,
    kind: PromotionKind,
    percent_off: int | None,
    amount_off: AmountOff | None,
    buy_quantity: int | None,
    get_quantity: int | None,
    event_currency: str | None,
) -> tuple[int, str] | None:
    """The kind's own fields are required and the others refused. Returns the fixed
    amount off, in minor units and currency, for FIXED_AMOUNT."""
    given = {
        "percentOff": percent_off is not None,
        "amountOff": amount_off is not None,
        "buyQuantity": buy_quantity is not None,
        "getQuantity": get_quantity is not None,
    }
    own = {
        PromotionKind.PERCENTAGE: ("percentOff",),
        PromotionKind.FIXED_AMOUNT: ("amountOff",),
        PromotionKind.BUY_X_GET_Y: ("buyQuantity", "getQuantity"),
    }[kind]
    label = kind.name
    for field, present in given.items():
        if field in own and not present:
            checks.add(field, f"A {label} promotion needs {field}.")
        elif field not in own and present:
            checks.add(field, f"A {label} promotion does not take {field}.")
    if kind is PromotionKind.PERCENTAGE and percent_off is not None:
        checks.check(1 <= percent_off <= 100, "percentOff", "The percentage must be 1 to 100.")
    for field, value in (("buyQuantity", buy_quantity), ("getQuantity", get_quantity)):
        if kind is PromotionKind.BUY_X_GET_Y and value is not None:
            checks.check(
                1 <= value <= MAX_BUY_GET, field, f"Give a number from 1 to {MAX_BUY_GET}."
            )
    if kind is not PromotionKind.FIXED_AMOUNT or amount_off is None:
        return None
    currency = amount_off.currency.strip().upper()
    if not is_currency(currency):
        checks.add(
            ["amountOff", "currency"],
            f"Unknown currency {amount_off.currency!r}; use an ISO 4217 code.",
        )
        return None
    if event_currency is not None and currency != event_currency:
        checks.add(["amountOff", "currency"], f"This event sells in {event_currency}.")
        return None
    try:
        return (
            to_minor(amount_off.amount, currency, field=["amountOff", "amount"], allow_zero=False),
            currency,
        )
    except DomainError as error:
        checks.errors.append(error)
        return None


def _check_codes(checks: Validator, codes: Sequence[str]) -> list[str]:
    clean = [code.strip() for code in codes]
    if not clean:
        checks.add("codes", "Give at least one code.")
        return []
    if len(clean) > MAX_CODES:
        checks.add("codes", f"Give at most {MAX_CODES} codes at once.")
        return []
    bad = [code for code in clean if not CODE_PATTERN.fullmatch(code)]
    if bad:
        checks.add(
            "codes",
            "Codes are 3 to 32 letters, digits, '-' or '_'; these are not: "
            + ", ".join(repr(code[:40]) for code in bad[:10])
            + ".",
        )
    seen: set[str] = set()
    repeated: list[str] = []
    for code in clean:
        if code.lower() in seen and code not in repeated:
            repeated.append(code)
        seen.add(code.lower())
    if repeated:
        checks.add(
            "codes", f"These codes appear more than once (case ignored): {', '.join(repeated)}."
        )
    return clean


async def _taken_codes(
    session: AsyncSession, organization_id: uuid.UUID, codes: Sequence[str]
) -> list[str]:
    lowered = [code.lower() for code in codes]
    rows = await session.scalars(
        select(PromoCode.code)
        .where(
            PromoCode.organization_id == organization_id,
            func.lower(PromoCode.code).in_(lowered),
        )
        .order_by(PromoCode.code)
    )
    return list(rows)


async def list_promotions(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    event_id: uuid.UUID | None = None,
) -> list[Promotion]:
    """The organization's promotions, newest first (members, or a key with events:read);
    with `event_id`, those that apply to that event (its own and organization-wide)."""
    await authorize(
        session,
        actor,
        organization_id,
        Permission.EVENTS_READ,
        not_found=OrganizationNotFound(field="organizationId"),
    )
    query = select(Promotion).where(Promotion.organization_id == organization_id)
    if event_id is not None:
        query = query.where(or_(Promotion.event_id.is_(None), Promotion.event_id == event_id))
    rows = await session.scalars(query.order_by(Promotion.created_at.desc(), Promotion.id.desc()))
    return list(rows)


async def codes_by_promotion(
    session: AsyncSession, promotion_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PromoCode]]:
    """Codes of promotions the caller has already been allowed to see, with live `used`."""
    rows = await session.scalars(
        select(PromoCode)
        .where(any_id(PromoCode.promotion_id, promotion_ids))
        .order_by(PromoCode.created_at, PromoCode.id)
    )
    result: dict[uuid.UUID, list[PromoCode]] = {}
    for row in rows:
        result.setdefault(row.promotion_id, []).append(row)
    return result
