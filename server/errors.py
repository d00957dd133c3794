"""The domain error vocabulary shared by every service.

Expected failures (sold out, invalid promo code, wrong state, bad input) are `DomainError`s
and reach clients as `UserError` data in the mutation payload. Authentication and
authorization failures are `AccessError`s and reach clients as GraphQL errors with
`extensions.code`. Each domain's `errors.py` subclasses these with its own messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    SOLD_OUT = "SOLD_OUT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INVALID_STATE = "INVALID_STATE"
    INVALID_PROMO_CODE = "INVALID_PROMO_CODE"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    EXPIRED = "EXPIRED"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.VALIDATION
    message: str = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | Sequence[str] | None = None,
        code: ErrorCode | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if isinstance(field, str):
            self.field: list[str] | None = [field]
        else:
            self.field = list(field) if field is not None else None
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r}, field={self.field})"


class DomainErrors(Exception):
    """Several domain errors at once (validation reports every bad field, not the first)."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


class ValidationError(DomainError):
    code = ErrorCode.VALIDATION


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    message = "Not found."


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class InvalidState(DomainError):
    code = ErrorCode.INVALID_STATE


class LimitExceeded(DomainError):
    code = ErrorCode.LIMIT_EXCEEDED


class Expired(DomainError):
    code = ErrorCode.EXPIRED


class AccessError(Exception):
    """Not a payload error: surfaces as a GraphQL error carrying `extensions.code`."""

    code = "FORBIDDEN"
    message = "You are not allowed to do this."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class Unauthenticated(AccessError):
    code = "UNAUTHENTICATED"
    message = "Sign in (or send an API key) to do this."


class Forbidden(AccessError):
    code = "FORBIDDEN"


class Validator:
    """Collects field errors so one response reports all of them."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(
        self, field: str | Sequence[str], message: str, code: ErrorCode = ErrorCode.VALIDATION
    ) -> None:
        self.errors.append(DomainError(message, field=field, code=code))

    def check(self, ok: bool, field: str | Sequence[str], message: str) -> None:
        if not ok:
            self.add(field, message)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DomainErrors(self.errors)
