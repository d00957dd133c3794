"""Ids arriving in mutation input: a malformed one is a VALIDATION error on that field."""

from __future__ import annotations

import uuid

from server.errors import ValidationError
from server.ids import parse_uuid


def input_id(value: object, field: str | list[str]) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValidationError("Not a valid id.", field=field)
    return parsed
