"""Operations: `/metrics` in Prometheus format (requests and latency by operation, errors)
and one structured JSON log line per request, carrying its request id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.config import Settings
from tests.conftest import running_app
from tests.support.gql import GraphQLClient
from tests.support.logs import captured_logs

LogLines = Iterator[list[dict[str, object]]]


async def samples(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_requests_latency_and_errors_by_operation(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    before = await samples(client)

    for _ in range(3):
        await gql.raw("query MetricsMe { me { id } }", operation_name="MetricsMe")
    await gql.raw(
        "query MetricsOrg($id: ID!) { organization(id: $id) { id } }",
        {"id": "0190b8a0-0000-7000-8000-000000000000"},
        operation_name="MetricsOrg",
    )
    await gql.raw("query MetricsBad { me { nope } }", operation_name="MetricsBad")

    after = await samples(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        delta("eventapi_graphql_requests_total", operation="MetricsMe", type="query", outcome="ok")
        == 3
    )
    assert (
        delta(
            "eventapi_graphql_request_duration_seconds_count", operation="MetricsMe", type="query"
        )
        == 3
    )
    assert (
        delta("eventapi_graphql_request_duration_seconds_sum", operation="MetricsMe", type="query")
        > 0
    )
    assert (
        delta("eventapi_graphql_errors_total", operation="MetricsOrg", code="UNAUTHENTICATED") == 1
    )
    assert (
        delta(
            "eventapi_graphql_requests_total",
            operation="MetricsBad",
            type="invalid",
            outcome="invalid",
        )
        == 1
    )
    http = "eventapi_http_requests_total"
    assert delta(http, route="/graphql", method="POST", status="200") == 4
    assert delta(http, route="/graphql", method="POST", status="400") == 1


async def test_client_chosen_operation_names_cannot_grow_the_metrics(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await gql.raw("query Q { me { id } }", operation_name="Q")
    weird = "x" * 200
    await gql.raw(f"query {weird} {{ me {{ id }} }}", operation_name=weird)

    text = (await client.get("/metrics")).text

    assert weird not in text
    assert 'operation="invalid"' in text


@pytest.fixture
def log_lines() -> LogLines:
    with captured_logs() as lines:
        yield lines  # type: ignore[misc]


async def test_each_request_logs_one_json_line_with_its_request_id(
    client: httpx.AsyncClient, log_lines: Any
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"x-request-id": "trace-0123456789"}
    )

    lines = [line for line in log_lines() if line.get("event") == "request"]
    [line] = [line for line in lines if line.get("request_id") == "trace-0123456789"]
    assert response.headers["x-request-id"] == "trace-0123456789"
    assert line["method"] == "POST" and line["path"] == "/graphql" and line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and "timestamp" in line


async def test_metrics_are_not_public_in_production(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(environment="production", test_payments=False)
    async with running_app(settings) as (_, client):
        response = await client.get("/metrics")

    assert response.status_code == 404
    assert "graphql_requests" not in response.text


async def test_a_metrics_token_opens_them_to_its_bearer_only(
    make_settings: Callable[..., Settings],
) -> None:
    token = "scrape-" + "s" * 40
    settings = make_settings(environment="production", test_payments=False, metrics_token=token)
    async with running_app(settings) as (_, client):
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": "Bearer " + "x" * 47})
        right = await client.get("/metrics", headers={"authorization": f"Bearer {token}"})

    assert (anonymous.status_code, wrong.status_code) == (404, 404)
    assert right.status_code == 200
    assert "eventapi_http_requests_total" in right.text
