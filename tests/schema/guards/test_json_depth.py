"""Untrusted JSON nested past the depth limit is a coded 400 wherever it arrives, before
anything walks it (a walk that recursed would end in a RecursionError and a 500)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest

from server.json_limits import MAX_JSON_DEPTH, too_deep
from tests.support import factories
from tests.support.gql import GraphQLClient

GQL_RESPONSE = "application/graphql-response+json"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { errors { code } } }"


def nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def raw_nested(depth: int) -> str:
    """Nesting as text, deeper than the standard library's encoder can write."""
    return "[" * depth + "]" * depth


def test_depth_is_measured_without_recursion() -> None:
    assert not too_deep(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert too_deep(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert too_deep(orjson.loads(raw_nested(1_000)), MAX_JSON_DEPTH)
    assert not too_deep({"a": [1, 2, {"b": "c"}], "d": "e"}, 3)
    assert too_deep({"a": [1, 2, {"b": "c"}], "d": "e"}, 2)


def assert_too_deep(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "JSON_TOO_DEEP"}
    assert str(MAX_JSON_DEPTH) in body["errors"][0]["message"]


@pytest.mark.parametrize("where", ["variables", "extensions", "unknown-key"])
async def test_a_deep_json_body_is_a_coded_400(client: httpx.AsyncClient, where: str) -> None:
    deep = raw_nested(400)
    members = {
        "variables": f'"variables": {{"i": {deep}}}',
        "extensions": f'"extensions": {{"x": {deep}}}',
        "unknown-key": f'"pad": {deep}',
    }
    body = '{"query": ' + json.dumps(LOGIN) + ", " + members[where] + "}"

    response = await client.post(
        "/graphql",
        content=body.encode(),
        headers={"content-type": "application/json", "accept": GQL_RESPONSE},
    )

    assert_too_deep(response)


async def test_variables_just_inside_the_limit_are_answered(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"x": nested(MAX_JSON_DEPTH - 2)}},
        headers={"accept": GQL_RESPONSE},
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("name", ["variables", "extensions"])
async def test_deep_json_in_a_get_query_string_is_a_coded_400(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ __typename }", name: '{"x": ' + raw_nested(400) + "}"},
        headers={"accept": GQL_RESPONSE},
    )

    assert_too_deep(response)


@pytest.mark.parametrize("part", ["operations", "map"])
async def test_deep_json_in_multipart_fields_is_a_coded_400(
    client: httpx.AsyncClient, part: str, gql: GraphQLClient
) -> None:
    user = await factories.register(gql)
    operations = {"query": "mutation($f: Upload!) { __typename }", "variables": {"f": None}}
    fields = {
        "operations": json.dumps(operations),
        "map": json.dumps({"0": ["variables.f"]}),
    }
    fields[part] = '{"x": ' + raw_nested(400) + "}"

    response = await client.post(
        "/graphql",
        data=fields,
        files={"0": ("a.png", b"png", "image/png")},
        headers={"accept": GQL_RESPONSE, "authorization": f"Bearer {user.token}"},
    )

    assert_too_deep(response)


async def test_a_deep_body_to_the_test_payment_button_is_a_coded_400(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/payments/test/ref_1/succeed",
        content=raw_nested(100_000).encode(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"


async def test_a_deep_signed_test_webhook_is_refused_as_malformed(
    client: httpx.AsyncClient, state: Any
) -> None:
    from server.payments import test_provider

    body = (
        '{"id": "evt_1", "type": "payment.succeeded", "data": ' + raw_nested(900) + "}"
    ).encode()
    signature = test_provider.sign_payload(body, test_provider.signing_key(state.settings))

    response = await client.post(
        "/webhooks/test", content=body, headers={test_provider.SIGNATURE_HEADER: signature}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_WEBHOOK"
