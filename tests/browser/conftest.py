"""Chromium, driven by Playwright, against a real server (tests/e2e's ``live_server``).

The browser is Debian's Chromium (``scripts/ensure-chromium`` installs it; ``make test``
runs that first), never a browser build Playwright would download. Every request a page
makes to a host other than 127.0.0.1 is aborted and recorded, and each test fails if there
was one. When a test fails, a screenshot of each of its pages is saved under
``test-artifacts/``.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.e2e.conftest import HOST, LiveServer, live_server  # noqa: F401 - the fixture, for this package

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("RECTRACK_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000  # generous: CI machines are shared
expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Module scope: Playwright's synchronous API keeps an event loop running in this thread
# until it stops, and the suites after this module run event loops of their own.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/ensure-chromium (make test does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
    yield browser
    browser.close()


class Elsewhere(list):
    """Requests to hosts other than 127.0.0.1, which were aborted."""


@pytest.fixture
def elsewhere() -> Elsewhere:
    return Elsewhere()


@pytest.fixture
def context(chromium: Browser, elsewhere: Elsewhere, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)

    def only_loopback(route):
        url = route.request.url
        if urlsplit(url).hostname == HOST:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    context.on("request", lambda r: _check_host(r.url, elsewhere))
    yield context
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        engine = "postgresql" if os.environ.get("RECTRACK_TEST_POSTGRES_URL") else "sqlite"
        for index, page in enumerate(context.pages):
            page.screenshot(path=ARTIFACTS / f"{name}-{engine}-{index}.png", full_page=True)
    context.close()
    assert not elsewhere, f"pages asked for other hosts: {elsewhere}"


def _check_host(url: str, elsewhere: Elsewhere) -> None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != HOST and url not in elsewhere:
        elsewhere.append(url)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def api_key(live_server: LiveServer) -> str:  # noqa: F811 - the fixture imported above
    return live_server.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def signed_in(page: Page, live_server: LiveServer, api_key: str) -> Page:  # noqa: F811
    """A page signed in with the server's admin key, showing the portfolio."""
    page.goto(live_server.url("/"))
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Portfolio", level=1).wait_for()
    return page
