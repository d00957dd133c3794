"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/).

POST with `application/json` (or a multipart upload), GET for queries only; responses in
`application/graphql-response+json` when the client accepts it (request errors then get
4xx status codes and no `data`), else `application/json` (always 200 once the request is
well-formed). Around execution: authentication, the rate limit, persisted queries,
metrics and error masking."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from graphql import (
    BREAK,
    ExecutionResult,
    GraphQLError,
    OperationType,
    StringValueNode,
    Visitor,
    visit,
)
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from schema.context import Context
from schema.errors import format_error
from schema.executor import Executor, Prepared
from schema.persisted.errors import PersistedQueryError
from schema.persisted.resolve import PersistedQueries
from schema.persisted.response_cache import CachedResponse, Candidate, PublicResponseCache
from server import metrics, unavailable
from server.app_state import AppState
from server.auth.actor import Actor
from server.clock import utcnow
from server.gate import Admission, Refused
from server.json_limits import TOO_DEEP_MESSAGE, too_deep
from server.numbers import whole_number
from server.ratelimit import RateLimitStatus
from server.rest.graphiql import graphiql_page
from server.unavailable import caused_by_outage

log = structlog.get_logger("eventapi.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class HTTPError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        super().__init__(message)


@dataclass
class GraphQLParams:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None  # GraphQL-over-HTTP persisted documents
    files: dict[str, UploadFile] = field(default_factory=dict)


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None if we can offer none."""
    if not accept or not accept.strip():
        return JSON
    best: dict[str, float] = {}
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        q = 1.0
        charset_ok = True
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            key = key.strip().lower()
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif key == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
                charset_ok = False
        if not charset_ok:
            continue
        best[media] = max(best.get(media, 0.0), q)
    graphql_q = best.get(GRAPHQL_RESPONSE, 0.0)
    json_q = best.get(JSON, 0.0)
    wildcard_q = max(best.get("*/*", 0.0), best.get("application/*", 0.0))
    if graphql_q > 0 and graphql_q >= json_q:
        return GRAPHQL_RESPONSE
    if json_q > 0 or wildcard_q > 0:
        return JSON
    return None


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


def _decode_json(raw: str | bytes, invalid: str) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPError(400, invalid) from None
    if too_deep(value):
        raise HTTPError(400, TOO_DEEP_MESSAGE, "JSON_TOO_DEEP")
    return value


def _json_field(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    return _decode_json(raw, f"`{name}` is not valid JSON.")


BATCHING_MESSAGE = (
    "Batched requests (a JSON array of requests) are not supported: send each request on "
    "its own (keep-alive and HTTP/2 make that cheap)."
)


def _validate_params(data: Any) -> GraphQLParams:
    if isinstance(data, list):
        raise HTTPError(400, BATCHING_MESSAGE, "BATCHING_NOT_SUPPORTED")
    if not isinstance(data, dict):
        raise HTTPError(400, "The request body must be a JSON object.")
    query = data.get("query")
    variables = data.get("variables")
    operation_name = data.get("operationName")
    extensions = data.get("extensions")
    document_id = data.get("documentId")
    if query is not None and not isinstance(query, str):
        raise HTTPError(400, "`query` must be a string.")
    if variables is not None and not isinstance(variables, dict):
        raise HTTPError(400, "`variables` must be an object.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HTTPError(400, "`operationName` must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise HTTPError(400, "`extensions` must be an object.")
    if document_id is not None and not isinstance(document_id, str):
        raise HTTPError(400, "`documentId` must be a string.")
    return GraphQLParams(query, variables, operation_name, extensions, document_id)


NUL_MESSAGE = "Text may not contain NUL characters (U+0000)."


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class _NulFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if "\x00" in node.value:
            self.found = True
            return BREAK
        return None


def refuse_nul_characters(query: str, prepared: Prepared, variables: Any) -> None:
    """PostgreSQL text cannot hold U+0000; refused here once for every field, rather than
    failing inside whichever statement first receives it."""
    if _has_nul(variables):
        raise HTTPError(400, NUL_MESSAGE, "BAD_USER_INPUT")
    if prepared.document is None or ("\\u" not in query and "\x00" not in query):
        return  # a literal carries U+0000 raw or as an escape sequence
    finder = _NulFinder()
    visit(prepared.document, finder)
    if finder.found:
        raise HTTPError(400, NUL_MESSAGE, "BAD_USER_INPUT")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HTTPError(
                    413, f"The request body exceeds {limit} bytes.", "PAYLOAD_TOO_LARGE"
                )
        except ValueError:
            raise HTTPError(400, "Invalid Content-Length.") from None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"The request body exceeds {limit} bytes.", "PAYLOAD_TOO_LARGE")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_params(request: Request, state: AppState, actor: Actor | None) -> GraphQLParams:
    """The request's GraphQL parameters; `actor` (known before a multipart body is read,
    see `is_multipart`) decides whether an upload may be read at all."""
    if request.method == "GET":
        q = request.query_params
        return _validate_params(
            {
                "query": q.get("query"),
                "variables": _json_field(q.get("variables"), "variables"),
                "operationName": q.get("operationName") or None,
                "extensions": _json_field(q.get("extensions"), "extensions"),
                "documentId": q.get("documentId"),
            }
        )
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if "charset" in params.lower() and "utf-8" not in params.lower().replace("utf8", "utf-8"):
        raise HTTPError(415, "Only UTF-8 request bodies are supported.", "UNSUPPORTED_MEDIA_TYPE")
    if media == JSON or media.endswith("+json"):
        body = await _read_body(request, state.settings.max_body_size)
        return _validate_params(_decode_json(body, "The request body is not valid JSON."))
    if media == "multipart/form-data":
        if actor is None or actor.is_anonymous:
            raise HTTPError(
                401, "Sign in to upload files.", "UNAUTHENTICATED", {"WWW-Authenticate": "Bearer"}
            )
        return await _read_multipart(request, state)
    raise HTTPError(
        415,
        "Send `Content-Type: application/json` (or multipart/form-data for uploads).",
        "UNSUPPORTED_MEDIA_TYPE",
    )


def is_multipart(request: Request) -> bool:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return request.method == "POST" and media == "multipart/form-data"


async def _read_multipart(request: Request, state: AppState) -> GraphQLParams:
    """The GraphQL multipart request spec: `operations`, `map`, then the files. Reading
    stops at MAX_UPLOAD_SIZE, declared or not (a chunked body has no Content-Length);
    the parser closes the temporary files it had started."""
    limit = state.settings.max_upload_size
    declared = whole_number(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise HTTPError(413, "The upload is too large.", "PAYLOAD_TOO_LARGE")
    parser = MultiPartParser(
        request.headers, _bounded(request.stream(), limit), max_files=10, max_fields=20
    )
    try:
        form = await parser.parse()
    except HTTPError:
        raise
    except Exception:  # python-multipart raises a variety of parse errors
        raise HTTPError(400, "Malformed multipart body.") from None
    operations_raw = form.get("operations")
    map_raw = form.get("map")
    if not isinstance(operations_raw, str) or not isinstance(map_raw, str):
        raise HTTPError(400, "Multipart requests need `operations` and `map` fields.")
    params = _validate_params(_json_field(operations_raw, "operations"))
    mapping = _json_field(map_raw, "map")
    if not isinstance(mapping, dict):
        raise HTTPError(400, "`map` must be an object.")
    variables = params.variables if params.variables is not None else {}
    for key, paths in mapping.items():
        upload = form.get(key)
        if not isinstance(upload, UploadFile):
            raise HTTPError(400, f"File {key!r} named in `map` is missing.")
        if not isinstance(paths, list):
            raise HTTPError(400, "`map` values must be lists of paths.")
        for path in paths:
            _place(variables, path, upload)
        params.files[key] = upload
    params.variables = variables
    return params


async def _bounded(chunks: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, "The upload is too large.", "PAYLOAD_TOO_LARGE")
        yield chunk


def _place(variables: dict[str, Any], path: Any, value: UploadFile) -> None:
    if not isinstance(path, str) or not path.startswith("variables."):
        raise HTTPError(400, f"Unsupported path in `map`: {path!r}.")
    parts = path.split(".")[1:]
    target: Any = variables
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: Any = int(part) if isinstance(target, list) and part.isdigit() else part
        try:
            if last:
                target[key] = value
            else:
                target = target[key]
        except (KeyError, IndexError, TypeError):
            raise HTTPError(400, f"Path {path!r} in `map` does not exist in variables.") from None


class GraphQLHTTPHandler:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.persisted = PersistedQueries(executor)
        self.responses = PublicResponseCache()

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except Exception as exc:
            if not caused_by_outage(exc):
                raise
            return self._unavailable(request, exc)

    def _unavailable(self, request: Request, exc: BaseException) -> Response:
        """Redis or PostgreSQL is unreachable: a 503 in the negotiated GraphQL media type."""
        unavailable.refused("/graphql", exc)
        request_id: str = request.state.request_id
        error = {
            "message": unavailable.MESSAGE,
            "extensions": {"code": unavailable.CODE, "requestId": request_id},
        }
        media = negotiate(request.headers.get("accept")) or JSON
        response = self._respond({"errors": [error]}, media, 503)
        response.headers.update(unavailable.HEADERS)
        return response

    async def _handle(self, request: Request) -> Response:
        state: AppState = request.app.state.eventapi
        request_id: str = request.state.request_id
        started = time.perf_counter()
        if request.method == "GET" and wants_html(request) and state.settings.graphiql_enabled:
            return graphiql_page()
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return self._error_response(
                HTTPError(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.", "NOT_ACCEPTABLE"),
                JSON,
                request_id,
            )
        rate: RateLimitStatus | None = None
        shared: Candidate | None = None
        try:
            if is_multipart(request):
                # Who is calling is known before an upload is read: only a signed-in
                # caller's is.
                admission = await self._admit(request, state, None)
                params = await read_params(request, state, admission.actor)
                early = None
            else:
                params = await read_params(request, state, None)
                early = self._anonymous_candidate(request, params)
                admission = await self._admit(request, state, early)
            actor, rate = admission.actor, admission.rate
            if early is not None and admission.cached is not None:
                shared = early[0]
                cached = self.responses.answer(shared, admission.cached)
                if cached is not None:
                    return self._cache_hit(cached, media, rate, params, started)
            query = await self._resolve_query(params, state, actor)
            prepared = self.executor.prepare(query)
            op_type = self._check_operation(request, prepared, params)
            refuse_nul_characters(query, prepared, params.variables)
        except HTTPError as error:
            response = self._error_response(error, media, request_id)
            if rate is not None:
                response.headers.update(rate.headers())
            return response
        except GraphQLError as error:
            # Parse/validation failures and persisted-query misses: a GraphQL response.
            status = 400 if media == GRAPHQL_RESPONSE else 200
            if isinstance(error, PersistedQueryError):
                status = error.status or status
            response = self._respond({"errors": [format_error(error, request_id)]}, media, status)
            if isinstance(error, PersistedQueryError):
                response.headers.update(error.headers)
            if rate is not None:
                response.headers.update(rate.headers())
            return response

        if prepared.errors:
            status = 400 if media == GRAPHQL_RESPONSE else 200
            body = {"errors": [format_error(e, request_id) for e in prepared.errors]}
            self._observe(params.operation_name, "invalid", "invalid", started)
            response = self._respond(body, media, status)
        else:
            assert prepared.document is not None
            if shared is None:
                shared = self.responses.candidate(
                    actor,
                    op_type,
                    query,
                    params.operation_name,
                    params.variables,
                    bool(params.files),
                )
                # Not asked in the gate's round trip (a document that took I/O to find).
                cached = await self.responses.lookup(state, shared) if shared else None
                if cached is not None:
                    return self._cache_hit(cached, media, rate, params, started)
            context = Context(
                connection=request,
                state=state,
                actor=actor,
                request_id=request_id,
                prepaid_ip_units=1 if actor.is_anonymous else 0,
                replica_reads=op_type is OperationType.QUERY,
            )
            result = await self.executor.execute(
                prepared,
                context=context,
                variables=params.variables,
                operation_name=params.operation_name,
            )
            lost = [e for e in result.errors or [] if caused_by_outage(e)]
            if lost and (op_type is not OperationType.MUTATION or result.data is None):
                # Only a mutation that got as far as a result is answered with it (its
                # errors then say SERVICE_UNAVAILABLE), so the client sees what was done.
                raise lost[0]
            status, body = self._result_body(result, media, request_id)
            outcome = "ok" if not result.errors else ("error" if result.data is None else "partial")
            self._observe(
                params.operation_name,
                op_type.value if op_type else "unknown",
                outcome,
                started,
                result,
            )
            response = self._respond(body, media, status)
            if shared is not None:
                response.headers["X-Cache"] = "MISS"
                if not context.cookies:
                    await self.responses.remember(
                        state,
                        shared,
                        prepared.document,
                        params.operation_name,
                        result,
                        context.cache_tags,
                        bytes(response.body),
                    )
            for cookie in context.cookies:
                response.set_cookie(
                    cookie.key,
                    cookie.value,
                    max_age=cookie.max_age,
                    path=cookie.path,
                    httponly=cookie.httponly,
                    secure=cookie.secure,
                    samesite=cookie.samesite,  # type: ignore[arg-type]
                )
            response.headers.update(context.headers)
        response.headers.update(rate.headers())
        return response

    def _cache_hit(
        self,
        cached: CachedResponse,
        media: str,
        rate: RateLimitStatus,
        params: GraphQLParams,
        started: float,
    ) -> Response:
        self._observe(params.operation_name, "query", "cached", started)
        response = Response(
            cached.body,
            media_type=f"{media}; charset=utf-8",
            headers={"X-Cache": "HIT", "Age": str(cached.age)},
        )
        response.headers.update(rate.headers())
        return response

    def _anonymous_candidate(
        self, request: Request, params: GraphQLParams
    ) -> tuple[Candidate, Prepared] | None:
        """For a request without credentials whose document is at hand (no I/O needed to
        find it): its response-cache entry, looked up in the gate's round trip."""
        if request.headers.get("authorization") or request.headers.get("x-api-key"):
            return None
        query = self.persisted.at_hand(params)
        if query is None:
            return None
        prepared = self.executor.prepare(query)
        if prepared.errors or prepared.document is None:
            return None
        op_type = prepared.operation_type(params.operation_name)
        ip = request.client.host if request.client else None
        shared = self.responses.candidate(
            Actor(ip=ip),
            op_type,
            query,
            params.operation_name,
            params.variables,
            bool(params.files),
        )
        if shared is None or shared.unshareable:
            return None
        return shared, prepared

    async def _admit(
        self,
        request: Request,
        state: AppState,
        early: tuple[Candidate, Prepared] | None,
    ) -> Admission:
        try:
            return await state.gate.admit(
                authorization=request.headers.get("authorization"),
                api_key=request.headers.get("x-api-key"),
                ip=request.client.host if request.client else None,
                now=utcnow(),
                probe=self.responses.probe(early[0]) if early is not None else None,
            )
        except Refused as refused:
            raise HTTPError(
                refused.status, refused.message, refused.code, refused.headers()
            ) from None

    async def _resolve_query(self, params: GraphQLParams, state: AppState, actor: Actor) -> str:
        query = await self.persisted.resolve(params, actor, state)
        if query is not None:
            return query
        if params.query is None or not params.query.strip():
            raise HTTPError(400, "Missing `query` (or `documentId`).")
        return params.query

    def _check_operation(
        self, request: Request, prepared: Prepared, params: GraphQLParams
    ) -> OperationType | None:
        if prepared.document is None:
            return None
        op_type = prepared.operation_type(params.operation_name)
        if op_type is None and not prepared.errors:
            if params.operation_name is not None:
                raise HTTPError(400, f"Unknown operation {params.operation_name!r}.")
            raise HTTPError(
                400, "The document has several operations; name one in `operationName`."
            )
        if request.method == "GET" and op_type in (
            OperationType.MUTATION,
            OperationType.SUBSCRIPTION,
        ):
            raise HTTPError(
                405,
                "Only queries can be sent with GET; use POST.",
                "METHOD_NOT_ALLOWED",
                {"Allow": "POST"},
            )
        if op_type is OperationType.SUBSCRIPTION:
            raise HTTPError(
                400, "Subscriptions are served over WebSocket (graphql-transport-ws) at this path."
            )
        return op_type

    def _result_body(
        self, result: ExecutionResult, media: str, request_id: str
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {}
        errors = [format_error(e, request_id) for e in result.errors or []]
        request_error = (
            result.data is None and bool(errors) and all(not e.path for e in result.errors or [])
        )
        if request_error and media == GRAPHQL_RESPONSE:
            # Variable coercion (or operation selection) failed before execution began.
            return 400, {"errors": errors}
        body["data"] = result.data
        if errors:
            body["errors"] = errors
        return 200, body

    def _respond(self, body: dict[str, Any], media: str, status: int) -> Response:
        return Response(
            orjson.dumps(body, default=str),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
        )

    def _error_response(self, error: HTTPError, media: str, request_id: str) -> Response:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
        status = error.status
        response = self._respond(body, media, status)
        response.headers.update(error.headers)
        return response

    def _observe(
        self,
        name: str | None,
        op_type: str,
        outcome: str,
        started: float,
        result: ExecutionResult | None = None,
    ) -> None:
        label = metrics.operation_label(name)
        metrics.graphql_requests.labels(label, op_type, outcome).inc()
        metrics.graphql_duration.labels(label, op_type).observe(time.perf_counter() - started)
        if result is not None and result.errors:
            for error in result.errors:
                original = error.original_error
                code = (
                    getattr(original, "code", None)
                    or (error.extensions or {}).get("code")
                    or "INTERNAL"
                )
                metrics.graphql_errors.labels(label, str(code)).inc()
