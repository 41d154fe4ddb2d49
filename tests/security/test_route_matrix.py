"""Every route of the OpenAPI document × every role × own project and another project, against
the real API server with real Keycloak tokens of the realm's users.

The realm's users each hold one role in project hello (devstack/keycloak, devstack/projects.py):
nora none, carol viewer, alice deployer, bob approver, frank project-admin; dave is a platform
admin. "Own" targets hello's application, deployment and project, "other" payments'. Each
request is valid and would succeed but for authorisation, or fails only on the state of the
target (409, 412, 422, a Rollout that is not there), never changing what the next case sees.

What a case may answer: `hidden` is a 404 naming the target (its project is not the caller's),
`denied` a 403, `unauthenticated` a 401, and `allowed` anything else but a 5xx — authorisation
passed. A listing is `allowed` and holds nothing of a project the caller has no role in.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rollway.apiserver import Settings, create_app
from rollway.apiserver.models import Deployment
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.integration.apiserver.conftest import Api, Tokens, serving

pytestmark = pytest.mark.integration

#: Role → the realm user holding it in project hello (None: no token at all).
USERS = {
    "anonymous": None,
    "none": "nora",
    "viewer": "carol",
    "deployer": "alice",
    "approver": "bob",
    "project-admin": "frank",
    "admin": "dave",
}
#: What each project role may do in its project (admins: everything everywhere).
GRANTS = {
    "none": set(),
    "viewer": {"READ"},
    "deployer": {"READ", "DEPLOY", "PROMOTE", "REVIEW"},
    "approver": {"READ", "APPROVE", "PROMOTE", "REVIEW"},
    "project-admin": {"READ", "ADMINISTER"},
}
#: Scope → the project whose resources a case targets.
SCOPES = {"own": "hello", "other": "payments"}
PUBLIC, LIST, PLATFORM_ADMIN = "PUBLIC", "LIST", "PLATFORM_ADMIN"


@dataclasses.dataclass(frozen=True)
class Target:
    """The resources of one project, as the admin made them."""

    project: str
    app: str
    deployment: str
    call: Callable[..., httpx.Response]

    def spec(self) -> dict[str, Any]:
        """The application as registered, as a PUT body."""
        found = self.call("dave", "GET", f"/api/v1/apps/{self.app}").json()
        return {k: v for k, v in found.items()
                if k not in ("name", "createdBy", "createdAt", "updatedAt")}  # fmt: skip

    def again(self) -> dict[str, Any]:
        """A registration of the app once more, with default policies (a deployer's): 409 once
        authorised."""
        spec = self.spec()
        environments = [{"name": e["name"], "namespace": e["namespace"]}
                        for e in spec["environments"]]  # fmt: skip
        return {**spec, "name": self.app, "environments": environments}

    def etag(self) -> str:
        """The app's ETag now: an If-Match that holds."""
        return self.call("dave", "GET", f"/api/v1/apps/{self.app}").headers["ETag"]

    def project_spec(self) -> dict[str, Any]:
        found = self.call("dave", "GET", f"/api/v1/projects/{self.project}").json()
        return {k: found[k] for k in ("description", "members", "guardrails")}


def policy_flipped(t: Target) -> dict[str, Any]:
    """The app's spec with prod's approvalRequired turned over: a policy change whatever the
    state the previous case left."""
    spec = t.spec()
    for env in spec["environments"]:
        if env["name"] == "prod":
            env["policy"]["approvalRequired"] = not env["policy"]["approvalRequired"]
    return spec


#: (method, path, variant) → what it needs, and the request: (path with ids, body or None).
Request = Callable[[Target], tuple[str, Any]]
ROUTES: dict[tuple[str, str, str], tuple[str, Request]] = {
    ("GET", "/healthz", ""): (PUBLIC, lambda t: ("/healthz", None)),
    ("GET", "/readyz", ""): (PUBLIC, lambda t: ("/readyz", None)),
    ("GET", "/metrics", ""): (PUBLIC, lambda t: ("/metrics", None)),
    ("GET", "/api/v1/apps", ""): (LIST, lambda t: ("/api/v1/apps", None)),
    ("POST", "/api/v1/apps", ""): ("DEPLOY", lambda t: ("/api/v1/apps", t.again())),
    ("GET", "/api/v1/apps/{app}", ""): ("READ", lambda t: (f"/api/v1/apps/{t.app}", None)),
    ("PUT", "/api/v1/apps/{app}", ""): ("DEPLOY", lambda t: (f"/api/v1/apps/{t.app}", t.spec())),
    ("PUT", "/api/v1/apps/{app}", "policy"): ("ADMINISTER", lambda t: (
        f"/api/v1/apps/{t.app}", policy_flipped(t))),
    ("PUT", "/api/v1/apps/{app}", "if-match"): ("DEPLOY", lambda t: (
        f"/api/v1/apps/{t.app}", t.spec())),
    ("PUT", "/api/v1/apps/{app}", "if-none-match"): ("DEPLOY", lambda t: (
        f"/api/v1/apps/{t.app}", {k: v for k, v in t.again().items() if k != "name"})),
    ("POST", "/api/v1/apps/{app}/deployments", ""): ("DEPLOY", lambda t: (
        f"/api/v1/apps/{t.app}/deployments", {"env": "nope", "version": "1.0.0"})),
    ("POST", "/api/v1/apps/{app}/artifacts", ""): ("DEPLOY", lambda t: (
        f"/api/v1/apps/{t.app}/artifacts", {"version": "1.0.0"})),
    ("GET", "/api/v1/apps/{app}/environments/{env}/rollout", ""): ("READ", lambda t: (
        f"/api/v1/apps/{t.app}/environments/dev/rollout", None)),
    ("GET", "/api/v1/apps/{app}/environments/{env}/rollout/history", ""): ("READ", lambda t: (
        f"/api/v1/apps/{t.app}/environments/dev/rollout/history", None)),
    ("POST", "/api/v1/apps/{app}/environments/{env}/rollout/rollback", ""): ("DEPLOY", lambda t: (
        f"/api/v1/apps/{t.app}/environments/dev/rollout/rollback", None)),
    ("GET", "/api/v1/apps/{app}/environments/{env}/analysis", ""): ("READ", lambda t: (
        f"/api/v1/apps/{t.app}/environments/dev/analysis", None)),
    ("POST", "/api/v1/apps/{app}/environments/{env}/analysis/judgements", ""): ("READ", lambda t: (
        f"/api/v1/apps/{t.app}/environments/dev/analysis/judgements",
        {"canaryHash": "5d8f7c6b4", "baselineHash": "7f9c8d5b6", "windowSeconds": 300})),
    ("GET", "/api/v1/deployments", ""): (LIST, lambda t: ("/api/v1/deployments", None)),
    ("GET", "/api/v1/deployments", "app"): ("READ", lambda t: (
        f"/api/v1/deployments?app={t.app}", None)),
    ("GET", "/api/v1/deployments/{deployment_id}", ""): ("READ", lambda t: (
        f"/api/v1/deployments/{t.deployment}", None)),
    # A started deployment's manifests, rendered again: for its deployers and approvers.
    ("GET", "/api/v1/deployments/{deployment_id}/plan", ""): ("REVIEW", lambda t: (
        f"/api/v1/deployments/{t.deployment}/plan", None)),
    ("GET", "/api/v1/deployments/{deployment_id}/logs", ""): ("READ", lambda t: (
        f"/api/v1/deployments/{t.deployment}/logs", None)),
    ("GET", "/api/v1/deployments/{deployment_id}/events", ""): ("READ", lambda t: (
        f"/api/v1/deployments/{t.deployment}/events", None)),
    ("POST", "/api/v1/deployments/{deployment_id}/promote", ""): ("PROMOTE", lambda t: (
        f"/api/v1/deployments/{t.deployment}/promote", None)),
    ("POST", "/api/v1/deployments/{deployment_id}/approve", ""): ("APPROVE", lambda t: (
        f"/api/v1/deployments/{t.deployment}/approve", None)),
    ("POST", "/api/v1/deployments/{deployment_id}/reject", ""): ("APPROVE", lambda t: (
        f"/api/v1/deployments/{t.deployment}/reject", None)),
    ("POST", "/api/v1/deployments/{deployment_id}/abort", ""): ("DEPLOY", lambda t: (
        f"/api/v1/deployments/{t.deployment}/abort", None)),
    ("POST", "/api/v1/deployments/{deployment_id}/retry", ""): ("DEPLOY", lambda t: (
        f"/api/v1/deployments/{t.deployment}/retry", None)),
    ("POST", "/api/v1/internal/deployments/{deployment_id}/outcome", ""): ("DEPLOY", lambda t: (
        f"/api/v1/internal/deployments/{t.deployment}/outcome",
        {"deploymentId": t.deployment, "status": "Succeeded"})),
    ("GET", "/api/v1/audit", ""): (LIST, lambda t: ("/api/v1/audit", None)),
    ("GET", "/api/v1/audit", "app"): ("READ", lambda t: (f"/api/v1/audit?app={t.app}", None)),
    ("GET", "/api/v1/projects", ""): (LIST, lambda t: ("/api/v1/projects", None)),
    ("POST", "/api/v1/projects", ""): (PLATFORM_ADMIN, lambda t: (
        "/api/v1/projects", {"name": t.project})),  # already there: 409 once allowed
    ("GET", "/api/v1/projects/{project}", ""): ("READ", lambda t: (
        f"/api/v1/projects/{t.project}", None)),
    ("PUT", "/api/v1/projects/{project}", ""): ("ADMINISTER", lambda t: (
        f"/api/v1/projects/{t.project}", t.project_spec())),
    ("DELETE", "/api/v1/projects/{project}", ""): (PLATFORM_ADMIN, lambda t: (
        f"/api/v1/projects/{t.project}", None)),  # it has an app: 409 once allowed
}  # fmt: skip
#: Variant → the headers of its request: a conditional PUT is authorised as the plain one (one
#: whose If-Match holds), and a registration by If-None-Match: * as a POST (412 once allowed).
HEADERS: dict[str, Callable[[Target], dict[str, str]]] = {
    "if-match": lambda t: {"If-Match": t.etag()},
    "if-none-match": lambda t: {"If-None-Match": "*"},
}
#: The problem+json `field` of a 404 that hides a target.
HIDING_FIELDS = {"app", "deploymentId", "project"}


def openapi_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the server documents."""
    state = Path(tempfile.mkdtemp(prefix="rollway-openapi-"))
    settings = Settings(oidc_issuer="http://127.0.0.1:9/realms/rollway",
                        database_url=f"sqlite:///{state / 'rollway.db'}")  # fmt: skip
    document = create_app(settings, backend=EmbeddedBackend(state / "engine")).openapi()
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def expected(need: str, role: str, scope: str) -> str:
    if need == PUBLIC:
        return "allowed"
    if role == "anonymous":
        return "unauthenticated"
    if role == "admin" or need == LIST:
        return "allowed"
    if need == PLATFORM_ADMIN:
        return "denied"
    if scope == "other" or not GRANTS[role]:
        return "hidden"
    return "allowed" if need in GRANTS[role] else "denied"


def outcome(answer: httpx.Response) -> str:
    assert answer.status_code < 500, f"{answer.status_code}: {answer.text}"
    if answer.status_code == 401:
        return "unauthenticated"
    if answer.status_code == 403:
        return "denied"
    if answer.status_code == 404 and answer.json().get("field") in HIDING_FIELDS:
        return "hidden"
    return "allowed"


CASES = [
    pytest.param(route, role, scope, id=f"{route[0]} {route[1]}{' ' + route[2] if route[2] else ''}"
                                        f" | {role} | {scope}")
    for route in ROUTES
    for role in USERS
    for scope in SCOPES
]  # fmt: skip


@pytest.fixture(scope="module")
def targets(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Target]]:
    """hello and payments registered by the admin, each with a finished deployment record."""
    with serving(devstack_env, tokens, tmp_path_factory.mktemp("matrix")) as api:
        yield {scope: target(api, project) for scope, project in SCOPES.items()}


def target(api: Api, project: str) -> Target:
    app = project  # the apps serving() registers are named after their projects
    deployment = f"{app}-dev-matrix"
    db = api.client.app.state.context.db  # type: ignore[attr-defined]
    with db.write() as session:
        session.add(Deployment(
            id=deployment, app=app, env="dev", namespace=f"{api.prefix}-{app}-dev",
            kind="deploy", state="succeeded", version="1.0.0", strategy="bluegreen",
            request={}, parameters={}, request_hash="0" * 64, created_by="matrix",
            created_by_name="matrix",
        ))  # fmt: skip
    return Target(project=project, app=app, deployment=deployment, call=api.call)


def test_the_matrix_covers_every_route_of_the_openapi_document() -> None:
    assert {(method, path) for method, path, _ in ROUTES} == openapi_routes()


@pytest.mark.parametrize(("route", "role", "scope"), CASES)
def test_route_answers_the_role_as_expected(
    targets: dict[str, Target], route: tuple[str, str, str], role: str, scope: str
) -> None:
    need, build = ROUTES[route]
    target = targets[scope]
    path, body = build(target)
    headers = HEADERS[route[2]](target) if route[2] in HEADERS else {}
    user = USERS[role]
    call = target.call
    answer = call(user, route[0], path, headers=headers,
                  **({"json": body} if body is not None else {}))  # fmt: skip

    assert outcome(answer) == expected(need, role, scope), (
        f"{route[0]} {path} as {role} ({user}): {answer.status_code} {answer.text[:300]}"
    )
    if need == LIST and role != "anonymous":
        assert_only_visible(route[1], answer.json()["items"], role)


def assert_only_visible(path: str, items: list[dict[str, Any]], role: str) -> None:
    """A listing holds only what belongs to the caller's projects."""
    mine = set(SCOPES.values()) if role == "admin" else {"hello"} if GRANTS[role] else set()
    key = {"/api/v1/projects": "name", "/api/v1/apps": "project"}.get(path, "app")
    seen = {item[key] for item in items}
    if role == "admin":
        seen.discard(None)  # events of no application (a project's changes) are admins' only
    assert seen <= mine, f"{path} shows {role} {sorted(seen - mine)}"
    if role != "admin" and GRANTS[role] and path in ("/api/v1/projects", "/api/v1/apps"):
        assert seen == mine  # what the caller may see is there
