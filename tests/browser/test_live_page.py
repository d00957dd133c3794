"""The live availability page in headless Chromium: it shows each ticket type's remaining
count, and the new count after an order is placed through the API."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.conftest import offline_context
from tests.support import commerce
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer

WAIT_MS = 20_000


async def test_the_page_shows_the_new_count_after_an_order(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser, tmp_path: Path
) -> None:
    sale = await commerce.sale(gql, quantity=30)
    second = await commerce.add_ticket_type(gql, sale, quantity=5)
    context, log = await offline_context(browser, page_server.url)
    try:
        page = await context.new_page()
        response = await page.goto(f"{page_server.url}/events/{sale.slug}/live")
        assert response is not None and response.status == 200

        first_row = page.locator(f'tr[data-ticket-type="{sale.ticket_type_id}"]')
        second_row = page.locator(f'tr[data-ticket-type="{second}"]')
        await expect(page.locator("h1")).to_have_text("Jazz Night")
        await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
        await expect(first_row.locator("td.remaining")).to_have_text("30", timeout=WAIT_MS)
        await expect(second_row.locator("td.remaining")).to_have_text("5", timeout=WAIT_MS)
        await expect(first_row.locator("td.status")).to_have_text("on sale")

        assert (await commerce.order(gql, sale, 2))["errors"] == []
        await expect(first_row.locator("td.remaining")).to_have_text("28", timeout=WAIT_MS)

        assert (await commerce.order(gql, sale, 5, ticket_type_id=second))["errors"] == []
        await expect(second_row.locator("td.remaining")).to_have_text("0", timeout=WAIT_MS)
        await expect(second_row.locator("td.status")).to_have_text("sold out")
        await expect(first_row.locator("td.remaining")).to_have_text("28")

        await page.screenshot(path=str(tmp_path / "live-page.png"), full_page=True)
        assert log.clean(), log
    finally:
        await context.close()
