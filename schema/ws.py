"""GraphQL over WebSocket (graphql-transport-ws) at /graphql, served by Strawberry.

Clients authenticate in the `connection_init` payload: `{"authorization": "Bearer <token>"}`
(an access token or an API key). Bad credentials close the connection with 4403."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import orjson
import strawberry
import structlog
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from schema.context import Context
from schema.suggestions import without_suggestions
from server import unavailable
from server.auth.actor import Actor
from server.auth.authenticate import resolve_actor
from server.clock import utcnow
from server.errors import Unauthenticated
from server.json_limits import TOO_DEEP_MESSAGE, too_deep
from server.unavailable import caused_by_outage

log = structlog.get_logger("eventapi.graphql")


def _coded(error: dict[str, Any], request_id: str, hide_suggestions: bool) -> dict[str, Any]:
    """Every error on the socket carries `extensions.code`, as over HTTP: a request error
    (validation, variables) gets its code; an unexpected one is masked as INTERNAL. With
    introspection off no message suggests schema names."""
    if hide_suggestions and isinstance(error.get("message"), str):
        error = {**error, "message": without_suggestions(error["message"])}
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    if not error.get("path"):
        message = str(error.get("message", ""))
        code = "BAD_USER_INPUT" if message.startswith("Variable ") else "GRAPHQL_VALIDATION_FAILED"
        return {**error, "extensions": {**extensions, "code": code}}
    log.error("unexpected error in a subscription", detail=error.get("message"))
    return {
        "message": "Internal server error.",
        "path": error["path"],
        "extensions": {"code": "INTERNAL", "requestId": request_id},
    }


class CodedErrorsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Credentials are checked against Redis: while it is unreachable the socket is
        closed with 1013 (try again later), not dropped (docs/redis-outage.md)."""
        try:
            await super().handle_connection_init(message)
        except Exception as exc:
            if not caused_by_outage(exc):
                raise
            unavailable.refused("/graphql", exc)
            await self.websocket.close(
                code=unavailable.WEBSOCKET_TRY_AGAIN_LATER, reason=unavailable.CODE
            )

    async def send_message(self, message: Message) -> None:
        body = cast("dict[str, Any]", message)
        request_id = self.context.request_id
        hide = not self.context.settings.introspection_enabled
        if body["type"] == "error":
            body["payload"] = [_coded(e, request_id, hide) for e in body["payload"]]
        elif body["type"] == "next" and body["payload"].get("errors"):
            body["payload"]["errors"] = [
                _coded(e, request_id, hide) for e in body["payload"]["errors"]
            ]
        await super().send_message(message)


class WebSocketGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = CodedErrorsHandler

    def __init__(self, schema: strawberry.Schema) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=60),
            max_subscriptions_per_connection=100,
        )

    def decode_json(self, data: str | bytes) -> object:
        """Messages nested past MAX_JSON_DEPTH are malformed (closed with 4400) before
        anything walks them."""
        value = orjson.loads(data)  # its errors are JSONDecodeErrors too
        if too_deep(value):
            raise json.JSONDecodeError(TOO_DEEP_MESSAGE, "", 0)
        return value

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state.eventapi
        ip = request.client.host if request.client else None
        request_id = request.scope.get("state", {}).get("request_id", "ws")
        return Context(connection=request, state=state, actor=Actor(ip=ip), request_id=request_id)

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        try:
            context.actor = await socket_actor(context)
        except Unauthenticated as exc:
            raise ConnectionRejectionError(
                {"code": "UNAUTHENTICATED", "message": exc.message}
            ) from None
        return None


async def socket_actor(context: Context) -> Actor:
    """Who the socket's `connection_init` credentials stand for now. Resolved again while a
    private stream runs, so a session that ended or a key that was revoked stops it
    (both are answered from Redis, kept current on revocation)."""
    params = context.connection_params or {}
    authorization = params.get("authorization") or params.get("Authorization")
    api_key = params.get("apiKey") or params.get("x-api-key")
    if not authorization and not api_key:
        return Actor(ip=context.actor.ip)
    return await resolve_actor(
        authorization=str(authorization) if authorization else None,
        api_key=str(api_key) if api_key else None,
        ip=context.actor.ip,
        db=context.db,
        redis=context.redis,
        settings=context.settings,
        now=utcnow(),
    )
