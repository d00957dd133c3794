"""GraphQL over WebSocket at /graphql (graphql-transport-ws), ready for subscriptions:
the handshake, authentication in `connection_init`, refusal of bad credentials."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator

import pytest
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.config import Settings

with warnings.catch_warnings():  # it asks for the `httpx2` package; httpx works
    warnings.simplefilter("ignore", UserWarning)  # StarletteDeprecationWarning
    from starlette.testclient import TestClient

PROTOCOL = "graphql-transport-ws"


@pytest.fixture
def ws_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    # Starlette's TestClient speaks WebSocket; it runs the app on its own loop and thread.
    with TestClient(create_app(make_settings(), run_worker=False)) as client:
        yield client


def register(client: TestClient) -> str:
    response = client.post(
        "/graphql",
        json={
            "query": 'mutation { register(input: {email: "ws@example.com", password: '
            '"long enough", name: "W"}) { accessToken } }'
        },
    )
    return str(response.json()["data"]["register"]["accessToken"])


def test_an_anonymous_connection_is_acknowledged(ws_client: TestClient) -> None:
    with ws_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        assert ws.accepted_subprotocol == PROTOCOL
        ws.send_text(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.receive_text())["type"] == "connection_ack"
        ws.send_text(json.dumps({"type": "ping"}))
        assert json.loads(ws.receive_text())["type"] == "pong"


def test_a_valid_access_token_in_connection_init_is_acknowledged(ws_client: TestClient) -> None:
    token = register(ws_client)

    with ws_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_text(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(ws.receive_text())["type"] == "connection_ack"


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
        {"authorization": "Basic abc"},
        {"apiKey": "evkzzzzzzzzzzzz_not-a-real-secret"},
    ],
)
def test_bad_credentials_close_the_connection(
    ws_client: TestClient, payload: dict[str, str]
) -> None:
    with ws_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_text(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()

    assert closed.value.code == 4403


def test_a_subscribe_before_the_handshake_is_4401(ws_client: TestClient) -> None:
    with ws_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_text(
            json.dumps({"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}})
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()

    assert closed.value.code == 4401


def test_the_legacy_protocol_is_refused(ws_client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        ws_client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
    ):
        ws.receive_text()
