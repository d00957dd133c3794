"""GraphQL over HTTP: media types, status codes, methods and request errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, make_url, select

from server.auth.models import User
from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.support.logs import captured_logs

GQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
BOTH = f"{GQL_RESPONSE}, {JSON}"
REGISTER = (
    'mutation { register(input: {email: "h@example.com", password: "long enough pw",'
    ' name: "H"}) { accessToken errors { code } } }'
)


async def post(
    client: httpx.AsyncClient, body: Any, *, accept: str | None = BOTH, **headers: str
) -> httpx.Response:
    sent = {"content-type": JSON, **headers}
    if accept is not None:
        sent["accept"] = accept
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/graphql", content=content, headers=sent)


@pytest.fixture
def log_lines() -> Any:
    with captured_logs() as lines:
        yield lines


async def user_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


# --- media types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GQL_RESPONSE, GQL_RESPONSE),
        (JSON, JSON),
        (BOTH, GQL_RESPONSE),
        (f"{JSON}, {GQL_RESPONSE};q=0.5", JSON),
        ("*/*", JSON),
        (None, JSON),
    ],
)
async def test_the_response_media_type_follows_the_accept_header(
    client: httpx.AsyncClient, accept: str | None, media: str
) -> None:
    response = await post(client, {"query": "{ me { id } }"}, accept=accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert response.json() == {"data": {"me": None}}


async def test_an_accept_header_we_cannot_satisfy_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ me { id } }"}, accept="text/plain")

    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_an_unsupported_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"query=%7Bme%7Bid%7D%7D", headers={"content-type": "text/plain"}
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_a_non_utf8_charset_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ me { id } }"}',
        headers={"content-type": "application/json; charset=latin-1"},
    )

    assert response.status_code == 415


# --- request errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ me { id } }"',  # truncated
        b"not json at all",
        b"",
        b'"query"',
        b'{"query": 42}',
        b'{"query": "{ me { id } }", "variables": "nope"}',
        b'{"query": "{ me { id } }", "operationName": 7}',
        b'{"query": "{ me { id } }", "extensions": []}',
        b'{"variables": {}}',
    ],
)
@pytest.mark.parametrize("accept", [GQL_RESPONSE, JSON])
async def test_malformed_requests_are_400_with_a_clear_error(
    client: httpx.AsyncClient, body: bytes, accept: str
) -> None:
    response = await post(client, body, accept=accept)

    assert response.status_code == 400
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert payload["errors"][0]["message"]


async def test_a_parse_error_is_400_without_data_for_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, {"query": "{ me { id }"}, accept=GQL_RESPONSE)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 12}]


async def test_a_parse_error_is_200_for_plain_json(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ me { id }"}, accept=JSON)

    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(("accept", "status"), [(GQL_RESPONSE, 400), (JSON, 200)])
async def test_a_validation_error_names_the_problem(
    client: httpx.AsyncClient, accept: str, status: int
) -> None:
    response = await post(client, {"query": "{ me { nope } }"}, accept=accept)

    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "nope" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "variables",
    [
        {"id": {"an": "object"}},
        {"id": ["a", "list"]},
        {"id": None},
        {},
        {"id": 1.5},
    ],
)
@pytest.mark.parametrize(("accept", "status"), [(GQL_RESPONSE, 400), (JSON, 200)])
async def test_variables_of_the_wrong_type_are_a_client_error(
    client: httpx.AsyncClient, variables: dict[str, Any], accept: str, status: int
) -> None:
    query = "query Org($id: ID!) { organization(id: $id) { id } }"

    response = await post(client, {"query": query, "variables": variables}, accept=accept)

    assert response.status_code == status
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Variable '$id'")


async def test_a_wrong_variable_type_in_a_mutation_changes_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    query = "mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }"
    variables = {"input": {"email": "a@example.com", "password": 12345678, "name": "A"}}

    response = await post(client, {"query": query, "variables": variables}, accept=GQL_RESPONSE)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await user_count(db) == 0


async def test_a_literal_the_type_cannot_represent_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    query = (
        'mutation { createApiKey(input: {organizationId: "x", name: "k", scopes: [],'
        ' expiresAt: "not a date"}) { secret } }'
    )

    response = await post(client, {"query": query}, accept=GQL_RESPONSE)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_unknown_operation_name_is_400(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "query A { me { id } }", "operationName": "B"})

    assert response.status_code == 400
    assert "'B'" in response.json()["errors"][0]["message"]


async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    document = "query A { me { id } } query B { me { email } }"

    unnamed = await post(client, {"query": document})
    named = await post(client, {"query": document, "operationName": "B"})

    assert unnamed.status_code == 400
    assert named.status_code == 200
    assert named.json() == {"data": {"me": None}}


async def test_a_subscription_over_http_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "subscription { me { id } }"})

    assert response.status_code == 400


async def test_an_oversized_body_is_413_and_changes_nothing(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    async with running_app(make_settings(max_body_size=2048)) as (_, client):
        padding = " " * 4096
        small = await post(client, {"query": REGISTER})
        big = await post(
            client,
            {"query": REGISTER.replace("h@example", "big@example") + padding},
        )

    assert small.status_code == 200
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert await user_count(db) == 1


async def test_an_oversized_chunked_body_is_413(
    make_settings: Callable[..., Settings],
) -> None:
    async def chunks() -> Any:
        yield b'{"query": "{ me { id } }", "pad": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}'

    async with running_app(make_settings(max_body_size=2048)) as (_, client):
        response = await client.post(
            "/graphql", content=chunks(), headers={"content-type": JSON, "accept": BOTH}
        )

    assert response.status_code == 413


# --- GET ------------------------------------------------------------------------------------


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($id: ID!) { organization(id: $id) { id } }",
            "variables": json.dumps({"id": "0190b8a0-0000-7000-8000-000000000000"}),
        },
        headers={"accept": GQL_RESPONSE},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"organization": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_get_refuses_mutations_with_405(client: httpx.AsyncClient, db: Database) -> None:
    response = await client.get(
        "/graphql", params={"query": REGISTER}, headers={"accept": GQL_RESPONSE}
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert await user_count(db) == 0


async def test_get_with_a_named_mutation_among_queries_is_405(client: httpx.AsyncClient) -> None:
    document = "query Q { me { id } } mutation M { logout }"

    query = await client.get("/graphql", params={"query": document, "operationName": "Q"})
    mutation = await client.get("/graphql", params={"query": document, "operationName": "M"})

    assert query.status_code == 200
    assert mutation.status_code == 405


async def test_get_with_malformed_variables_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ me { id } }", "variables": "{not json"}
    )

    assert response.status_code == 400


async def test_other_methods_are_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json={"query": "{ me { id } }"})

    assert response.status_code == 405


# --- GraphiQL -----------------------------------------------------------------------------


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_gets_graphiql_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_no_graphiql_and_no_introspection_in_production(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(environment="production", test_payments=False)
    async with running_app(settings) as (_, client):
        page = await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        introspection = await post(client, {"query": "{ __schema { types { name } } }"})

    assert "graphiql" not in page.text.lower()
    assert page.status_code == 400
    assert introspection.status_code == 400
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()


# --- request ids and masked errors --------------------------------------------------------


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await post(client, {"query": "{ me { id } }"})
    echoed = await post(client, {"query": "{ me { id } }"}, **{"x-request-id": "abc-12345678"})
    refused = await post(client, {"query": "{ me { id } }"}, **{"x-request-id": "bad id!"})

    assert len(generated.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "abc-12345678"
    assert refused.headers["x-request-id"] != "bad id!"


async def test_an_internal_error_is_masked_and_its_request_id_is_logged(
    make_settings: Callable[..., Settings], log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # A database that does not exist on a server that answers (a mistake, not an outage,
    # which is answered 503): an unexpected failure inside a resolver.
    server = make_url(make_settings().database_url)
    missing = server.set(database="nonexistent").render_as_string(hide_password=False)
    broken = make_settings(database_url=missing)
    async with running_app(broken) as (_, client):
        response = await post(client, {"query": REGISTER})

    assert response.status_code == 200
    body = response.json()
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    request_id = error["extensions"]["requestId"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert response.headers["x-request-id"] == request_id
    text = json.dumps(body)
    for leak in ("Traceback", "asyncpg", "nonexistent", "File ", "Error:"):
        assert leak not in text
    logged = [line for line in log_lines() if line.get("request_id") == request_id]
    assert any(
        line.get("level") == "error" and "Traceback" in line.get("exception", "") for line in logged
    )
    assert any(line.get("event") == "request" for line in logged)


async def test_long_documents_are_answered_but_not_kept_in_the_parse_cache(
    app: Any, client: httpx.AsyncClient
) -> None:
    from starlette.routing import Route

    route = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    executor = route.endpoint.__self__.executor
    long_literal = "x" * 100_000
    query = f'mutation {{ login(input: {{email: "{long_literal}", password: "p"}}) {{ errors {{ code }} }} }}'

    response = await post(client, {"query": query})

    assert response.json()["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert query not in executor.cache
    assert all(len(cached) <= 20_000 for cached in executor.cache)


@pytest.mark.parametrize(
    "body",
    [
        {
            "query": "mutation($i: LoginInput!) { login(input: $i) { errors { code } } }",
            "variables": {"i": {"email": "a\u0000b@example.com", "password": "x"}},
        },
        {
            "query": "mutation($i: RegisterInput!) { register(input: $i) { errors { code } } }",
            "variables": {
                "i": {"email": "n@example.com", "password": "long enough", "name": "\u0000"}
            },
        },
        {
            "query": 'mutation { login(input: {email: "a\\u0000b", password: "x"}) { errors { code } } }'
        },
        {
            "query": 'mutation { login(input: {email: "a\\u{0}b", password: "x"}) { errors { code } } }'
        },
        {"query": "{ me { id } }", "variables": {"\u0000": 1}},
        {
            "query": 'mutation { login(input: {email: "a\u0000b", password: "x"}) { errors { code } } }'
        },
    ],
    ids=[
        "variable",
        "nested-variable",
        "literal-escape",
        "literal-braced-escape",
        "variable-name",
        "literal-raw",
    ],
)
async def test_nul_characters_are_bad_input_and_change_nothing(
    client: httpx.AsyncClient, db: Database, body: dict[str, Any]
) -> None:
    response = await post(client, body)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "NUL" in error["message"]
    assert await user_count(db) == 0


async def test_an_escaped_backslash_u_is_ordinary_text(client: httpx.AsyncClient) -> None:
    query = 'mutation { login(input: {email: "a\\\\u0000b@example.com", password: "x"}) { errors { code } } }'

    response = await post(client, {"query": query})

    assert response.json()["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


@pytest.mark.parametrize("accept", [GQL_RESPONSE, JSON])
async def test_a_batch_is_refused_as_the_readme_says(
    client: httpx.AsyncClient, accept: str
) -> None:
    batch = b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]'
    response = await post(client, batch, accept=accept)

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BATCHING_NOT_SUPPORTED"]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "Request batching (a JSON array of requests in one body) is\n  not supported" in readme
    assert "`BATCHING_NOT_SUPPORTED`" in readme
