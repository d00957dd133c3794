from __future__ import annotations

from server.errors import NotFound, ValidationError


class ApiKeyNotFound(NotFound):
    message = "No such API key."


class UnknownScope(ValidationError):
    message = "Unknown scope."
