"""The organizer's dashboard in headless Chromium: sign-in, the figures and charts from the
`eventAnalytics` subscription, a new order and a check-in moving them without a reload,
a screenshot that is not blank, the refresh cookie signing in again after a reload, and
nothing shown to a non-member."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.jobs.dispatch import dispatch_outbox
from tests.browser.conftest import PageLog, offline_context, painted_share
from tests.support import commerce, factories, waitlist
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer

WAIT_MS = 20_000
TICKETS = "query($id: ID!) { order(id: $id) { tickets { qrCode } } }"
CHECK_IN = "mutation($input: CheckInInput!) { checkIn(input: $input) { errors { code message } } }"


async def paid_order(
    gql: GraphQLClient, client: httpx.AsyncClient, sale: commerce.Sale, quantity: int
) -> str:
    buyer = await factories.register(gql)
    placed = await commerce.order(gql, sale, quantity, token=buyer.token)
    assert placed["errors"] == []
    await commerce.pay_with_test(gql, client, placed["order"]["id"], token=buyer.token)
    return str(placed["order"]["id"])


async def sign_in(
    browser: Browser, server: InProcessServer, url: str, user: factories.TestUser
) -> tuple[BrowserContext, Page, PageLog]:
    context, log = await offline_context(
        browser, server.url, viewport={"width": 1100, "height": 900}
    )
    page = await context.new_page()
    response = await page.goto(server.url + url)
    assert response is not None and response.status == 200
    await expect(page.locator("#signin")).to_be_visible(timeout=WAIT_MS)
    await page.fill("#email", user.email)
    await page.fill("#password", user.password)
    await page.click("#signin-button")
    return context, page, log


async def test_the_dashboard_moves_with_a_new_order_and_a_check_in(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    page_server: InProcessServer,
    browser: Browser,
    tmp_path: Path,
) -> None:
    sale = await commerce.sale(gql, quantity=9)
    last_one = await commerce.add_ticket_type(gql, sale, quantity=1, waitlistEnabled=True)
    await paid_order(gql, client, sale, 2)
    url = f"/organizations/{sale.org.slug}/events/{sale.slug}/dashboard"
    context, page, log = await sign_in(browser, page_server, url, sale.org.owner)
    try:
        await expect(page.locator("#board")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#event-title")).to_have_text("Jazz Night")
        await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
        await expect(page.locator("#tile-tickets")).to_have_text("2", timeout=WAIT_MS)
        await expect(page.locator("#sales-chart")).to_have_attribute("data-total", "2")
        await expect(page.locator("#tile-sellthrough")).to_have_text("20%")
        await expect(page.locator("#sales-chart rect.bar")).not_to_have_count(0)

        order_id = await paid_order(gql, client, sale, 3)
        await expect(page.locator("#tile-tickets")).to_have_text("5", timeout=WAIT_MS)
        await expect(page.locator("#sales-chart")).to_have_attribute("data-total", "5")
        await expect(page.locator("#tile-sellthrough")).to_have_text("50%")
        await expect(page.locator("#types-chart li")).to_have_count(2)
        await expect(page.locator("#types-chart li").first).to_contain_text("5 sold")

        tickets = (await gql(TICKETS, {"id": order_id}, token=sale.org.owner.token))["order"]
        checked = await gql(
            CHECK_IN,
            {"input": {"qrCode": tickets["tickets"][0]["qrCode"]}},
            token=sale.org.owner.token,
        )
        assert checked["checkIn"]["errors"] == []
        # Check-ins reach analytics through the outbox: run the worker's dispatcher once.
        assert await dispatch_outbox(page_server.state) >= 1
        await expect(page.locator("#tile-checked")).to_have_text("1", timeout=WAIT_MS)
        await expect(page.locator("#checkins-chart")).to_have_attribute("data-total", "1")

        # The last ticket goes; someone joins the waitlist; it shows up live.
        assert (await commerce.order(gql, sale, 1, ticket_type_id=last_one))["errors"] == []
        waiting = factories.unique_email("waiting")
        joined = await waitlist.join(gql, sale, email=waiting, ticket_type_id=last_one)
        assert joined["errors"] == []
        await expect(page.locator("#tile-waitlisted")).to_have_text("1", timeout=WAIT_MS)
        await expect(page.locator("#waitlist tbody tr")).to_have_count(1, timeout=WAIT_MS)
        await expect(page.locator("#waitlist tbody tr")).to_contain_text(waiting)

        shot = await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert await painted_share(browser, shot) > 0.03  # a blank page is ~0
        chart = await page.locator("#sales-chart").screenshot()
        assert await painted_share(browser, chart) > 0.01

        # A reload signs in again with the refresh cookie: no form, no token in the URL.
        await page.reload()
        await expect(page.locator("#board")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#tile-tickets")).to_have_text("5", timeout=WAIT_MS)
        assert "token" not in page.url.lower()
        # The first visit asked /auth/refresh before any cookie existed: a 401, as meant.
        assert log.clean(expected=("/auth/refresh",)), log
    finally:
        await context.close()


async def test_a_non_member_sees_nothing_and_staff_may_read(
    gql: GraphQLClient, client: httpx.AsyncClient, page_server: InProcessServer, browser: Browser
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    await paid_order(gql, client, sale, 1)
    url = f"/organizations/{sale.org.slug}/events/{sale.slug}/dashboard"
    outsider = (await factories.create_org(gql)).owner

    context, page, _ = await sign_in(browser, page_server, url, outsider)
    try:
        await expect(page.locator("#denied")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#denied-text")).to_contain_text("not a member")
        await expect(page.locator("#board")).to_be_hidden()
        assert "Jazz Night" not in await page.locator("body").inner_text()
    finally:
        await context.close()

    # An organization's member, but the event belongs to another organization.
    other = await factories.create_org(gql)
    wrong_org = f"/organizations/{other.slug}/events/{sale.slug}/dashboard"
    context, page, _ = await sign_in(browser, page_server, wrong_org, other.owner)
    try:
        await expect(page.locator("#denied-text")).to_contain_text("has no event", timeout=WAIT_MS)
        assert "Jazz Night" not in await page.locator("body").inner_text()
    finally:
        await context.close()

    staff = await factories.add_member(gql, sale.org, "STAFF")
    context, page, _ = await sign_in(browser, page_server, url, staff)
    try:
        await expect(page.locator("#tile-tickets")).to_have_text("1", timeout=WAIT_MS)
        await expect(page.locator("#organization-name")).to_contain_text("staff")
    finally:
        await context.close()


async def test_a_wrong_password_and_a_bad_address_get_clear_answers(
    gql: GraphQLClient, page_server: InProcessServer, browser: Browser
) -> None:
    sale = await commerce.sale(gql)
    user = factories.TestUser(
        sale.org.owner.id, sale.org.owner.email, "", password="wrong-password"
    )
    url = f"/organizations/{sale.org.slug}/events/{sale.slug}/dashboard"
    context, page, _ = await sign_in(browser, page_server, url, user)
    try:
        await expect(page.locator("#signin-error")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#board")).to_be_hidden()
        response = await page.goto(page_server.url + "/organizations/Bad Slug/events/x/dashboard")
        assert response is not None and response.status == 404
    finally:
        await context.close()
