from __future__ import annotations

from server.errors import Conflict, DomainError, ErrorCode, NotFound

PROMO_CODE_FIELD = ["promoCode"]


class InvalidPromoCode(DomainError):
    """Every reason a code cannot be used on an order; the message says which."""

    code = ErrorCode.INVALID_PROMO_CODE

    def __init__(self, message: str) -> None:
        super().__init__(message, field=PROMO_CODE_FIELD)


class UnknownPromoCode(InvalidPromoCode):
    def __init__(self) -> None:
        super().__init__("This promo code does not exist.")


class PromoCodeExpired(InvalidPromoCode):
    def __init__(self) -> None:
        super().__init__("This promo code has expired.")


class PromoCodeForAnotherEvent(InvalidPromoCode):
    def __init__(self) -> None:
        super().__init__("This promo code is not valid for this event.")


class PromoCodeCurrencyMismatch(InvalidPromoCode):
    def __init__(self, code_currency: str, order_currency: str) -> None:
        super().__init__(
            f"This promo code takes an amount off in {code_currency}; "
            f"this order is in {order_currency}."
        )


class PromoCodeGivesNothing(InvalidPromoCode):
    def __init__(self, detail: str) -> None:
        super().__init__(f"This promo code gives no discount on these tickets{detail}.")


class PromoCodeExhausted(InvalidPromoCode):
    def __init__(self) -> None:
        super().__init__("This promo code has no uses left.")


class PromoCodeUserLimit(InvalidPromoCode):
    def __init__(self, limit: int) -> None:
        times = "once" if limit == 1 else f"{limit} times"
        super().__init__(f"You have already used this promo code {times}, its limit per buyer.")


class PromoCodesTaken(Conflict):
    def __init__(self, codes: list[str]) -> None:
        self.codes = codes
        super().__init__(f"Already in use in this organization: {', '.join(codes)}.", field="codes")


class OrganizationNotFound(NotFound):
    message = "No such organization."


class EventNotFound(NotFound):
    message = "No such event in this organization."
