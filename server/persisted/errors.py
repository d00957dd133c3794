from __future__ import annotations

from server.errors import NotFound, ValidationError


class InvalidManifest(ValidationError):
    message = "The manifest must be a JSON object mapping SHA-256 hashes to documents."


class TrustedDocumentNotFound(NotFound):
    message = "No such trusted document."
