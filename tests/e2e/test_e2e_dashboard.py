"""The dashboard in a real browser (Debian's chromium, headless) against the session's API
server, the devstack's Keycloak login page and the cluster: each user signs in through
Keycloak's own form and acts only through the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import chromium, confirm, output_dir, sign_in
from tests.e2e.flow import HELLO, Api, reaches, settled
from tests.integration.cli.harness import ApiServer, Cli

pytestmark = pytest.mark.integration

#: How long a deployment may take to finish in the page (ms): bounded, with room for a busy CI.
DEPLOYMENT_TIMEOUT = 240_000
GREEN = ("Succeeded", "Skipped", "Omitted")

if TYPE_CHECKING := False:
    from playwright.sync_api import Browser, Page


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return output_dir(tmp_path_factory.getbasetemp())


@pytest.fixture
def open_as(
    browser: Browser, apiserver: ApiServer, devstack_env: dict[str, str]
) -> Iterator[Callable[..., Page]]:
    """`open_as("alice", "/ui/apps/x")`: a page signed in as that realm user; its browser
    context (and so its event streams) closed when the test ends."""
    password = devstack_env["DEVSTACK_USER_PASSWORD"]
    opened: list[Page] = []

    def open_page(user: str, path: str = "/ui/", **kwargs: Any) -> Page:
        opened.append(sign_in(browser, apiserver.url, user, password, path, **kwargs))
        return opened[-1]

    yield open_page
    for page in opened:
        page.context.close()


def _watch_steps(page: Page) -> None:
    """Record in the page every phase each step shows, as the page changes them in place."""
    page.evaluate("""() => {
        window.seenPhases = [];
        window.sameDocument = true;
        const record = () => document.querySelectorAll('[data-step]').forEach(
            (li) => window.seenPhases.push(li.dataset.step + '=' + li.dataset.phase));
        record();
        new MutationObserver(record).observe(document.getElementById('main'),
                                             {subtree: true, childList: true, attributes: true});
    }""")


def test_alice_signs_in_upgrades_and_watches_the_steps_turn_green(
    open_as: Callable[..., Page], login: Callable[[str], Cli], api: Api, app_name: str,
    devstack_env: dict[str, str], shots: Path,
) -> None:  # fmt: skip
    api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
    alice = login("alice")
    alice.ok("deploy", app_name, "--env", "dev", "--artifact", f"{HELLO}:1.0.0", "--wait")

    page = open_as("alice")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=app_name))
    expect(row).to_have_count(2)  # dev and prod
    expect(row.filter(has_text="dev")).to_contain_text("1.0.0")
    expect(row.filter(has_text="prod")).to_contain_text("not deployed")
    page.screenshot(path=shots / "applications.png", full_page=True)

    page.get_by_role("link", name=app_name).first.click()
    page.get_by_role("heading", name=f"Application {app_name}").wait_for()
    page.get_by_label("Version").first.fill("1.1.0")
    page.get_by_role("form", name=f"Upgrade {app_name} in dev").get_by_role("button").click()
    said = confirm(page)
    assert f"Upgrade {app_name} in dev to version 1.1.0" in said
    page.wait_for_url("**/ui/deployments/*")
    page.get_by_role("list", name="Pipeline steps").locator("li").first.wait_for()
    _watch_steps(page)
    # A blue-green upgrade stops with the new version as the preview: every step before the
    # gate is green, live, and the deployer may promote it (dev needs no approval).
    page.locator("#state").get_by_text("waiting").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    before = _phases(page)
    assert before.pop("approval") == "Running"
    assert before and all(phase in GREEN for phase in before.values()), before
    seen = page.evaluate("window.seenPhases")
    assert any(p.endswith(("=Running", "=Pending")) for p in seen if not p.startswith("approval"))
    page.screenshot(path=shots / "deployment-waiting.png", full_page=True)
    page.get_by_role("button", name="Promote").click()
    assert f"Promote {app_name} 1.1.0 in dev" in confirm(page)
    page.locator("#state").get_by_text("succeeded").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    assert all(phase in GREEN for phase in _phases(page).values()), _phases(page)
    assert page.evaluate("window.sameDocument") is True  # no reload: the events moved it
    page.screenshot(path=shots / "deployment.png", full_page=True)
    assert status_of(alice, app_name, "dev") == "1.1.0"


def _phases(page: Page) -> dict[str, str]:
    steps = page.locator("[data-step]")
    return {str(steps.nth(i).get_attribute("data-step")): str(steps.nth(i).get_attribute("data-phase"))
            for i in range(steps.count())}  # fmt: skip


def status_of(cli: Cli, app: str, env: str) -> str:
    found = reaches(cli, app, settled("succeeded", "Healthy"), "healthy", "--env", env)
    return str(found["deployment"]["version"])
