"""Real-browser tests: the app served on a free local port, driven by Playwright in Debian's chromium.

Chromium comes from the system package (`apt-get install chromium`); Playwright's own
browser download is not used. Screenshots of each journey's last page go to
test-artifacts/screenshots/ (or $SCREENSHOT_DIR); the run prints the folder at the end.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from carebook import totp
from tests.conftest import SCREENSHOT_DIR

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

BROWSER_TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marker
def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if BROWSER_TESTS in item.path.parents]
    for item in browser_items:
        # Marked here: a conftest's own `pytestmark` marks nothing. `-m "not browser"` leaves them out.
        item.add_marker(pytest.mark.browser)
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but no chromium at {CHROMIUM}; `apt-get install chromium`")
    skip = pytest.mark.skip(reason=f"no chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture
def live_server(app):
    """The app under a real HTTP server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


#: What chromium prints when the Content Security Policy blocks something.
CSP_VIOLATION_MARKERS = ("Content Security Policy", "Refused to execute", "Refused to load", "Refused to apply")


@pytest.fixture
def console_errors():
    """Console errors and uncaught exceptions of every page the test opened, as "url: text"."""
    return []


@pytest.fixture
def new_page(browser, request, console_errors):
    """Open pages in fresh browser contexts (separate cookies); screenshot each at the end.

    Every page's console is watched: a Content Security Policy violation or an uncaught
    script error on any page fails the test (the app must work under its own policy).
    """
    contexts = []

    def open_page(viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: message.type == "error"
                and console_errors.append(f"{page.url}: {message.text}"))
        page.on("pageerror", lambda error: console_errors.append(f"{page.url}: uncaught {error}"))
        return page

    yield open_page
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for number, context in enumerate(contexts):
        for page in context.pages:
            name = request.node.name.replace("[", "-").replace("]", "")
            page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{number}.png"), full_page=True)
        context.close()
    blocked = [error for error in console_errors
               if any(marker in error for marker in CSP_VIOLATION_MARKERS) or ": uncaught " in error]
    assert blocked == [], "blocked by the Content Security Policy, or a script error"


def log_in(page, base_url: str, email: str, password: str | None = None, secret: str | None = None) -> None:
    """Log in through the login page; for an account with two-factor, type the app's current code too.

    The code is computed from ``secret`` (default: the factories' TOTP_SECRET) under the
    frozen clock; the account's replay guard is reset first, as in Browser.login.
    """
    from tests.conftest import allow_code_reuse
    from tests.factories import PASSWORD, TOTP_SECRET

    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:
        allow_code_reuse(email)
        page.get_by_label("Code").fill(totp.current_code(secret or TOTP_SECRET))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
