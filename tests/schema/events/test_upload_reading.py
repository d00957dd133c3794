"""Multipart uploads: the caller is authenticated before the body is read, and reading
stops at MAX_UPLOAD_SIZE whether the size is declared or the body is chunked, so an
anonymous or oversized upload costs the server (and its temporary files) almost nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from server.config import Settings
from tests.conftest import running_app
from tests.schema.events import catalog
from tests.support import factories
from tests.support.gql import GraphQLClient

BOUNDARY = "eventapi-test-boundary"
CHUNK = 64 * 1024
ADD_ASSET = (
    "mutation($eventId: ID!, $file: Upload!) "
    "{ addEventAsset(eventId: $eventId, kind: IMAGE, file: $file) { errors { code } } }"
)


@dataclass
class ChunkedUpload:
    """A multipart body sent in chunks with no Content-Length, counting what was pulled."""

    event_id: str
    chunks: int
    pulled: int = 0

    def head(self) -> bytes:
        operations = {"query": ADD_ASSET, "variables": {"eventId": self.event_id, "file": None}}
        parts = [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            f"{json.dumps(operations)}\r\n",
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
            f"{json.dumps({'0': ['variables.file']})}\r\n",
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n",
        ]
        return "".join(parts).encode()

    async def body(self) -> AsyncIterator[bytes]:
        self.pulled += 1
        yield self.head()
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"\x89PNG" + b"x" * (CHUNK - 4)
        self.pulled += 1
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


def headers(token: str | None) -> dict[str, str]:
    sent = {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "accept": "application/graphql-response+json",
    }
    if token:
        sent["authorization"] = f"Bearer {token}"
    return sent


@pytest.fixture(scope="module")
def small_uploads() -> int:
    return 4 * CHUNK


async def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    make_settings: Callable[..., Settings], small_uploads: int
) -> None:
    async with running_app(make_settings(max_upload_size=small_uploads)) as (_, client):
        org = await factories.create_org(GraphQLClient(client))
        event = await catalog.create_event(GraphQLClient(client), org)
        upload = ChunkedUpload(event["id"], chunks=64)

        response = await client.post("/graphql", content=upload.body(), headers=headers(None))

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert upload.pulled <= 1


async def test_a_chunked_upload_past_the_limit_stops_being_read_at_the_limit(
    make_settings: Callable[..., Settings], small_uploads: int
) -> None:
    async with running_app(make_settings(max_upload_size=small_uploads)) as (_, client):
        org = await factories.create_org(GraphQLClient(client))
        event = await catalog.create_event(GraphQLClient(client), org)
        upload = ChunkedUpload(event["id"], chunks=64)

        response = await client.post(
            "/graphql", content=upload.body(), headers=headers(org.owner.token)
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert upload.pulled <= small_uploads // CHUNK + 2  # the head and one chunk past the limit


async def test_a_chunked_upload_within_the_limit_is_stored(
    make_settings: Callable[..., Settings], small_uploads: int
) -> None:
    async with running_app(make_settings(max_upload_size=small_uploads)) as (_, client):
        org = await factories.create_org(GraphQLClient(client))
        event = await catalog.create_event(GraphQLClient(client), org)
        upload = ChunkedUpload(event["id"], chunks=1)

        response = await client.post(
            "/graphql", content=upload.body(), headers=headers(org.owner.token)
        )

    assert response.status_code == 200, response.text
    assert "addEventAsset" in response.json()["data"]  # read whole and run (not a real PNG)
