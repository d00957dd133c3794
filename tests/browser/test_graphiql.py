"""GraphiQL in headless Chromium with no network but the server's: every script and style
comes from the platform, the page starts under its Content-Security-Policy, and a query
typed into it runs against /graphql."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from playwright.async_api import Browser, expect

from tests.browser.conftest import offline_context
from tests.support import commerce
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer

WAIT_MS = 20_000
QUERY = "{ events(first: 5) { totalCount edges { node { title slug } } } }"


async def test_graphiql_loads_offline_and_runs_a_query(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser, tmp_path: Path
) -> None:
    sale = await commerce.sale(gql)
    context, log = await offline_context(browser, page_server.url)
    try:
        page = await context.new_page()
        response = await page.goto(f"{page_server.url}/graphql?q={quote(QUERY)}")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]

        await expect(page.locator(".graphiql-query-editor")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#graphiql")).not_to_contain_text("Loading…")
        await page.locator(".graphiql-execute-button").click()
        result = page.locator(".graphiql-response")
        await expect(result).to_contain_text('"totalCount": 1', timeout=WAIT_MS)
        await expect(result).to_contain_text(sale.slug)

        await page.screenshot(path=str(tmp_path / "graphiql.png"))
        assert log.clean(), log
    finally:
        await context.close()
