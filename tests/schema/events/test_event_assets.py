"""Event assets: uploaded by the GraphQL multipart request spec, checked against their
bytes, stored behind the storage interface, served back with the right headers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from server.events.assets import asset_path
from tests.conftest import running_app
from tests.schema.events import catalog
from tests.support import factories
from tests.support.gql import GraphQLClient

ADD_ASSET = """
mutation AddAsset($eventId: ID!, $kind: AssetKind!, $file: Upload!) {
  addEventAsset(eventId: $eventId, kind: $kind, file: $file) {
    event { assets { id kind url contentType size filename } }
    errors { field message code }
  }
}
"""
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 10
MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(300)
WEBM = b"\x1a\x45\xdf\xa3" + bytes(300)
HEIC = b"\x00\x00\x00\x18ftypheic" + bytes(300)


async def upload(
    client: httpx.AsyncClient,
    event_id: str,
    kind: str,
    content: bytes,
    *,
    filename: str = "file.bin",
    content_type: str = "application/octet-stream",
    token: str | None = None,
    status: int = 200,
) -> dict[str, Any]:
    operations = {
        "query": ADD_ASSET,
        "variables": {"eventId": event_id, "kind": kind, "file": None},
    }
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, content_type)},
        headers=headers,
    )
    assert response.status_code == status, response.text
    return dict(response.json())


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "assets"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def path_of(url: str, settings: Settings) -> str:
    assert url.startswith(settings.base_url)
    return url[len(settings.base_url) :]


async def test_an_image_is_stored_and_served_to_members_by_signed_url(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)

    body = await upload(
        client,
        event["id"],
        "IMAGE",
        PNG,
        filename="poster.png",
        content_type="image/png",
        token=org.owner.token,
    )

    payload = body["data"]["addEventAsset"]
    assert payload["errors"] == []
    [asset] = payload["event"]["assets"]
    assert (asset["kind"], asset["contentType"], asset["size"], asset["filename"]) == (
        "IMAGE",
        "image/png",
        len(PNG),
        "poster.png",
    )
    signed = path_of(asset["url"], settings)
    assert "expires=" in signed and "sig=" in signed
    served = await client.get(signed)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"].startswith("private")
    unsigned = await client.get(f"/assets/{asset['id']}")
    assert unsigned.status_code == 404


async def test_once_published_assets_are_public_and_cacheable(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    await upload(
        client, event["id"], "PDF", PDF, content_type="application/pdf", token=org.owner.token
    )
    await catalog.add_ticket_type(gql, org, event["id"])
    await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)

    data = await gql(catalog.EVENT_BY_ID, {"id": event["id"]})
    [asset] = data["event"]["assets"]
    url = path_of(asset["url"], settings)
    served = await client.get(url)
    again = await client.get(url, headers={"if-none-match": served.headers["etag"]})

    assert url == f"/assets/{asset['id']}"
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["cache-control"].startswith("public")
    assert served.content == PDF
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("kind", "content", "content_type", "stored_as"),
    [
        ("IMAGE", JPEG, "image/jpeg", "image/jpeg"),
        ("IMAGE", JPEG, "image/jpg", "image/jpeg"),
        ("SEATMAP_RENDER", PNG, "application/octet-stream", "image/png"),
        ("VIDEO", MP4, "video/mp4", "video/mp4"),
        ("VIDEO", WEBM, "video/webm", "video/webm"),
    ],
)
async def test_each_kind_accepts_its_formats(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    kind: str,
    content: bytes,
    content_type: str,
    stored_as: str,
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)

    body = await upload(
        client, event["id"], kind, content, content_type=content_type, token=org.owner.token
    )

    [asset] = body["data"]["addEventAsset"]["event"]["assets"]
    assert (asset["kind"], asset["contentType"]) == (kind, stored_as)


@pytest.mark.parametrize(
    ("kind", "content", "filename", "content_type", "fragment"),
    [
        ("IMAGE", PNG, "poster.png", "image/jpeg", "sent as image/jpeg"),
        ("IMAGE", PNG, "poster.jpg", "application/octet-stream", "name says image/jpeg"),
        ("IMAGE", PDF, "poster.pdf", "application/pdf", "must be one of"),
        ("PDF", b"<html><script>alert(1)</script>", "x.pdf", "application/pdf", "must be one"),
        ("VIDEO", HEIC, "clip.mp4", "video/mp4", "must be one of"),
        ("IMAGE", b"", "empty.png", "image/png", "empty"),
    ],
)
async def test_mislabelled_or_unfit_files_are_refused_and_nothing_is_stored(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    settings: Settings,
    kind: str,
    content: bytes,
    filename: str,
    content_type: str,
    fragment: str,
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    files_before = stored_files(settings)

    body = await upload(
        client,
        event["id"],
        kind,
        content,
        filename=filename,
        content_type=content_type,
        token=org.owner.token,
    )

    [error] = body["data"]["addEventAsset"]["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", ["file"])
    assert fragment in error["message"]
    assert stored_files(settings) == files_before
    data = await gql(catalog.EVENT_BY_ID, {"id": event["id"]}, token=org.owner.token)
    assert data["event"]["assets"] == []


async def test_an_oversized_file_is_limit_exceeded_and_nothing_is_stored(
    gql: GraphQLClient, make_settings: Callable[..., Settings]
) -> None:
    small = make_settings(asset_max_image_size=1000)
    async with running_app(small) as (_, own_client):
        own_gql = GraphQLClient(own_client)
        org = await factories.create_org(own_gql)
        event = await catalog.create_event(own_gql, org)
        files_before = stored_files(small)

        body = await upload(
            own_client, event["id"], "IMAGE", PNG, content_type="image/png", token=org.owner.token
        )
        fits = await upload(
            own_client,
            event["id"],
            "PDF",
            PDF,
            content_type="application/pdf",
            token=org.owner.token,
        )

    [error] = body["data"]["addEventAsset"]["errors"]
    assert (error["code"], error["field"]) == ("LIMIT_EXCEEDED", ["file"])
    assert fits["data"]["addEventAsset"]["errors"] == []
    assert len(stored_files(small)) == len(files_before) + 1


async def test_who_may_upload(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    crew = await factories.cast(gql)
    event = await catalog.create_event(gql, crew.org)
    files_before = stored_files(settings)

    anonymous = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", status=401
    )
    outsider = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", token=crew.outsider.token
    )
    staff = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", token=crew.staff.token
    )
    manager = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", token=crew.manager.token
    )

    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert [e["code"] for e in outsider["data"]["addEventAsset"]["errors"]] == ["NOT_FOUND"]
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert manager["data"]["addEventAsset"]["errors"] == []
    assert len(stored_files(settings)) == len(files_before) + 1


async def test_tampered_or_expired_signatures_get_404(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    body = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", token=org.owner.token
    )
    asset_id = uuid.UUID(body["data"]["addEventAsset"]["event"]["assets"][0]["id"])
    good = asset_path(settings, asset_id, public=False, now=datetime.now(UTC))
    expired = asset_path(
        settings, asset_id, public=False, now=datetime.now(UTC) - timedelta(hours=3)
    )

    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_id = good.replace(str(asset_id), str(uuid.uuid4()))
    odd_expiries = [f"/assets/{asset_id}?expires={e}&sig=x" for e in ("%C2%B2", "9" * 5000)]

    assert (await client.get(good)).status_code == 200
    for path in (tampered, expired, other_id, "/assets/not-an-id", *odd_expiries):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_a_cancelled_event_takes_no_new_assets_but_keeps_serving_old_ones(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    await upload(client, event["id"], "IMAGE", PNG, content_type="image/png", token=org.owner.token)
    await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token)

    refused = await upload(
        client, event["id"], "IMAGE", JPEG, content_type="image/jpeg", token=org.owner.token
    )
    data = await gql(catalog.EVENT_BY_ID, {"id": event["id"]})

    assert [e["code"] for e in refused["data"]["addEventAsset"]["errors"]] == ["INVALID_STATE"]
    [asset] = data["event"]["assets"]
    assert (await client.get(path_of(asset["url"], settings))).status_code == 200


async def test_a_cancelled_draft_keeps_its_assets_private(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    body = await upload(
        client, event["id"], "IMAGE", PNG, content_type="image/png", token=org.owner.token
    )
    asset_id = body["data"]["addEventAsset"]["event"]["assets"][0]["id"]
    await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token)

    assert (await client.get(f"/assets/{asset_id}")).status_code == 404


async def test_a_file_sent_as_plain_json_is_a_validation_error(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)

    data = await gql(
        ADD_ASSET,
        {"eventId": event["id"], "kind": "IMAGE", "file": "iVBORw0KGgo="},
        token=org.owner.token,
    )

    assert [(e["code"], e["field"]) for e in data["addEventAsset"]["errors"]] == [
        ("VALIDATION", ["file"])
    ]
