"""Email addresses: the one normalization every path that takes or compares an email uses
(accounts, sign-in, members, guest orders, transfers, the waitlist), and the rules against
addresses that read as another (docs/identity.md).

The canonical form: NFKC (fullwidth letters and signs become plain ones), default-ignorable
code points removed (zero-width spaces and joiners, soft hyphens, bidi controls), trimmed,
lower case, the domain's trailing dot dropped and an international domain written in its
Unicode form (IDNA 2008 with the UTS #46 mapping, so `xn--bcher-kva.de` is `bücher.de`)."""

from __future__ import annotations

import re
import unicodedata

import idna

from server.auth.confusables import (
    is_highly_restrictive,
    looks_latin,
    mixed_script_confusable,
    resolved_scripts,
    skeleton,
    without_ignorables,
)
from server.auth.errors import InvalidEmail, MixedScriptEmail

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_EMAIL_LENGTH = 254
MAX_LABEL_LENGTH = 63  # one domain label (RFC 1035)
MAX_INPUT_LENGTH = 1000  # longer input is no address; not worth normalizing


def normalize_email(email: str) -> str:
    """The canonical form of whatever was typed (never fails: a sign-in with a malformed
    address just finds no account)."""
    return _normalize(email[:MAX_INPUT_LENGTH])[0]


def validate_email(email: str, field: str = "email") -> str:
    """The canonical form of a well-formed address, or `InvalidEmail`; `MixedScriptEmail`
    for one whose letters pass for those of another script."""
    if len(email) > MAX_INPUT_LENGTH:
        raise InvalidEmail(field=field)
    normalized, domain_ok = _normalize(email)
    if not domain_ok or len(normalized) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(normalized):
        raise InvalidEmail(field=field)
    parts = email_parts(normalized)
    if not all(0 < len(label) <= MAX_LABEL_LENGTH for label in parts[1:]):
        raise InvalidEmail(field=field)
    if not all(is_highly_restrictive(part) for part in parts):
        raise MixedScriptEmail(field=field)
    if any(looks_latin(part) for part in parts) and any(_latin(part) for part in parts):
        # `apple` spelt in Cyrillic letters, before a Latin domain.
        raise MixedScriptEmail(field=field)
    return normalized


def email_parts(email: str) -> list[str]:
    """The local part and each domain label: the units a script rule applies to."""
    local, _, domain = email.rpartition("@")
    return [local, *domain.split(".")]


def email_skeleton(email: str) -> str:
    """The UTS #39 skeleton of a canonical address: equal for addresses that read alike."""
    return skeleton(email)


def mixed_script_lookalikes(a: str, b: str) -> bool:
    """Two canonical addresses that read alike although written in different scripts
    (`paypal` and `paypa1` are merely similar: one script, two names)."""
    if a == b or email_skeleton(a) != email_skeleton(b):
        return False
    mine, theirs = email_parts(a), email_parts(b)
    if len(mine) != len(theirs):
        return True
    return any(mixed_script_confusable(x, y) for x, y in zip(mine, theirs, strict=True))


def _normalize(email: str) -> tuple[str, bool]:
    text = without_ignorables(unicodedata.normalize("NFKC", email)).strip()
    text = unicodedata.normalize("NFKC", text.lower())
    local, at, domain = text.rpartition("@")
    if not at:
        return text, False
    domain, ok = _domain(domain.removesuffix("."))
    return f"{local}@{domain}", ok


def _domain(domain: str) -> tuple[str, bool]:
    if domain.isascii() and "xn--" not in domain:
        return domain, True
    try:
        return idna.decode(idna.encode(domain, uts46=True)), True
    except (idna.IDNAError, UnicodeError):
        return domain, False


def _latin(part: str) -> bool:
    resolved = resolved_scripts(part)
    return resolved is not None and "Latn" in resolved
