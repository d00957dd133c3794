"""Order totals, computed here and nowhere else.

    subtotal = sum(quantity x unit price)            (unit price: the tier in force when ordered)
    discount = the promotion's, 0 <= discount <= subtotal
    net      = subtotal - discount
    platform = net x PLATFORM_FEE_PERCENT, rounded half up, + PLATFORM_FEE_FIXED
    provider = the payment provider's published fee on (net + platform), once one is chosen
    fees     = platform + provider
    total    = subtotal - discount + fees

Everything is integer minor units. Rounding is half up on the minor unit
(`(amount x basis points + 5000) // 10000`); a free order (net = 0) pays no fees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class FeePolicy:
    platform_basis_points: int = 0
    platform_fixed: int = 0

    @classmethod
    def from_settings(cls, percent: str, fixed: int) -> FeePolicy:
        try:
            basis_points = Decimal(percent) * 100
        except InvalidOperation:
            raise ValueError(f"PLATFORM_FEE_PERCENT is not a number: {percent!r}") from None
        if basis_points < 0 or basis_points != basis_points.to_integral_value():
            raise ValueError("PLATFORM_FEE_PERCENT must be >= 0 with at most two decimals")
        return cls(int(basis_points), fixed)


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    platform_fee: int
    provider_fee: int

    @property
    def fees(self) -> int:
        return self.platform_fee + self.provider_fee

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.fees


def percent_of(amount: int, basis_points: int) -> int:
    return (amount * basis_points + BASIS_POINTS // 2) // BASIS_POINTS


def compute_totals(
    *,
    subtotal: int,
    discount: int,
    policy: FeePolicy,
    provider_fee: Callable[[int], int] | None = None,
) -> Totals:
    if subtotal < 0 or not 0 <= discount <= subtotal:
        raise ValueError("discount must be between 0 and the subtotal")
    net = subtotal - discount
    if net == 0:
        return Totals(subtotal, discount, 0, 0)
    platform = percent_of(net, policy.platform_basis_points) + policy.platform_fixed
    provider = provider_fee(net + platform) if provider_fee is not None else 0
    return Totals(subtotal, discount, platform, provider)
