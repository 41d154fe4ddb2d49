"""A real browser for the dashboard tests: Debian's chromium driven by Playwright, headless,
signing in through Keycloak's own login form. Screenshots go to the run's output directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
#: Keep chromium from reaching outside hosts at start-up (/work/shared/notes/browser-tests.md).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]  # fmt: skip
#: Bounds every wait of the page (ms): a step of the pipeline, not the whole of it.
STEP_TIMEOUT = 60_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def output_dir(default: Path) -> Path:
    """Where screenshots go: $ROLLWAY_TEST_OUTPUT/dashboard, else under pytest's base temp."""
    root = Path(os.environ.get("ROLLWAY_TEST_OUTPUT") or default)
    path = root / "dashboard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(browser: Browser, base: str, user: str, password: str, path: str = "/ui/",
            viewport: dict[str, int] = DESKTOP) -> Page:  # fmt: skip
    """A fresh browser context opening `path`: the dashboard sends it to Keycloak's login form,
    which it fills in, and Keycloak sends it back to `path`."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(STEP_TIMEOUT)
    page = context.new_page()
    page.goto(f"{base}{path}")
    page.wait_for_url("**/realms/**")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_url(f"{base}{path}")
    page.locator("#user").get_by_text(user, exact=True).wait_for()
    return page


def confirm(page: Page, comment: str | None = None) -> str:
    """Accept the page's confirmation dialog; what it said would happen."""
    dialog = page.locator("#confirm")
    dialog.wait_for()
    said = dialog.locator("#confirm-text").inner_text()
    if comment is not None:
        dialog.get_by_label("Comment").fill(comment)
    dialog.locator("#confirm-ok").click()
    return said
