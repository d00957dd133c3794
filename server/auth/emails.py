"""Email addresses: the one normalization every path that takes or compares an email uses."""

from __future__ import annotations

import re

from server.auth.errors import InvalidEmail

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_EMAIL_LENGTH = 254


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_email(email: str, field: str = "email") -> str:
    normalized = normalize_email(email)
    if len(normalized) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(normalized):
        raise InvalidEmail(field=field)
    return normalized
