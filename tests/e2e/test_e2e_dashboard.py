"""The dashboard in a real browser (Debian's chromium, headless) against the session's API
server, the devstack's Keycloak login page and the cluster: each user signs in through
Keycloak's own form and acts only through the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import PHONE, chromium, confirm, output_dir, sign_in
from tests.e2e.conftest import logins
from tests.e2e.flow import HELLO, PROD, Api, Kube, at_gate, deployment_id, reaches, settled
from tests.support.cli import ApiServer, Cli, status
from tests.support.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

#: How long a deployment may take to finish in the page (ms): bounded, with room for a busy CI.
DEPLOYMENT_TIMEOUT = 240_000
GREEN = ("Succeeded", "Skipped", "Omitted")
#: The page's form controls that no label names (for screen readers), as `id`s.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id)"""

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
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if "/ui/" in r.url else None)
    page.reload()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=app_name))
    expect(row).to_have_count(2)  # dev and prod
    expect(row.filter(has_text="dev")).to_contain_text("1.0.0")
    expect(row.filter(has_text="dev")).to_contain_text("Healthy")  # the Rollout's phase
    expect(row.filter(has_text="prod")).to_contain_text("not deployed")
    page.screenshot(path=shots / "applications.png", full_page=True)
    page.get_by_label("Filter").fill(f"prod {app_name}")  # every word, anywhere in the row
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(page.locator("tbody tr:visible")).to_contain_text("not deployed")
    page.get_by_label("Filter").fill(f"{app_name} nothing-like-this")
    expect(page.locator("tbody tr:visible")).to_have_count(0)
    page.get_by_label("Filter").fill("")

    assert 0 < sum(sizes) < 300_000, sizes  # the page, its script and styles
    page.get_by_role("link", name=app_name).first.click()
    page.get_by_role("heading", name=f"Application {app_name}").wait_for()

    # A value the API refuses: its problem detail shows next to the field, nothing starts.
    version = page.get_by_label("Version").first
    version.fill("1.1.0{{x}}")
    page.get_by_role("form", name=f"Upgrade {app_name} in dev").get_by_role(
        "button", name="Upgrade"
    ).click()
    confirm(page)
    expect(page.locator("#version-dev-error")).to_contain_text("version")
    expect(version).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(UNLABELLED) == []
    page.get_by_label("Version").first.fill("1.1.0")
    form = page.get_by_role("form", name=f"Upgrade {app_name} in dev")
    form.get_by_role("button", name="Preview plan").click()
    plan = page.get_by_role("region", name="Plan")
    expect(plan).to_contain_text(f"{HELLO}:1.1.0 → 1.1.0")
    expect(plan.get_by_label("Manifest diff")).to_contain_text("+++ rendered/Rollout/")
    form.get_by_role("button", name="Upgrade").click()
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
    # The stream ends once the workflow has (its exit handler reports after the rollout).
    page.locator(".stream").get_by_text("Finished").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    assert all(phase in GREEN for phase in _phases(page).values()), _phases(page)
    assert page.evaluate("window.sameDocument") is True  # no reload: the events moved it
    page.screenshot(path=shots / "deployment.png", full_page=True)
    assert status_of(alice, app_name, "dev") == "1.1.0"


def _audit(api: Api, app: str, actor: str) -> list[tuple[str, int]]:
    """(action, status) of what `actor` did to `app`, newest first, as the API has it."""
    found = api.call("dave", "GET", f"/audit?app={app}&actor={actor}")
    assert found.status_code == 200, found.text
    return [(e["action"], e["status"]) for e in found.json()["items"]]


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
    app_page = page.url.split("/ui/")[0] + f"/ui/apps/{app_name}"
    prod = page.get_by_role("region", name="Environment prod")
    serving = prod.get_by_role("row").filter(has_text=new)

    def provenance_shown() -> bool:
        """The page as loaded now shows the revision's provenance (the record's provenance may
        land a sync after its state: the page is loaded again until it does)."""
        page.goto(app_page)
        expect(serving).to_contain_text("active")
        return f"{HELLO}:1.1.0 · jar sha256 " in serving.inner_text()

    wait_for("the serving revision's provenance on the page", provenance_shown, timeout=60)
    page.screenshot(path=shots / "application.png", full_page=True)

    # carol, a viewer: the same pages, no way to act; the API refuses her forged request.
    carol = open_as("carol", f"/ui/apps/{app_name}", viewport=PHONE)
    carol.get_by_role("region", name="Environment prod").get_by_role("table").wait_for()
    carol.keyboard.press("Tab")  # the keyboard's first stop skips to the content
    assert carol.evaluate("document.activeElement.textContent") == "Skip to content"
    carol.keyboard.press("Enter")
    assert carol.evaluate("document.activeElement.id") == "main"
    expect(carol.locator("main button")).to_have_count(0)
    expect(carol.locator("main form")).to_have_count(0)
    carol.goto(carol.url.split("/ui/")[0] + f"/ui/deployments/{waiting}")
    carol.locator("#state").get_by_text("succeeded").wait_for()
    expect(carol.locator("main button")).to_have_text(["Show logs"])
    carol.screenshot(path=shots / "deployment-viewer-phone.png", full_page=True)
    assert carol.evaluate(
        "document.documentElement.scrollWidth <= innerWidth"
    )  # no sideways scroll
    forged = carol.evaluate("""async (id) => {
        const post = (headers) => fetch(`/api/v1/deployments/${id}/abort`,
                                        {method: 'POST', headers}).then((r) => r.status);
        return [await post({'X-Rollway-UI': '1'}), await post({})];
    }""", waiting)  # fmt: skip
    assert forged == [403, 403]  # her role refused; without the page's header, refused as well
    assert _audit(api, app_name, "carol") == [("abort", 403)]
    assert kube.selector_hash(ns, app_name) == new


def test_reject_with_a_comment_abort_and_rollback_from_the_page(
    open_as: Callable[..., Page], login: Callable[[str], Cli], api: Api, kube: Kube,
    app_name: str, devstack_env: dict[str, str], shots: Path,
) -> None:  # fmt: skip
    api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
    alice = login("alice")
    dev = f"{app_name}-dev"

    # Reject: prod's first release waits for its plan's approval; bob rejects it with a comment.
    alice.ok("deploy", app_name, *PROD, "--artifact", f"{HELLO}:1.0.0", "--wait")
    first = deployment_id(alice, app_name, *PROD)
    bob = open_as("bob", f"/ui/deployments/{first}")
    bob.get_by_role("button", name="Reject").click()
    assert "the pipeline stops" in confirm(bob, comment="the release notes are missing")
    bob.locator("#state").get_by_text("rejected").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    expect(bob.locator("main")).to_contain_text("the release notes are missing")
    decision = status(alice, app_name, *PROD)["deployment"]["decision"]
    assert (decision["decision"], decision["by"]) == ("rejected", "bob")
    assert decision["comment"] == "the release notes are missing"
    assert kube.rollouts(f"{app_name}-prod") == []  # nothing reached the cluster
    assert _audit(api, app_name, "bob") == [("reject", 200)]

    # Rollback: dev runs 1.1.0 (revision 2) over 1.0.0; alice rolls back from the page.
    alice.ok("deploy", app_name, "--env", "dev", "--artifact", f"{HELLO}:1.0.0", "--wait")
    old = kube.selector_hash(dev, app_name)
    alice.ok("upgrade", app_name, "--env", "dev", "--version", "1.1.0", "--wait")
    alice.ok("promote", app_name, "--env", "dev")
    reaches(alice, app_name, settled("succeeded", "Healthy"), "1.1.0 promoted", "--env", "dev")
    upgraded = kube.selector_hash(dev, app_name)
    assert upgraded != old
    page = open_as("alice", f"/ui/apps/{app_name}")
    region = page.get_by_role("region", name="Environment dev")
    region.get_by_role("button", name="Roll back").click()
    assert "back to the previous revision" in confirm(page)
    expect(page.locator("#status")).to_contain_text("rolled back to revision 1")
    wait_for("dev served by revision 1's pods again",
             lambda: kube.selector_hash(dev, app_name) == old, timeout=120)  # fmt: skip
    assert _audit(api, app_name, "alice")[0] == ("rollback", 200)

    # Abort: an upgrade waiting at its pause; alice aborts it from its page.
    alice.ok("upgrade", app_name, "--env", "dev", "--version", "1.1.0", "--wait")
    waiting = at_gate(alice, app_name, "--env", "dev")
    page.goto(page.url.split("/ui/")[0] + f"/ui/deployments/{waiting}")
    page.get_by_role("button", name="Abort").click()
    assert "the rollout goes back to the stable version" in confirm(page)
    page.locator("#state").get_by_text("aborted").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    wait_for("the Rollout aborted", lambda: kube.rollout(dev, app_name)["status"].get("abort"),
             timeout=120)  # fmt: skip
    assert kube.selector_hash(dev, app_name) == old  # the stable version kept the traffic
    assert _audit(api, app_name, "alice")[0] == ("abort", 200)
    page.goto(page.url.split("/ui/")[0] + f"/ui/audit?app={app_name}")
    expect(page.get_by_role("row").filter(has_text="abort")).to_contain_text("alice")
    page.screenshot(path=shots / "audit.png", full_page=True)

    # Signing out ends Keycloak's session too: the next page asks for the password again.
    base = page.url.split("/ui/")[0]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    page.get_by_role("link", name="Sign in again").click()
    page.wait_for_url("**/realms/**")
    expect(page.locator("#password")).to_be_visible()
    page.goto(f"{base}/ui/audit")  # no session here, none at Keycloak: the login form again
    page.wait_for_url("**/realms/**")
    expect(page.locator("#password")).to_be_visible()


def test_a_lost_stream_reconnects_and_a_lost_session_goes_through_login_and_back(
    browser: Browser, devstack_env: dict[str, str], tmp_path: Path, app_name: str,
) -> None:  # fmt: skip
    """An API server of the test's own, killed and started again under an open page: the page
    says it is reconnecting, and since the restart forgot its session, it signs in again
    (Keycloak's session is still open: no form) and comes back to the same deployment. The
    server refreshes the session's access token at every call (a margin as long as the token's
    life): the page keeps working without ever going back through login for it."""
    env = {**devstack_env, "ROLLWAY_UI_REFRESH_MARGIN": "100000"}
    server = ApiServer(env, tmp_path / "server", free_port()).start()
    page: Page | None = None
    try:
        api = Api(devstack_env, server.url)
        api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
        alice = logins(server.url, devstack_env, tmp_path)("alice")
        alice.ok("deploy", app_name, "--env", "dev", "--artifact", f"{HELLO}:1.0.0", "--wait")
        alice.ok("upgrade", app_name, "--env", "dev", "--version", "1.1.0", "--wait")
        waiting = at_gate(alice, app_name, "--env", "dev")
        page = sign_in(browser, server.url, "alice", devstack_env["DEVSTACK_USER_PASSWORD"],
                       f"/ui/deployments/{waiting}")  # fmt: skip
        logins_seen: list[str] = []
        page.on("request", lambda r: logins_seen.append(r.url) if "/ui/login" in r.url else None)
        page.goto(f"{server.url}/ui/apps/{app_name}")  # each of its calls refreshes the token
        expect(page.get_by_role("region", name="Environment dev")).to_contain_text("Paused")
        page.goto(f"{server.url}/ui/deployments/{waiting}")
        stream = page.locator(".stream")
        expect(stream).to_have_text("Live")
        assert logins_seen == []
        page.evaluate("window.before = true")
        server.kill9()
        expect(stream).to_have_text("Reconnecting…")
        server.start()
        # A new document (through Keycloak, which still knows her), on the same page, live.
        page.wait_for_function(
            "() => window.before === undefined && "
            "document.querySelector('.stream')?.textContent === 'Live'"
        )
        assert page.url == f"{server.url}/ui/deployments/{waiting}"
        expect(page.locator("#state")).to_contain_text("waiting")
    finally:
        if page is not None:
            page.context.close()  # its event stream would hold the server's shutdown
        server.stop()


def test_a_failed_deployment_is_retried_from_its_page(
    open_as: Callable[..., Page], api: Api, app_name: str, devstack_env: dict[str, str],
) -> None:  # fmt: skip
    api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
    started = api.call("alice", "POST", f"/apps/{app_name}/deployments",
                       json={"env": "dev", "version": "9.9.9"})  # fmt: skip
    assert started.status_code == 201, started.text
    page = open_as("alice", f"/ui/deployments/{started.json()['id']}")
    page.locator("#state").get_by_text("failed").wait_for(timeout=DEPLOYMENT_TIMEOUT)
    expect(page.get_by_role("main")).to_contain_text("9.9.9")
    page.evaluate("""() => {
        window.seenStates = [];
        new MutationObserver(() => window.seenStates.push(
            document.getElementById('state')?.textContent || '')).observe(
            document.getElementById('main'), {subtree: true, childList: true, characterData: true});
    }""")
    page.get_by_role("button", name="Retry").click()
    assert "Run the failed steps" in confirm(page)
    expect(page.locator("#status")).not_to_contain_text("refused")
    expect(page.locator("#status")).not_to_be_empty()
    assert _audit(api, app_name, "alice")[0] == ("retry", 200)
    # It runs again, live, and fails again for the same reason: the version does not exist.
    page.wait_for_function(
        "() => window.seenStates.some((s) => s && !s.includes('failed')) && "
        "document.getElementById('state')?.textContent.includes('failed')",
        timeout=DEPLOYMENT_TIMEOUT,
    )
    step = page.locator('[data-step="resolve-artifact"]')
    expect(step).to_have_attribute("data-phase", "Failed")
