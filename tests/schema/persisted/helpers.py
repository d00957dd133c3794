"""Requests in the shapes persisted-query clients send them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

ACCEPT_BOTH = "application/graphql-response+json, application/json"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(digest: Any, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def post(
    client: httpx.AsyncClient,
    *,
    query: str | None = None,
    extensions: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    api_key: str | None = None,
    token: str | None = None,
    accept: str = ACCEPT_BOTH,
    document_id: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {}
    if document_id is not None:
        body["documentId"] = document_id
    if query is not None:
        body["query"] = query
    if extensions is not None:
        body["extensions"] = extensions
    if variables is not None:
        body["variables"] = variables
    return await client.post("/graphql", json=body, headers=_headers(accept, api_key, token))


async def get(
    client: httpx.AsyncClient,
    *,
    query: str | None = None,
    extensions: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    api_key: str | None = None,
    accept: str = ACCEPT_BOTH,
    document_id: str | None = None,
) -> httpx.Response:
    params: dict[str, str] = {}
    if document_id is not None:
        params["documentId"] = document_id
    if query is not None:
        params["query"] = query
    if extensions is not None:
        params["extensions"] = json.dumps(extensions)
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return await client.get("/graphql", params=params, headers=_headers(accept, api_key, None))


def _headers(accept: str, api_key: str | None, token: str | None) -> dict[str, str]:
    headers = {"accept": accept}
    if api_key:
        headers["x-api-key"] = api_key
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


def error_codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]
