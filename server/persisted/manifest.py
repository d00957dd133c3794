"""Document hashes and the manifest formats an organization can register.

A manifest is a JSON object mapping each document's SHA-256 (lowercase hex, optionally
prefixed `sha256:`) to the document, the format GraphQL Codegen's client preset writes as
`persisted-documents.json`. Apollo's persisted query manifest
(`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}, ...]}`) is
accepted too."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from server.persisted.errors import InvalidManifest

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
APOLLO_FORMAT = "apollo-persisted-query-manifest"


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def normalize_hash(value: object) -> str | None:
    """The hash as 64 lowercase hex digits, or None when `value` is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower().startswith("sha256:"):
        text = text[len("sha256:") :]
    text = text.lower()
    return text if HASH_RE.match(text) else None


def parse_manifest(data: Any) -> dict[str, str]:
    """`{hash: document}` from either format; shape errors only (hashes and documents are
    checked when registering, where every problem is reported at once)."""
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise InvalidManifest("An Apollo manifest needs an `operations` list.")
        parsed: dict[str, str] = {}
        for operation in operations:
            if not isinstance(operation, dict):
                raise InvalidManifest("Each operation needs an `id` and a `body`.")
            key, body = operation.get("id"), operation.get("body")
            if not isinstance(key, str) or not isinstance(body, str):
                raise InvalidManifest("Each operation needs an `id` and a `body`.")
            parsed[key] = body
        return parsed
    if not isinstance(data, dict):
        raise InvalidManifest()
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InvalidManifest()
    return dict(data)
