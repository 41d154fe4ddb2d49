"""The dashboard in a real browser (Debian's chromium, headless) against the session's API
server, the devstack's Keycloak login page and the cluster: each user signs in through
Keycloak's own form and acts only through the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import PHONE, chromium, confirm, output_dir, sign_in
from tests.e2e.flow import HELLO, PROD, Api, Kube, at_gate, deployment_id, reaches, settled
from tests.integration.cli.harness import ApiServer, Cli, status

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


def test_bob_approves_from_his_inbox_and_carol_sees_no_action_buttons(
    open_as: Callable[..., Page], login: Callable[[str], Cli], api: Api, kube: Kube,
    app_name: str, devstack_env: dict[str, str], shots: Path,
) -> None:  # fmt: skip
    api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
    alice, bob = login("alice"), login("bob")
    ns = f"{app_name}-prod"
    alice.ok("deploy", app_name, *PROD, "--artifact", f"{HELLO}:1.0.0", "--wait")
    bob.ok("approve", deployment_id(alice, app_name, *PROD))
    reaches(alice, app_name, settled("succeeded", "Healthy"), "first release", *PROD)
    active = kube.selector_hash(ns, app_name)
    alice.ok("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
    waiting = at_gate(alice, app_name, *PROD)
    plan = status(alice, app_name, *PROD)["deployment"]["provenance"]["plan"]

    page = open_as("bob", "/ui/approvals")
    inbox = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"{app_name} upgrade"))
    expect(inbox).to_contain_text("1.1.0")
    page.screenshot(path=shots / "approvals.png", full_page=True)
    inbox.get_by_role("link").first.click()
    page.wait_for_url(f"**/ui/deployments/{waiting}")
    expect(page.locator("dl.facts")).to_contain_text(plan)  # the plan he approves
    page.get_by_role("button", name="Approve").click()
    assert f"Approve plan {plan[:12]}" in confirm(page)
    page.locator("#state").get_by_text("succeeded").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    expect(page.locator("main")).to_contain_text("approved by bob")
    new = kube.selector_hash(ns, app_name)
    assert new != active  # the preview took the traffic
    page.goto(page.url.split("/ui/")[0] + f"/ui/apps/{app_name}")
    prod = page.get_by_role("region", name="Environment prod")
    expect(prod.get_by_role("row").filter(has_text=new)).to_contain_text("active")
    page.screenshot(path=shots / "application.png", full_page=True)

    # carol, a viewer: the same pages, no way to act; the API refuses her forged request.
    carol = open_as("carol", f"/ui/apps/{app_name}", viewport=PHONE)
    carol.get_by_role("region", name="Environment prod").get_by_role("table").wait_for()
    expect(carol.locator("main button")).to_have_count(0)
    expect(carol.locator("main form")).to_have_count(0)
    carol.goto(carol.url.split("/ui/")[0] + f"/ui/deployments/{waiting}")
    carol.locator("#state").get_by_text("succeeded").wait_for()
    expect(carol.locator("main button")).to_have_text(["Show logs"])
    carol.screenshot(path=shots / "deployment-viewer-phone.png", full_page=True)
    forged = carol.evaluate("""async (id) => {
        const post = (headers) => fetch(`/api/v1/deployments/${id}/abort`,
                                        {method: 'POST', headers}).then((r) => r.status);
        return [await post({'X-Rollway-UI': '1'}), await post({})];
    }""", waiting)  # fmt: skip
    assert forged == [403, 403]  # her role refused; without the page's header, refused as well
    refused = [e for e in api.call("dave", "GET", f"/audit?app={app_name}&actor=carol").json()["items"]]
    assert [(e["action"], e["status"]) for e in refused] == [("abort", 403)]
    assert kube.selector_hash(ns, app_name) == new
