"""The seat picker in headless Chromium with two buyers, each in their own browser
context: a seat bought in one turns unavailable in the other without a reload, and when
both race for one seat exactly one gets it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import PageLog, offline_context
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer

WAIT_MS = 20_000
SEATS = "query($o: ID!) { seatAvailability(occurrenceId: $o) { seat { id } state } }"


async def open_picker(browser: Browser, server: InProcessServer, slug: str) -> tuple[Page, PageLog]:
    context, log = await offline_context(
        browser, server.url, viewport={"width": 900, "height": 700}
    )
    page = await context.new_page()
    response = await page.goto(f"{server.url}/events/{slug}/seats")
    assert response is not None and response.status == 200
    await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
    return page, log


def seat(page: Page, seat_id: str) -> Locator:
    return page.locator(f'button.seat[data-seat-id="{seat_id}"]')


async def choose_and_pay(page: Page, seat_id: str, email: str) -> None:
    await seat(page, seat_id).click()
    await expect(seat(page, seat_id)).to_have_attribute("data-state", "SELECTED")
    await page.fill("#email", email)


async def test_a_seat_bought_in_one_browser_turns_unavailable_in_the_other(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser, tmp_path: Path
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (2, 4)})
    ids = await commerce.seat_ids(gql, sale)
    (alice, alice_log), (bob, bob_log) = [
        await open_picker(browser, page_server, sale.slug) for _ in range(2)
    ]
    try:
        for page in (alice, bob):
            await expect(page.locator("button.seat")).to_have_count(8, timeout=WAIT_MS)
            await expect(seat(page, ids["A/1/2"])).to_have_attribute("data-state", "AVAILABLE")

        await choose_and_pay(alice, ids["A/1/2"], factories.unique_email("alice"))
        await expect(alice.locator("#total")).to_have_text("$25.00")
        await alice.click("#buy")
        await expect(alice.locator("#done")).to_have_attribute(
            "data-status", "CONFIRMED", timeout=WAIT_MS
        )

        # Bob never reloaded: his map shows the seat taken and will not let him pick it.
        await expect(seat(bob, ids["A/1/2"])).to_have_attribute(
            "data-state", "SOLD", timeout=WAIT_MS
        )
        await expect(seat(bob, ids["A/1/2"])).to_be_disabled()
        await expect(seat(bob, ids["A/1/3"])).to_have_attribute("data-state", "AVAILABLE")
        await expect(seat(alice, ids["A/1/2"])).to_have_attribute("data-state", "SOLD")

        # The keyboard works too: Bob moves to the next seat with an arrow key and picks it.
        await seat(bob, ids["A/1/1"]).focus()
        await bob.keyboard.press("ArrowRight")  # A/1/2 is taken but still focusable in order
        await bob.keyboard.press("ArrowRight")
        await bob.keyboard.press("Enter")
        await expect(seat(bob, ids["A/1/3"])).to_have_attribute("data-state", "SELECTED")

        await bob.screenshot(path=str(tmp_path / "seat-picker.png"), full_page=True)
        assert alice_log.clean(), alice_log
        assert bob_log.clean(), bob_log
    finally:
        await alice.context.close()
        await bob.context.close()


async def test_two_buyers_racing_for_one_seat_one_gets_it(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 3)})
    ids = await commerce.seat_ids(gql, sale)
    wanted = ids["A/1/1"]
    pages = [(await open_picker(browser, page_server, sale.slug))[0] for _ in range(2)]
    try:
        for n, page in enumerate(pages):
            await expect(seat(page, wanted)).to_have_attribute(
                "data-state", "AVAILABLE", timeout=WAIT_MS
            )
            await choose_and_pay(page, wanted, factories.unique_email(f"racer{n}"))

        await asyncio.gather(*(page.click("#buy") for page in pages))

        outcomes = []
        for page in pages:
            finished = page.locator("#done, #message:not([hidden])")
            await expect(finished).to_have_count(1, timeout=WAIT_MS)
            outcomes.append("won" if await page.locator("#done").count() else "lost")
        assert sorted(outcomes) == ["lost", "won"]
        loser = pages[outcomes.index("lost")]
        await expect(loser.locator("#message")).to_contain_text("no longer available")
        await expect(seat(loser, wanted)).to_have_attribute("data-state", "SOLD", timeout=WAIT_MS)
        await expect(loser.locator("#chosen li")).to_have_count(0)

        states = await gql(SEATS, {"o": sale.occurrence_ids[0]})
        sold = [s for s in states["seatAvailability"] if s["state"] != "AVAILABLE"]
        assert sold == [{"seat": {"id": wanted}, "state": "SOLD"}]
        [row] = await commerce.availability(gql, sale)
        assert (row["sold"], row["reserved"]) == (1, 0)
    finally:
        for page in pages:
            await page.context.close()


async def test_an_event_without_seats_has_no_picker(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser
) -> None:
    general = await commerce.sale(gql)
    draft = await commerce.seated_sale(gql, seats={"A": (1, 1)}, publish=False)
    context, _ = await offline_context(browser, page_server.url)
    try:
        page = await context.new_page()
        for slug in (general.slug, draft.slug, "no-such-event"):
            response = await page.goto(f"{page_server.url}/events/{slug}/seats")
            assert response is not None and response.status == 404, slug
            await expect(page.locator("body")).to_contain_text("no seats to choose")
    finally:
        await context.close()
