"""The persisted-query refusals, as GraphQL errors with codes. `status` overrides the
handler's default status: an unknown hash is the normal first step of the APQ exchange,
answered 200 as Apollo clients expect (they treat a 4xx there as a failed request)."""

from __future__ import annotations

from graphql import GraphQLError

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
INVALID = "PERSISTED_QUERY_INVALID"
HASH_INVALID = "PERSISTED_QUERY_HASH_INVALID"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
VERSION_UNSUPPORTED = "PERSISTED_QUERY_VERSION_UNSUPPORTED"
REQUIRED = "PERSISTED_QUERY_REQUIRED"


class PersistedQueryError(GraphQLError):
    status: int | None = None
    headers: dict[str, str]

    def __init__(self, message: str, code: str, *, status: int | None = None) -> None:
        super().__init__(message, extensions={"code": code})
        self.status = status
        self.headers = {}


def not_found(*, apq: bool = True) -> PersistedQueryError:
    error = PersistedQueryError("PersistedQueryNotFound", NOT_FOUND, status=200 if apq else None)
    # A GET miss must not be cached by a proxy: the next request may register it.
    error.headers = {"Cache-Control": "private, no-cache, must-revalidate"}
    return error
