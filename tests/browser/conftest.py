from __future__ import annotations

import base64
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Route, async_playwright

from server.config import Settings
from tests.support.graphql_ws import InProcessServer, serve_in_process

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    """CHROMIUM if set, else Debian's `chromium` (or another Chrome) on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set CHROMIUM=/path)")
    return binary


@pytest.fixture(scope="session")
async def page_server(settings: Settings) -> AsyncIterator[InProcessServer]:
    async with serve_in_process(settings) as server:
        yield server


# Any host name but the test server's resolves nowhere: the pages must work offline.
OFFLINE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """One headless Chromium per test module (each test opens its own contexts)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=OFFLINE_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class PageLog:
    """What a page did that a test should see: script errors, console errors (a refused
    Content-Security-Policy shows there) and requests for anything off the test server."""

    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)

    def clean(self, *, expected: tuple[str, ...] = ()) -> bool:
        """Nothing went wrong; console errors naming one of `expected` (a URL the page
        asks knowing it may be refused) aside."""
        console = [line for line in self.console if not any(e in line for e in expected)]
        return not (self.errors or console or self.offsite)


async def offline_context(
    browser: Browser, origin: str, **options: Any
) -> tuple[BrowserContext, PageLog]:
    """A fresh context (its own cookies and storage) that refuses every request not
    addressed to `origin`, and records it."""
    context = await browser.new_context(**options)
    log = PageLog()

    async def only_local(route: Route) -> None:
        url = route.request.url
        if url.startswith((origin + "/", origin.replace("http", "ws", 1) + "/", "data:")):
            await route.continue_()
        else:
            log.offsite.append(url)
            await route.abort()

    await context.route("**/*", only_local)
    context.on("weberror", lambda error: log.errors.append(str(error.error)))
    context.on(
        "console",
        lambda message: (
            log.console.append(f"{message.text} [{message.location.get('url', '')}]")
            if message.type == "error"
            else None
        ),
    )
    return context, log


async def painted_share(browser: Browser, png: bytes) -> float:
    """The share of a screenshot's pixels that differ from its most common colour (the
    background): near 0 for a blank page. Decoded by the browser itself, in a blank page."""
    page = await browser.new_page()
    try:
        return float(
            await page.evaluate(
                """async (data) => {
                  const blob = await (await fetch("data:image/png;base64," + data)).blob();
                  const image = await createImageBitmap(blob);
                  const canvas = new OffscreenCanvas(image.width, image.height);
                  const context = canvas.getContext("2d");
                  context.drawImage(image, 0, 0);
                  const pixels = context.getImageData(0, 0, image.width, image.height).data;
                  const counts = new Map();
                  for (let i = 0; i < pixels.length; i += 16) {
                    const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
                    counts.set(key, (counts.get(key) || 0) + 1);
                  }
                  const total = pixels.length / 16;
                  return 1 - Math.max(...counts.values()) / total;
                }""",
                base64.b64encode(png).decode(),
            )
        )
    finally:
        await page.close()
