"""Types shared by every domain: Money, PageInfo, id parsing, cursors."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal

import strawberry

from schema.errors import ClientError
from server.ids import parse_uuid
from server.money import format_amount


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=format_amount(minor, currency), currency=currency)


@strawberry.input
class MoneyInput:
    amount: Decimal
    currency: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def require_id(value: object, field: str = "id") -> uuid.UUID:
    """Parse an `ID` argument of a query; a malformed one is a clear client error."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise ClientError(f"`{field}` is not a valid id.")
    return parsed


def encode_cursor(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise ClientError("`after` is not a valid cursor.") from None
    if len(parts) != count:
        raise ClientError("`after` is not a valid cursor.")
    return parts
