"""The signature scheme, checked with the verification snippet from docs/webhooks.md, so
what integrators copy keeps working."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.webhooks.signing import signature_header, verify

DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
SECRET = "whsec_test-secret"
BODY = b'{"id":"e1","type":"order.confirmed","data":{"total":1250}}'


def documented_verify() -> Callable[..., bool]:
    text = DOCS.read_text()
    snippet = re.search(r"```python\n(.*?)```", text, re.S)
    assert snippet is not None, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]  # type: ignore[no-any-return]


def test_the_documented_snippet_accepts_our_signature_and_refuses_tampering() -> None:
    check = documented_verify()
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)

    assert header.startswith(f"t={now},v1=")
    assert check(SECRET, header, BODY)
    assert not check(SECRET, header, BODY.replace(b"1250", b"9999"))
    assert not check("whsec_wrong", header, BODY)
    assert not check(SECRET, signature_header(SECRET, now - 3600, BODY), BODY)


def test_our_verify_agrees_and_accepts_any_of_several_signatures() -> None:
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    rotated = f"{header},v1={'0' * 64}"

    assert verify(SECRET, header, BODY, now=now)
    assert verify(SECRET, rotated, BODY, now=now)
    assert not verify(SECRET, header, BODY, now=now + 301)
    assert not verify(SECRET, "v1=abc", BODY, now=now)
    assert not verify(SECRET, "t=notanumber,v1=abc", BODY, now=now)
