"""Errors on the wire.

Domain errors become `UserError` entries in the mutation payload (one mapping, used by
every mutation through `run_mutation`). Access errors and request errors become GraphQL
errors with `extensions.code`. Anything unexpected is logged with the request id and shown
to the client only as `INTERNAL` with that id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
import structlog
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from server import unavailable
from server.errors import AccessError, DomainError, DomainErrors
from server.errors import ErrorCode as ServerErrorCode
from server.unavailable import caused_by_outage

log = structlog.get_logger("eventapi.graphql")

ErrorCode = strawberry.enum(ServerErrorCode, name="ErrorCode")

T = TypeVar("T")


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: ErrorCode  # type: ignore[valid-type]


def user_errors(exc: DomainError | DomainErrors) -> list[UserError]:
    errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [UserError(field=e.field, message=e.message, code=e.code) for e in errors]


class ClientError(Exception):
    """A request-level problem reported as a GraphQL error with a code (bad id, ...)."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        self.message = message
        self.code = code
        super().__init__(message)


async def mutate(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's service call: its result, or the domain error it raised as the
    payload's `errors` (access errors stay GraphQL errors). The one mapping every mutation
    uses, so resolvers hold no try/except."""
    try:
        return await work(), []
    except (DomainError, DomainErrors) as exc:
        return None, user_errors(exc)


async def run_mutation(
    info: Info, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run `work` in one transaction. A domain error rolls everything back and comes back as
    the payload's `errors`; nothing the mutation did is left behind."""

    async def transaction() -> T:
        async with info.context.db.transaction() as session:
            return await work(session)

    return await mutate(transaction)


async def run_boolean_mutation(info: Info, work: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
    """For mutations whose contract returns a bare Boolean: a domain error cannot travel
    in a payload, so it becomes a GraphQL error carrying the same code (and nothing is
    changed, the transaction having rolled back)."""
    async with info.context.db.transaction() as session:
        return await work(session)


async def run_query(
    info: Info, work: Callable[[AsyncSession], Awaitable[T]], *, replica: bool = False
) -> T:
    """Run a query's read. `replica=True` for read-heavy work a streaming replica may
    serve (listings, reports, seat maps): the caller still sees their own writes."""
    return await info.context.db.run_read(work, replica=replica)


async def run_query_or_none(
    info: Info, work: Callable[[AsyncSession], Awaitable[T]], *, replica: bool = False
) -> T | None:
    """For single-object queries: a row that does not exist, or that the viewer may not
    see, reads as null (the same answer for both, so nothing leaks)."""
    try:
        return await run_query(info, work, replica=replica)
    except DomainError:
        return None


async def run_query_or_empty(
    info: Info, work: Callable[[AsyncSession], Awaitable[list[T]]], *, replica: bool = False
) -> list[T]:
    """For list queries about one parent: an invisible or missing parent reads as empty."""
    try:
        return await run_query(info, work, replica=replica)
    except DomainError:
        return []


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    if not error.path and not isinstance(original, AccessError | ClientError | DomainError):
        # No path: the request itself was wrong (validation, a literal or variable that
        # its type cannot represent), whatever the scalar raised underneath.
        extensions = dict(error.extensions or {})
        if isinstance(original, GraphQLError) and original.extensions:
            extensions = {**original.extensions, **extensions}
        extensions.setdefault(
            "code",
            "BAD_USER_INPUT"
            if error.message.startswith("Variable ")
            else "GRAPHQL_VALIDATION_FAILED",
        )
        formatted["extensions"] = extensions
    elif original is None and error.extensions and "code" in error.extensions:
        formatted["extensions"] = dict(error.extensions)
    elif original is None:
        # Raised by the executor itself on a resolved field (a null for a non-null field,
        # a value its type cannot serialize): our bug, not the client's.
        log.error("invalid result while resolving", path=error.path, detail=error.message)
        formatted["message"] = "Internal server error."
        formatted["extensions"] = {"code": "INTERNAL", "requestId": request_id}
    elif isinstance(original, AccessError | ClientError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code}
    elif isinstance(original, DomainError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code.value}
        if original.field:
            formatted["extensions"]["field"] = original.field
    elif isinstance(original, DomainErrors):
        formatted["message"] = original.errors[0].message
        formatted["extensions"] = {"code": original.errors[0].code.value}
    elif isinstance(original, GraphQLError) and original.extensions:
        formatted["extensions"] = dict(original.extensions)
    elif caused_by_outage(original):
        formatted["message"] = unavailable.MESSAGE
        formatted["extensions"] = {"code": unavailable.CODE, "requestId": request_id}
    else:
        log.error(
            "unexpected error while resolving",
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        formatted["message"] = "Internal server error."
        formatted["extensions"] = {"code": "INTERNAL", "requestId": request_id}
    return formatted
