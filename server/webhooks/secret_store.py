"""Endpoint signing secrets: generated here, shown to the creator once, stored encrypted.

They cannot be stored as hashes (like API keys) because every delivery is signed with the
secret itself. The encryption key is derived from the JWT key, so every instance of one
deployment can read them; rotating JWT_SECRET makes existing secrets unreadable (their
deliveries then fail until the endpoints are recreated)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@lru_cache(maxsize=8)
def _fernet(jwt_key: str) -> Fernet:
    derived = hmac.new(jwt_key.encode(), b"eventapi webhook secrets v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret: str, *, jwt_key: str) -> str:
    return _fernet(jwt_key).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, *, jwt_key: str) -> str:
    return _fernet(jwt_key).decrypt(token.encode()).decode()
