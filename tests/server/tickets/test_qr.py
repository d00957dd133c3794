"""The QR payload: signed with Ed25519, verifiable with nothing but the public key;
anything malformed, tampered with or signed by another key is refused."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.tickets import qr

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _claims() -> qr.QrClaims:
    return qr.QrClaims(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), qr.new_serial())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_signed_payload_verifies_with_the_public_key_alone() -> None:
    claims = _claims()
    payload = qr.sign(claims, signing_key=KEY)
    published = Ed25519PublicKey.from_public_bytes(qr.public_key_raw(KEY))

    assert qr.verify(payload, public=published) == claims
    assert payload.startswith("T1.")
    assert len(payload) == 176
    assert set(payload) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_the_same_claims_give_the_same_payload_and_other_serials_other_ones() -> None:
    claims = _claims()
    again = qr.QrClaims(claims.ticket_id, claims.event_id, claims.occurrence_id, qr.new_serial())

    assert qr.sign(claims, signing_key=KEY) == qr.sign(claims, signing_key=KEY)
    assert qr.sign(again, signing_key=KEY) != qr.sign(claims, signing_key=KEY)


def test_a_long_configured_key_is_hashed_into_the_seed() -> None:
    long_key = b"a ticket secret longer than thirty-two bytes"
    payload = qr.sign(_claims(), signing_key=long_key)

    assert qr.verify_issued(payload, signing_key=long_key).serial
    assert qr.public_key_raw(long_key) != qr.public_key_raw(KEY)


def test_a_payload_signed_with_another_key_is_refused() -> None:
    payload = qr.sign(_claims(), signing_key=OTHER_KEY)

    with pytest.raises(qr.ForgedCode):
        qr.verify_issued(payload, signing_key=KEY)


def test_changing_any_claim_breaks_the_signature() -> None:
    version, body, signature = qr.sign(_claims(), signing_key=KEY).split(".")
    raw = bytearray(_unb64(body))
    for index in (0, 20, 40, 60):  # ticket id, event id, occurrence id, serial
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        with pytest.raises(qr.ForgedCode):
            qr.verify_issued(f"{version}.{_b64(bytes(tampered))}.{signature}", signing_key=KEY)


def test_a_tampered_signature_is_refused() -> None:
    version, body, signature = qr.sign(_claims(), signing_key=KEY).split(".")
    raw = bytearray(_unb64(signature))
    raw[10] ^= 0x80

    with pytest.raises(qr.ForgedCode):
        qr.verify_issued(f"{version}.{body}.{_b64(bytes(raw))}", signing_key=KEY)


def test_another_version_never_verifies_even_with_a_valid_signature() -> None:
    _, body, signature = qr.sign(_claims(), signing_key=KEY).split(".")

    with pytest.raises(qr.ForgedCode):
        qr.verify_issued(f"T2.{body}.{signature}", signing_key=KEY)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "hello",
        "T1..",
        "T1.abc.def",
        "T1.!!!!.????",
        "T1." + "A" * 86,
        "T1." + "A" * 86 + "." + "A" * 86 + ".extra",
        "T1." + "A" * 300,
        "T1." + _b64(b"x" * 63) + "." + _b64(b"y" * 64),
        "T1." + _b64(b"x" * 64) + "." + _b64(b"y" * 63),
        "T1." + _b64(b"x" * 64) + "=." + _b64(b"y" * 64),
        "t1." + _b64(b"x" * 64) + "." + _b64(b"y" * 64),
    ],
)
def test_malformed_payloads_are_refused(payload: str) -> None:
    with pytest.raises(qr.ForgedCode):
        qr.verify_issued(payload, signing_key=KEY)


def test_a_non_canonical_spelling_of_a_real_code_is_refused() -> None:
    # base64 of 64 bytes leaves 2 unused bits in the last character; setting them gives
    # another string that decodes to the same bytes. One ticket has one spelling.
    version, body, signature = qr.sign(_claims(), signing_key=KEY).split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = signature[:-1] + alphabet[last | 0b0001]
    if twin == signature:
        twin = signature[:-1] + alphabet[last | 0b0010]

    assert _unb64(twin) == _unb64(signature)
    with pytest.raises(qr.ForgedCode):
        qr.verify_issued(f"{version}.{body}.{twin}", signing_key=KEY)
