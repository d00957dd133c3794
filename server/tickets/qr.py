"""The QR payload printed on a ticket: compact, versioned, URL-safe and signed with Ed25519,
so a scanner holding only the public key can tell a forged code from a real one offline.

    T1.<base64url(ticket id | event id | occurrence id | serial)>.<base64url(signature)>

The body is 16 + 16 + 16 + 16 bytes (three UUIDs and a random serial); the signature
(64 bytes) covers `T1.` followed by the body's raw bytes, so a payload of another version
never verifies. The signing key is derived from `settings.ticket_signing_key` (one value
per deployment), so every app instance issues and verifies the same codes; a valid
signature only proves the server issued the code, and the gate still looks it up to
learn whether the ticket was since transferred, cancelled or used."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = "T1"
SERIAL_BYTES = 16
BODY_BYTES = 16 * 3 + SERIAL_BYTES
SIGNATURE_BYTES = 64
MAX_PAYLOAD_LENGTH = 255  # generous; a T1 payload is 176 characters


@dataclass(frozen=True, slots=True)
class QrClaims:
    ticket_id: uuid.UUID
    event_id: uuid.UUID
    occurrence_id: uuid.UUID
    serial: bytes


class ForgedCode(Exception):
    """Not a payload this deployment signed (malformed, tampered, or another key's)."""


def new_serial() -> bytes:
    return os.urandom(SERIAL_BYTES)


def _seed(signing_key: bytes) -> bytes:
    """The Ed25519 private key's 32-byte seed: the configured key itself when it is 32
    bytes (the default, derived from JWT_SECRET), else its SHA-256."""
    return signing_key if len(signing_key) == 32 else hashlib.sha256(signing_key).digest()


@lru_cache(maxsize=8)
def private_key(signing_key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_seed(signing_key))


@lru_cache(maxsize=8)
def public_key(signing_key: bytes) -> Ed25519PublicKey:
    return private_key(signing_key).public_key()


def public_key_raw(signing_key: bytes) -> bytes:
    return public_key(signing_key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def public_key_pem(signing_key: bytes) -> str:
    return (
        public_key(signing_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or "=" in text:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signed_bytes(body: bytes) -> bytes:
    return VERSION.encode() + b"." + body


def sign(claims: QrClaims, *, signing_key: bytes) -> str:
    if len(claims.serial) != SERIAL_BYTES:
        raise ValueError("the serial must be 16 bytes")
    body = (
        claims.ticket_id.bytes + claims.event_id.bytes + claims.occurrence_id.bytes + claims.serial
    )
    signature = private_key(signing_key).sign(_signed_bytes(body))
    return f"{VERSION}.{_b64(body)}.{_b64(signature)}"


def verify(payload: str, *, public: Ed25519PublicKey) -> QrClaims:
    """The claims of a payload signed by the holder of `public`'s private key; anything
    else raises ForgedCode. Needs nothing but the public key (this is what a scanner runs)."""
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_LENGTH:
        raise ForgedCode()
    parts = payload.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise ForgedCode()
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise ForgedCode() from None
    if len(body) != BODY_BYTES or len(signature) != SIGNATURE_BYTES:
        raise ForgedCode()
    # Re-encoding must give back the same text: one ticket, one spelling of its code.
    if _b64(body) != parts[1] or _b64(signature) != parts[2]:
        raise ForgedCode()
    try:
        public.verify(signature, _signed_bytes(body))
    except InvalidSignature:
        raise ForgedCode() from None
    return QrClaims(
        ticket_id=uuid.UUID(bytes=body[0:16]),
        event_id=uuid.UUID(bytes=body[16:32]),
        occurrence_id=uuid.UUID(bytes=body[32:48]),
        serial=body[48:],
    )


def verify_issued(payload: str, *, signing_key: bytes) -> QrClaims:
    return verify(payload, public=public_key(signing_key))
