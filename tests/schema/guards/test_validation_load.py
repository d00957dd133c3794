"""Documents whose validation would hold the event loop (hundreds of copies of one field,
fragments compared pairwise) are refused by a linear count before validation runs; and
when introspection is off, no error message suggests names from the schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from schema import executor as executor_module
from schema.api import schema
from schema.executor import Executor
from schema.selection_limits import MAX_FIELD_REPEATS, MAX_FRAGMENTS
from server.config import Settings
from tests.conftest import running_app

GRAPHQL_RESPONSE = "application/graphql-response+json"


def copies(field: str, count: int) -> str:
    return "{ " + " ".join([field] * count) + " }"


def fragments(count: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    definitions = " ".join(f"fragment F{i} on User {{ id }}" for i in range(count))
    return f"{{ me {{ {spreads} }} }} {definitions}"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The documents graphql-core was asked to validate."""
    seen: list[object] = []
    real = executor_module.validate

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document)
        return real(schema, document, rules)

    monkeypatch.setattr(executor_module, "validate", counting)
    return seen


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (copies("me { id }", 590), "TOO_MANY_FIELDS", "1180 fields; the limit is 500"),
        (copies("__typename", 501), "TOO_MANY_FIELDS", "501 fields; the limit is 500"),
        (
            copies("me { id }", MAX_FIELD_REPEATS + 1),
            "TOO_MANY_FIELDS",
            f"'me' is selected {MAX_FIELD_REPEATS + 1} times in one selection set",
        ),
        (
            "{ me { " + " ".join(["... on User { id }"] * (MAX_FIELD_REPEATS + 1)) + " } }",
            "TOO_MANY_FIELDS",
            f"'id' is selected {MAX_FIELD_REPEATS + 1} times",
        ),
        (fragments(MAX_FRAGMENTS + 1), "TOO_MANY_FRAGMENTS", f"limit is {MAX_FRAGMENTS}"),
    ],
    ids=["590-copies", "fields", "repeats", "repeats-through-inline-fragments", "fragments"],
)
def test_heavy_documents_are_refused_without_being_validated(
    validations: list[object], query: str, code: str, message: str
) -> None:
    executor = Executor(schema._schema, Settings(_env_file=None))

    prepared = executor.prepare(query)

    assert validations == []
    assert [e.extensions for e in prepared.errors] == [{"code": code}]
    assert message in prepared.errors[0].message


@pytest.mark.parametrize(
    "query",
    [
        copies("me { id }", MAX_FIELD_REPEATS),
        "{ " + " ".join(f"a{i}: __typename" for i in range(500)) + " }",
        fragments(MAX_FRAGMENTS),
        "{ a: me { id } b: me { id } me { id email ... on User { id email } } }",
    ],
    ids=["repeats-at-limit", "fields-at-limit", "fragments-at-limit", "ordinary"],
)
def test_documents_at_the_limits_are_validated(validations: list[object], query: str) -> None:
    executor = Executor(schema._schema, Settings(_env_file=None))

    prepared = executor.prepare(query)

    assert len(validations) == 1
    codes = {(e.extensions or {}).get("code") for e in prepared.errors}
    assert not codes & {"TOO_MANY_FIELDS", "TOO_MANY_FRAGMENTS"}


async def test_the_refusal_is_a_coded_request_error_over_http(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": copies("me { id }", 590)},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "TOO_MANY_FIELDS"}


async def test_the_field_limit_is_a_setting(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(query_max_fields=20)) as (_, client):
        response = await client.post(
            "/graphql",
            json={"query": copies("__typename", 21)},
            headers={"accept": GRAPHQL_RESPONSE},
        )

    assert response.json()["errors"][0]["extensions"] == {"code": "TOO_MANY_FIELDS"}


# --- suggestions -----------------------------------------------------------------------------

SUGGESTIVE = [
    ("{ mee { id } }", None),  # an unknown field
    ("{ me { emial } }", None),
    ("{ events(frist: 1) { totalCount } }", None),  # an unknown argument
    ("query($x: EvnetStatus) { __typename }", None),  # an unknown type
    (
        "mutation($i: LoginInput!) { login(input: $i) { errors { code } } }",
        {"i": {"email": "a@example.com", "pasword": "x"}},  # an unknown input field
    ),
]


async def suggestion_answers(client: httpx.AsyncClient) -> list[str]:
    messages = []
    for query, variables in SUGGESTIVE:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"accept": GRAPHQL_RESPONSE},
        )
        errors = response.json()["errors"]
        assert errors, response.text
        messages.append(" ".join(e["message"] for e in errors))
    return messages


async def test_no_suggestions_when_introspection_is_off(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(introspection=False)) as (_, client):
        messages = await suggestion_answers(client)

    for message in messages:
        assert "Did you mean" not in message, message
    assert messages[0] == "Cannot query field 'mee' on type 'Query'."


async def test_suggestions_help_while_introspection_is_on(client: httpx.AsyncClient) -> None:
    messages = await suggestion_answers(client)

    assert all("Did you mean" in message for message in messages), messages
