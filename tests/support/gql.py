"""A small GraphQL client over httpx for tests."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, path: str = "/graphql") -> None:
        self.http = http
        self.path = path

    async def raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> httpx.Response:
        sent = {"accept": "application/graphql-response+json, application/json"}
        if token:
            sent["authorization"] = f"Bearer {token}"
        if api_key:
            sent["x-api-key"] = api_key
        sent.update(headers or {})
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        if extensions is not None:
            body["extensions"] = extensions
        return await self.http.post(self.path, json=body, headers=sent)

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The response body; fails the test on any top-level GraphQL error."""
        response = await self.raw(query, variables, **kwargs)
        body = response.json()
        assert "errors" not in body, f"unexpected errors: {body['errors']}"
        assert response.status_code == 200, response.text
        return body["data"]

    async def errors(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """The top-level errors of a request that must fail."""
        response = await self.raw(query, variables, **kwargs)
        body = response.json()
        assert body.get("errors"), f"expected errors, got {body}"
        return body["errors"]

    async def error_code(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> str:
        errors = await self.errors(query, variables, **kwargs)
        return str(errors[0]["extensions"]["code"])


def payload_errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    """(code, field) of each UserError in a mutation payload."""
    return [(e["code"], e["field"]) for e in payload["errors"]]
