"""Processing fees as published by the providers, in integer arithmetic.

A fee is `percent of the amount + a fixed part`, optionally with the fixed part waived
below a threshold and the total capped. Percentages are in basis points (1.5% = 150 bp).
The percentage part is rounded half up to the nearest minor unit:
`(amount * bp + 5000) // 10000`; no floats anywhere.

The rates are the providers' standard published prices for domestic cards (see
docs/payments.md for the table and its sources); contracts with custom pricing change
them, so they live in one table per provider.
"""

from __future__ import annotations

from dataclasses import dataclass

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class FeeRate:
    basis_points: int
    fixed_minor: int = 0
    fixed_waived_below: int | None = None  # amounts under this pay no fixed part
    cap_minor: int | None = None

    def fee(self, amount_minor: int) -> int:
        if amount_minor <= 0:
            return 0
        percent = (amount_minor * self.basis_points + BASIS_POINTS // 2) // BASIS_POINTS
        fixed = self.fixed_minor
        if self.fixed_waived_below is not None and amount_minor < self.fixed_waived_below:
            fixed = 0
        total = percent + fixed
        if self.cap_minor is not None:
            total = min(total, self.cap_minor)
        return total
