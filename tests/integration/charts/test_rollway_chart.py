"""charts/rollway, the chart that installs Rollway itself, with the real helm and kube-apiserver.

Rendering: lint, the API server's objects and settings (checked against the real Settings
class), RBAC, and the WorkflowTemplates, which must be workflow-templates/*.yaml exactly. In the
cluster: a strict server-side dry run, then `helm install` into a throwaway namespace (the
WorkflowTemplates meet Argo's full-schema CRDs; pods never run on KWOK nodes, so nothing waits
for them) with the RBAC checked by SubjectAccessReviews, and `helm uninstall`.

Needs at least DEVSTACK_ONLY=helm,argo-workflows-crds,argo-rollouts.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.core import REPO
from rollway import __version__
from tests.support.helpers import wait_for

from .conftest import ROLLWAY_CHART, HelmChart, Rendered
from .rollway_chart import NAMESPACE, RELEASE, container, render

pytestmark = pytest.mark.integration

TEMPLATES = REPO / "workflow-templates"
#: What the API server mounts; the pipeline also reads rollway-callback (its exit handler).
PLATFORM_SECRETS = ("rollway-git", "rollway-maven", "rollway-registry")
CALLBACK_SECRET = "rollway-callback"
#: What an operator gives instead of the chart's example.com placeholders.
SITE = {
    "keycloak": {"url": "http://keycloak.sso.svc:8080"},
    "registry": {"host": "harbor.acme.internal"},
    "maven": {"url": "http://nexus.tools.svc:8081/repository/maven-releases/"},
}
CREDENTIALS = {
    "create": True,
    "maven": {"username": "deployer", "password": "maven-secret"},
    "registry": {"username": "robot$rollway", "password": "registry-secret"},
    "git": {"token": "gitea-token"},
    "callback": {"clientId": "rollway-ci", "clientSecret": "ci-client-secret"},
}


def examples() -> list[Path]:
    files = sorted((ROLLWAY_CHART / "ci").glob("*-values.yaml"))
    assert files, f"no example values in {ROLLWAY_CHART / 'ci'}"
    return files


def render_error(chart: HelmChart, values: dict[str, Any]) -> str:
    proc = chart.run("template", RELEASE, "--namespace", NAMESPACE, values=values)
    assert proc.returncode != 0, f"rendered although it should fail:\n{proc.stdout}"
    return proc.stderr


def env_of(objects: Rendered) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(objects)["env"]}


def stored_templates() -> dict[str, dict[str, Any]]:
    """workflow-templates/*.yaml by metadata.name."""
    found = {}
    for path in sorted(TEMPLATES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        found[doc["metadata"]["name"]] = doc
    assert found, f"no templates in {TEMPLATES}"
    return found


def value_refs(node: Any, kind: str, optional: bool = False) -> Iterator[tuple[str, str]]:
    """(name, key) of every required (or every optional) secretKeyRef / configMapKeyRef anywhere
    under `node` (optional ones, like the exit handler's settings, may be absent)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == kind:
                if bool(value.get("optional")) == optional:
                    yield value["name"], value["key"]
            else:
                yield from value_refs(value, kind, optional)
    elif isinstance(node, list):
        for item in node:
            yield from value_refs(item, kind, optional)


# --- the chart as files -----------------------------------------------------------------------


def test_workflow_templates_are_a_symlink_not_a_copy() -> None:
    link = ROLLWAY_CHART / "files" / "workflow-templates"
    assert link.is_symlink(), f"{link} must be a symlink to workflow-templates/, not a copy"
    assert link.resolve() == TEMPLATES.resolve()
    assert not Path(link.readlink()).is_absolute(), "a relative link survives other checkouts"


def test_lint_strict_is_clean_with_defaults(chart: HelmChart) -> None:
    proc = chart.run("lint", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout
    # helm lint reports a template `fail` as an INFO line rather than failing.
    assert "[WARNING]" not in proc.stdout and "Fail:" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("example", examples(), ids=lambda p: p.name.removesuffix("-values.yaml"))
def test_lint_strict_is_clean_with_each_example(chart: HelmChart, example: Path) -> None:
    proc = chart.run("lint", "--strict", files=[example])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "Fail:" not in proc.stdout + proc.stderr


def test_packaged_chart_carries_the_templates_as_files(chart: HelmChart, tmp_path: Path) -> None:
    """`helm package` follows the symlink: a published chart holds the files themselves."""
    proc = helm(chart, "package", str(ROLLWAY_CHART), "--destination", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (archive,) = tmp_path.glob("rollway-*.tgz")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        for path in sorted(TEMPLATES.glob("*.yaml")):
            member = members.get(f"rollway/files/workflow-templates/{path.name}")
            assert member is not None and member.isfile(), sorted(members)
            extracted = tar.extractfile(member)
            assert extracted is not None and extracted.read() == path.read_bytes()
        assert not any(name.startswith("rollway/ci/") for name in members)
    packaged = HelmChart(chart.helm, archive, chart.env, tmp_path)
    rendered = {
        o["metadata"]["name"]: o for o in render(packaged) if o["kind"] == "WorkflowTemplate"
    }
    assert rendered == stored_templates()


# --- what helm template renders ---------------------------------------------------------------


def test_defaults_render_every_part(chart: HelmChart) -> None:
    objects = render(chart)
    assert objects.kinds() == sorted(
        [
            ("ConfigMap", "rollway-apiserver"),
            ("ConfigMap", "rollway-platform"),
            ("ClusterRole", f"{NAMESPACE}:rollway-apiserver"),
            ("ClusterRole", f"{NAMESPACE}:rollway-workflow"),
            ("Deployment", "rollway-apiserver"),
            ("Role", "rollway-apiserver"),
            ("Role", "rollway-workflow-executor"),
            ("RoleBinding", "rollway-apiserver"),
            ("RoleBinding", "rollway-workflow-executor"),
            ("Secret", "rollway-apiserver-argo-token"),
            ("Secret", "rollway-executor.service-account-token"),
            ("Service", "rollway-apiserver"),
            ("ServiceAccount", "rollway-apiserver"),
            ("ServiceAccount", "rollway-executor"),
            ("ServiceAccount", "rollway-workflow"),
            *(("WorkflowTemplate", name) for name in stored_templates()),
        ]
    )


def test_workflow_templates_are_the_rendered_files_exactly(chart: HelmChart) -> None:
    for values in ({}, {"rbac": {"clusterWide": True}, **SITE}):
        rendered = {
            o["metadata"]["name"]: o
            for o in render(chart, values)
            if o["kind"] == "WorkflowTemplate"
        }
        assert rendered == stored_templates()


def test_workflow_templates_run_the_installed_image_where_the_install_says(
    chart: HelmChart,
) -> None:
    def steps(objects: Rendered) -> list[tuple[str, str]]:
        return [
            (o["metadata"]["name"], t["container"]["image"])
            for o in objects
            if o["kind"] == "WorkflowTemplate"
            for t in o["spec"]["templates"]
            if "container" in t
        ]

    digest = "sha256:" + "b" * 64
    own = render(chart, {"image": {"repository": "harbor.acme.internal/rollway/rollway",
                                   "digest": digest}})  # fmt: skip
    assert {image for _, image in steps(own)} == {f"harbor.acme.internal/rollway/rollway@{digest}"}
    assert {image for _, image in steps(render(chart))} == {
        f"ghcr.io/rollway/rollway:{__version__}"
    }

    placed = render(chart, {"workflowTemplates": {
        "image": "10.0.0.1:5000/rollway/rollway:dev",
        "nodeSelector": {"rollway.io/real": "true"},
        "tolerations": [{"key": "rollway.io/real", "operator": "Exists", "effect": "NoSchedule"}],
    }})  # fmt: skip
    assert {image for _, image in steps(placed)} == {"10.0.0.1:5000/rollway/rollway:dev"}
    assert len(steps(placed)) == len(steps(render(chart)))
    for template in (o for o in placed if o["kind"] == "WorkflowTemplate"):
        assert template["spec"]["nodeSelector"] == {"rollway.io/real": "true"}
        assert template["spec"]["tolerations"][0]["key"] == "rollway.io/real"
    refused = render_error(chart, {"workflowTemplates": {"image": "Bad Image!"}})
    assert "workflowTemplates.image: Does not match pattern" in refused


def test_workflow_templates_can_be_left_to_gitops(chart: HelmChart) -> None:
    objects = render(chart, {"workflowTemplates": {"install": False}})
    assert not [o for o in objects if o["kind"] == "WorkflowTemplate"]
    objects.one("ServiceAccount", "rollway-workflow")  # still needed by the templates


def test_everything_the_templates_reference_is_provided(chart: HelmChart) -> None:
    """The workflow ServiceAccount, each secretKeyRef and configMapKeyRef of every template."""
    objects = render(chart, {"platformSecrets": CREDENTIALS})
    platform = objects.one("ConfigMap", "rollway-platform")["data"]
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"
               and o["type"] == "Opaque"}  # fmt: skip
    assert sorted(secrets) == sorted([*PLATFORM_SECRETS, CALLBACK_SECRET])
    for name, template in stored_templates().items():
        account = template["spec"]["serviceAccountName"]
        objects.one("ServiceAccount", account)
        for secret, key in value_refs(template, "secretKeyRef"):
            assert key in secrets.get(secret, {}), (name, secret, key)
        for configmap, key in value_refs(template, "configMapKeyRef"):
            assert configmap == "rollway-platform" and key in platform, (name, configmap, key)
    assert platform["maven-url"] == "https://nexus.example.com/repository/maven-releases/"
    assert platform["maven-snapshots-url"] == ""


def test_the_exit_handler_reports_to_this_release(chart: HelmChart) -> None:
    """callback-url is the chart's own Service; the token comes from Keycloak as the API server
    reaches it, for the client in rollway-callback; the webhooks from notifications.webhooks.
    Every optional reference of the templates is provided."""
    # A registry on plain HTTP: its URL is the last optional setting the templates read.
    registry = {**SITE["registry"], "url": "http://harbor.acme.internal:8080"}
    hooks = ["https://chat.acme.internal/a", "https://b.example/h"]
    objects = render(chart, {**SITE, "registry": registry, "platformSecrets": CREDENTIALS,
                             "service": {"port": 8080},
                             "notifications": {"webhooks": hooks}})  # fmt: skip
    platform = objects.one("ConfigMap", "rollway-platform")["data"]
    service = objects.one("Service", "rollway-apiserver")
    assert platform["callback-url"] == f"http://rollway-apiserver.{NAMESPACE}.svc:8080"
    assert service["spec"]["ports"][0]["port"] == 8080
    assert platform["keycloak-url"] == SITE["keycloak"]["url"]
    assert platform["keycloak-realm"] == "rollway"
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"
               and o["type"] == "Opaque"}  # fmt: skip
    assert secrets[CALLBACK_SECRET] == {"client-id": "rollway-ci",
                                        "client-secret": "ci-client-secret"}  # fmt: skip
    assert secrets["rollway-notifications"] == {"webhooks": ",".join(hooks)}
    for template in stored_templates().values():
        missing = [ref for ref in value_refs(template, "secretKeyRef", optional=True)
                   if ref[1] not in secrets.get(ref[0], {})]  # fmt: skip
        assert missing == [], missing
        for configmap, key in value_refs(template, "configMapKeyRef", optional=True):
            assert configmap == "rollway-platform" and key in platform, (configmap, key)


def test_the_callback_can_be_left_out(chart: HelmChart) -> None:
    objects = render(chart, {"callback": {"enabled": False}, "platformSecrets": {
        **CREDENTIALS, "callback": {"clientId": "", "clientSecret": ""}}})  # fmt: skip
    assert "callback-url" not in objects.one("ConfigMap", "rollway-platform")["data"]
    secrets = [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"]
    assert CALLBACK_SECRET not in secrets and "rollway-registry" in secrets


def test_no_secret_values_by_default(chart: HelmChart) -> None:
    objects = render(chart, {"database": {"existingSecret": "rollway-db"}})
    tokens = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    assert sorted(tokens) == [
        "rollway-apiserver-argo-token",
        "rollway-executor.service-account-token",
    ]
    for token in tokens.values():
        assert token["type"] == "kubernetes.io/service-account-token"
        assert "data" not in token and "stringData" not in token  # kube-controller-manager fills it
    env = env_of(objects)
    assert env["ROLLWAY_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "rollway-db", "key": "url"}
    }
    assert env["ROLLWAY_ARGO_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "rollway-apiserver-argo-token", "key": "token"}
    }
    volumes = objects.one("Deployment", "rollway-apiserver")["spec"]["template"]["spec"]["volumes"]
    mounted = {v["secret"]["secretName"] for v in volumes if "secret" in v}
    assert mounted == set(PLATFORM_SECRETS)


def test_apiserver_deployment(chart: HelmChart) -> None:
    objects = render(chart)
    app_version = yaml.safe_load((ROLLWAY_CHART / "Chart.yaml").read_text())["appVersion"]
    pod = objects.one("Deployment", "rollway-apiserver")["spec"]["template"]["spec"]
    main = container(objects)
    assert main["image"] == f"ghcr.io/rollway/rollway:{app_version}"
    assert main["command"] == ["rollway-apiserver"]
    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["envFrom"] == [{"configMapRef": {"name": "rollway-apiserver"}}]
    assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]
    assert pod["serviceAccountName"] == "rollway-apiserver"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert "emptyDir" in volumes[mounts["/var/lib/rollway"]]  # no persistence asked for
    service = objects.one("Service", "rollway-apiserver")["spec"]
    assert service["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert (
        service["selector"]
        == objects.one("Deployment", "rollway-apiserver")["spec"]["selector"]["matchLabels"]
    )


def test_image_and_name_overrides(chart: HelmChart) -> None:
    digest = "sha256:" + "cd" * 32
    objects = render(chart, {"image": {"repository": "harbor.acme.internal/tools/rollway",
                                       "tag": "0.2.0"}})  # fmt: skip
    assert container(objects)["image"] == "harbor.acme.internal/tools/rollway:0.2.0"
    objects = render(chart, {"image": {"tag": "0.2.0", "digest": digest}})
    assert container(objects)["image"] == f"ghcr.io/rollway/rollway@{digest}"
    proc = chart.run("template", "delivery", "--namespace", "ci", values={})
    assert proc.returncode == 0, proc.stderr
    names = Rendered(d for d in yaml.safe_load_all(proc.stdout) if d).kinds()
    assert ("Deployment", "delivery-rollway-apiserver") in names
    assert ("ClusterRole", "ci:delivery-rollway-workflow") in names
    assert ("ServiceAccount", "rollway-workflow") in names  # fixed by the templates


def config_as_settings(data: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real Settings class reading the ConfigMap as the pod's environment."""
    from rollway.apiserver.settings import Settings

    for name in [n for n in os.environ if n.startswith("ROLLWAY_")]:
        monkeypatch.delenv(name)
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_configmap_is_what_the_settings_class_reads(
    chart: HelmChart, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        **SITE,
        "keycloak": {"url": "http://keycloak.sso.svc:8080", "realm": "delivery",
                     "issuer": "https://login.acme.example/realms/delivery"},
        "registry": {"host": "harbor.acme.internal", "project": "apps",
                     "url": "https://harbor-core.harbor.svc"},
        "chartDefaults": {"repo": "https://gitea.acme.internal/platform/charts.git"},
        "apiserver": {"extraConfig": {"ROLLWAY_SYNC_INTERVAL": "2.5"}},
    }  # fmt: skip
    data = render(chart, values).one("ConfigMap", "rollway-apiserver")["data"]
    settings = config_as_settings(data, monkeypatch)
    assert settings.engine == "argo"
    assert settings.engine_options == {
        "url": "https://argo-server.argo.svc:2746",
        "namespace": NAMESPACE,
        "verify_ssl": True,
    }
    assert (settings.host, settings.port, str(settings.state_dir)) == (
        "0.0.0.0", 8080, "/var/lib/rollway"
    )  # fmt: skip
    assert settings.keycloak_url == "http://keycloak.sso.svc:8080"
    assert settings.keycloak_realm == "delivery"
    assert settings.oidc_issuer == "https://login.acme.example/realms/delivery"
    assert settings.oidc_audience == "rollway-api"
    assert (settings.registry, settings.image_project) == ("harbor.acme.internal", "apps")
    assert settings.base_image == "docker.io/library/eclipse-temurin:21-jre"
    assert settings.sync_interval == 2.5
    assert settings.chart_repo == "https://gitea.acme.internal/platform/charts.git"


#: Where the API server's process reads settings from besides Settings: everything but the CLI
#: and the pipeline's steps, which run elsewhere.
SERVER_CODE = [path for path in (REPO / "src" / "rollway").rglob("*.py")
               if path.parent.name not in ("cli", "commands", "view", "steps")]  # fmt: skip


@pytest.mark.parametrize("example", [None, *examples()], ids=lambda e: e.name if e else "defaults")
def test_every_setting_the_chart_gives_the_api_server_is_read(
    chart: HelmChart, example: Path | None
) -> None:
    """No dead setting: each ROLLWAY_* of the API server's ConfigMap and environment is a Settings
    field, read by the server's code (NAME or NAME_FILE), or expanded into another variable by the
    kubelet (`$(NAME)`)."""
    from rollway.apiserver.settings import Settings

    proc = chart.run("template", RELEASE, "--namespace", NAMESPACE, values={**SITE},
                     files=[example] if example else [])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    objects = Rendered(doc for doc in yaml.safe_load_all(proc.stdout) if doc)
    env = env_of(objects)
    given = set(objects.one("ConfigMap", "rollway-apiserver")["data"]) | set(env)
    code = "\n".join(path.read_text() for path in SERVER_CODE)
    fields = {f"ROLLWAY_{name.upper()}" for name in Settings.model_fields}
    expanded = " ".join(str(e.get("value", "")) for e in env.values())

    def read(name: str) -> bool:
        return (name in fields or f'"{name.removesuffix("_FILE")}"' in code
                or f"$({name})" in expanded)  # fmt: skip

    unread = sorted(n for n in given if n.startswith("ROLLWAY_") and not read(n))
    assert unread == [], f"settings the API server never reads: {unread}"


def test_defaults_make_valid_settings(chart: HelmChart, monkeypatch: pytest.MonkeyPatch) -> None:
    data = render(chart).one("ConfigMap", "rollway-apiserver")["data"]
    settings = config_as_settings(data, monkeypatch)
    assert settings.oidc_issuer == "https://keycloak.example.com/realms/rollway"


def test_argo_token_is_added_to_the_engine_options_in_the_pod(chart: HelmChart) -> None:
    token = {"source": "secret", "existingSecret": "argo-token", "key": "jwt"}
    objects = render(chart, {"argo": {"server": {"url": "http://argo-server.argo:2746",
                                                 "insecureSkipVerify": True, "token": token}}})  # fmt: skip
    env = list(container(objects)["env"])
    names = [e["name"] for e in env]
    # The kubelet expands $(VAR) only from variables defined earlier in the list.
    assert names.index("ROLLWAY_ARGO_TOKEN") < names.index("ROLLWAY_ENGINE_OPTIONS")
    by_name = env_of(objects)
    assert by_name["ROLLWAY_ARGO_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "argo-token", "key": "jwt"
    }  # fmt: skip
    assert yaml.safe_load(by_name["ROLLWAY_ENGINE_OPTIONS"]["value"]) == {
        "url": "http://argo-server.argo:2746",
        "namespace": NAMESPACE,
        "verify_ssl": False,
        "token": "$(ROLLWAY_ARGO_TOKEN)",
    }
    secrets = [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"]
    assert secrets == ["rollway-executor.service-account-token"]  # no token of the API server's
    objects = render(chart, {"argo": {"server": {"token": {"source": "none"}}}})
    assert "ROLLWAY_ARGO_TOKEN" not in env_of(objects)
    assert "ROLLWAY_ENGINE_OPTIONS" not in env_of(objects)  # the ConfigMap's, no token


def test_production_example(chart: HelmChart) -> None:
    proc = chart.run("template", RELEASE, "--namespace", NAMESPACE,
                     files=[ROLLWAY_CHART / "ci" / "production-values.yaml"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    objects = Rendered(doc for doc in yaml.safe_load_all(proc.stdout) if doc)
    deployment = objects.one("Deployment", "rollway-apiserver")["spec"]
    assert deployment["replicas"] == 2 and "strategy" not in deployment  # PostgreSQL: rolling
    ingress = objects.one("Ingress", "rollway-apiserver")["spec"]
    assert ingress["rules"][0]["host"] == "rollway.acme.internal"
    assert ingress["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "rollway-apiserver", "port": {"name": "http"}
    }  # fmt: skip
    hooks = objects.one("Secret", "rollway-notifications")["stringData"]
    assert hooks == {"webhooks": "https://chat.acme.internal/hooks/deployments"}
    assert env_of(objects)["HTTPS_PROXY"]["value"] == "http://proxy.acme.internal:3128"
    registry = objects.one("Secret", "rollway-registry")
    assert registry["stringData"] == {"username": "robot$rollway", "password": "registry-password"}


def test_persistence(chart: HelmChart) -> None:
    objects = render(chart, {"apiserver": {"persistence": {"enabled": True, "size": "5Gi"}}})
    claim = objects.one("PersistentVolumeClaim", "rollway-apiserver")
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volumes = objects.one("Deployment", "rollway-apiserver")["spec"]["template"]["spec"]["volumes"]
    state = next(v for v in volumes if v["name"] == "state")
    assert state["persistentVolumeClaim"] == {"claimName": "rollway-apiserver"}
    existing = {"persistence": {"enabled": True, "existingClaim": "old-state"}}
    objects = render(chart, {"apiserver": existing})
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]


# --- RBAC -------------------------------------------------------------------------------------


def rules(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) → verbs, merged over the role's rules."""
    merged: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                merged.setdefault((group, resource), set()).update(rule["verbs"])
    return merged


def test_apiserver_rights(chart: HelmChart) -> None:
    objects = render(chart, {"rbac": {"targetNamespaces": ["orders-dev"]}})
    own = rules(objects.one("Role", "rollway-apiserver"))
    assert own[("argoproj.io", "workflows")] == {"get", "list", "watch", "create", "patch",
                                                 "update"}  # fmt: skip
    assert own[("argoproj.io", "workflowtemplates")] == {"get", "list", "watch"}
    targets = rules(objects.one("ClusterRole", f"{NAMESPACE}:rollway-apiserver"))
    assert {"get", "list", "watch", "patch"} <= targets[("argoproj.io", "rollouts")]
    assert {"get", "patch"} <= targets[("argoproj.io", "rollouts/status")]
    for resource in [("argoproj.io", "analysisruns"), ("apps", "replicasets"), ("", "pods"),
                     ("", "services")]:  # fmt: skip
        assert {"get", "list", "watch"} <= targets[resource], resource
    assert ("", "secrets") not in targets
    assert not any({"create", "delete"} & verbs for verbs in targets.values())


def test_workflow_rights(chart: HelmChart) -> None:
    objects = render(chart, {"rbac": {"targetNamespaces": ["orders-dev"]}})
    executor = rules(objects.one("Role", "rollway-workflow-executor"))
    assert executor == {("argoproj.io", "workflowtaskresults"): {"create", "patch"}}
    (binding,) = [o for o in objects if o["kind"] == "RoleBinding"
                  and o["roleRef"]["name"] == "rollway-workflow-executor"]  # fmt: skip
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "rollway-executor", "namespace": NAMESPACE}
    ]
    targets = rules(objects.one("ClusterRole", f"{NAMESPACE}:rollway-workflow"))
    applied = [("argoproj.io", "rollouts"), ("argoproj.io", "analysistemplates"),
               ("", "services"), ("", "serviceaccounts"), ("networking.k8s.io", "ingresses"),
               ("autoscaling", "horizontalpodautoscalers"), ("policy", "poddisruptionbudgets")]  # fmt: skip
    for resource in applied:  # server-side apply creates with patch+create
        assert {"get", "create", "patch"} <= targets[resource], resource
    assert targets[("", "namespaces")] == {"get"}
    assert ("", "secrets") not in targets and ("", "configmaps") not in targets
    assert not any("delete" in verbs for verbs in targets.values())


def bindings(objects: Rendered) -> list[tuple[str, str, str, str]]:
    """(kind, namespace, roleRef, subject) of the bindings to the ClusterRoles."""
    found = []
    for o in objects:
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding") and o["roleRef"]["kind"] == (
            "ClusterRole"
        ):
            (subject,) = o["subjects"]
            assert subject["namespace"] == NAMESPACE
            found.append((o["kind"], o["metadata"].get("namespace", ""), o["roleRef"]["name"],
                          subject["name"]))  # fmt: skip
    return sorted(found)


def test_rights_per_target_namespace(chart: HelmChart) -> None:
    objects = render(chart, {"rbac": {"targetNamespaces": ["orders-dev", "orders-prod"]}})
    api, wf = f"{NAMESPACE}:rollway-apiserver", f"{NAMESPACE}:rollway-workflow"
    assert bindings(objects) == sorted(
        ("RoleBinding", ns, role, account)
        for ns in ("orders-dev", "orders-prod")
        for role, account in ((api, "rollway-apiserver"), (wf, "rollway-workflow"))
    )
    cluster_wide = render(chart, {"rbac": {"clusterWide": True}})
    assert bindings(cluster_wide) == [
        ("ClusterRoleBinding", "", api, "rollway-apiserver"),
        ("ClusterRoleBinding", "", wf, "rollway-workflow"),
    ]
    assert bindings(render(chart)) == []
    none = render(chart, {"rbac": {"create": False, "targetNamespaces": ["orders-dev"]}})
    assert not [o for o in none if o["apiVersion"].startswith("rbac.authorization.k8s.io")]


def test_plan_diff_patch_rights_can_be_left_out(chart: HelmChart) -> None:
    objects = render(chart, {"rbac": {"apiserverPlanDiff": False}})
    targets = rules(objects.one("ClusterRole", f"{NAMESPACE}:rollway-apiserver"))
    patchable = {resource for resource, verbs in targets.items() if "patch" in verbs}
    assert patchable == {("argoproj.io", "rollouts"), ("argoproj.io", "rollouts/status")}


# --- values that must not render --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"apiserver": {"replicas": 2}}, "apiserver.replicas: more than 1 needs PostgreSQL"),
        (
            {"argo": {"server": {"token": {"source": "secret"}}}},
            "argo.server.token.existingSecret: required",
        ),
        (
            {"argo": {"server": {"token": {"existingSecret": "x"}}}},
            "argo.server.token.existingSecret: only used with source secret",
        ),
        ({"argo": {"server": {"url": "argo-server:2746"}}}, "argo.server.url: Does not match"),
        (
            {"serviceAccount": {"create": False, "name": "sa"}},
            "argo.server.token.source: serviceAccount needs serviceAccount.create",
        ),
        ({"ingress": {"enabled": True}}, "ingress.hosts: at least one host"),
        (
            {"rbac": {"clusterWide": True, "targetNamespaces": ["a"]}},
            "rbac.targetNamespaces: leave it empty",
        ),
        ({"rbac": {"targetNamespaces": [NAMESPACE]}}, "is Rollway's own namespace"),
        ({"rbac": {"targetNamespaces": ["Not_A_Name"]}}, "rbac.targetNamespaces.0: Does not match"),
        ({"platformSecrets": {"create": True}}, "platformSecrets.registry: username and password"),
        (
            {"platformSecrets": {**CREDENTIALS, "maven": {"username": "only"}}},
            "platformSecrets.maven: give both",
        ),
        (
            {"platformSecrets": {**CREDENTIALS, "callback": {"clientSecret": ""}}},
            "platformSecrets.callback: clientId and clientSecret",
        ),
        (
            {"keycloak": {"issuer": "https://sso.example.com/no-realm"}},
            "keycloak.issuer: Does not match",
        ),
        ({"registry": {"host": "https://harbor.example.com"}}, "registry.host: Does not match"),
        (
            {"apiserver": {"extraConfig": {"SOMETHING": "x"}}},
            "apiserver.extraConfig: Property name",
        ),
        ({"engine": "embedded"}, "Additional property engine is not allowed"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_values_fail_naming_the_value(
    chart: HelmChart, values: dict[str, Any], message: str
) -> None:
    assert message in render_error(chart, values)


# --- in the cluster ---------------------------------------------------------------------------


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None, ok: bool = True) -> str:
    proc = subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )
    if ok:
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def helm(chart: HelmChart, *args: str) -> subprocess.CompletedProcess[str]:
    """helm commands that take no chart or values (get, uninstall, package)."""
    return subprocess.run(
        [chart.helm, *args], capture_output=True, text=True, env=chart.env, timeout=180
    )


def can_i(env: dict[str, str], who: str, verb: str, resource: str, namespace: str) -> bool:
    """The kube-apiserver's SubjectAccessReview answer for a ServiceAccount; `resource` may
    name a subresource (rollouts.argoproj.io/status), which kubectl takes as --subresource."""
    resource, _, sub = resource.partition("/")
    extra = ["--subresource", sub] if sub else []
    scope = ["-n", namespace] if namespace else []
    answer = kubectl(env, "auth", "can-i", verb, resource, *extra, *scope, "--as", who, ok=False)
    assert answer in ("yes", "no"), answer
    return answer == "yes"


def placed(objects: list[dict[str, Any]], home: str) -> str:
    """The objects as YAML, each namespaced one in its namespace (home, as helm puts it, unless
    it names another): kubectl refuses -n with objects in several namespaces."""
    for obj in objects:
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            obj["metadata"].setdefault("namespace", home)
    return yaml.safe_dump_all(objects)


@pytest.fixture
def namespaces(devstack_env: dict[str, str]) -> Iterator[list[str]]:
    """Rollway's namespace, two target namespaces and a bystander, deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = [f"rw-{tag}", f"rw-{tag}-dev", f"rw-{tag}-prod", f"rw-{tag}-other"]
    for name in names:
        kubectl(devstack_env, "create", "namespace", name)
    yield names
    kubectl(devstack_env, "delete", "namespace", *names, "--wait=false", ok=False)


@pytest.fixture
def installed(
    chart: HelmChart,
    devstack_env: dict[str, str],
    namespaces: list[str],
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Install the chart (no waiting: KWOK pods run no images); uninstall afterwards."""
    home, *targets, _ = namespaces
    rbac = {"clusterWide": True} if request.param == "cluster-wide" else {
        "targetNamespaces": targets
    }  # fmt: skip
    values = {**SITE, "platformSecrets": CREDENTIALS, "rbac": rbac}
    proc = chart.run("install", RELEASE, "--namespace", home, "--wait=false", "--timeout=2m",
                     values=values)  # fmt: skip
    try:
        assert proc.returncode == 0, proc.stderr
        assert "app login" in proc.stdout  # NOTES
        yield home, values
    finally:
        uninstalled = helm(chart, "uninstall", RELEASE, "--namespace", home, "--wait",
                           "--ignore-not-found")  # fmt: skip
        # Cluster-scoped objects outlive the namespaces: never leave them behind.
        cluster_scoped = [f"{kind}/{home}:rollway-{part}" for part in ("apiserver", "workflow")
                          for kind in ("clusterrole", "clusterrolebinding")]  # fmt: skip
        kubectl(devstack_env, "delete", "--ignore-not-found", *cluster_scoped)
        assert uninstalled.returncode == 0, uninstalled.stderr


def test_strict_server_dry_run_accepts_every_object(
    chart: HelmChart, devstack_env: dict[str, str], namespaces: list[str]
) -> None:
    home, dev, prod, _ = namespaces
    values = {**SITE, "platformSecrets": CREDENTIALS, "rbac": {"targetNamespaces": [dev, prod]},
              "ingress": {"enabled": True, "hosts": ["rollway.acme.internal"]},
              "apiserver": {"persistence": {"enabled": True}}}  # fmt: skip
    objects = render(chart, values, namespace=home)
    out = kubectl(devstack_env, "apply", "--dry-run=server", "--validate=strict", "-o", "name",
                  "-f", "-", stdin=placed(objects, home))  # fmt: skip
    assert len(out.splitlines()) == len(objects), out
    kinds = {line.split("/")[0] for line in out.splitlines()}
    assert (
        "workflowtemplate.argoproj.io" in kinds and "clusterrole.rbac.authorization.k8s.io" in kinds
    )


@pytest.mark.parametrize("installed", ["namespaced", "cluster-wide"], indirect=True)
def test_install_into_the_cluster(
    chart: HelmChart,
    devstack_env: dict[str, str],
    namespaces: list[str],
    installed: tuple[str, dict[str, Any]],
) -> None:
    home, dev, prod, other = namespaces
    cluster_wide = installed[1]["rbac"].get("clusterWide", False)
    env = devstack_env

    # Every object helm rendered exists.
    manifest = helm(chart, "get", "manifest", RELEASE, "--namespace", home)
    assert manifest.returncode == 0, manifest.stderr
    objects = [d for d in yaml.safe_load_all(manifest.stdout) if d]
    found = kubectl(env, "get", "-o", "name", "-f", "-", stdin=placed(objects, home))
    assert len(found.splitlines()) == len(objects), found
    kinds = {(o["kind"], o["metadata"].get("namespace", "")) for o in objects}
    assert {("Deployment", home), ("WorkflowTemplate", home), ("ServiceAccount", home)} <= kinds
    if cluster_wide:
        assert ("ClusterRoleBinding", "") in kinds and ("RoleBinding", dev) not in kinds
    else:
        assert {("RoleBinding", dev), ("RoleBinding", prod)} <= kinds

    # The WorkflowTemplates are stored as written: the full-schema CRDs pruned nothing.
    for name, expected in stored_templates().items():
        stored = yaml.safe_load(
            kubectl(env, "get", "-n", home, "workflowtemplates.argoproj.io", name, "-o", "yaml")
        )
        assert stored["spec"] == expected["spec"], name
        assert expected["metadata"]["labels"].items() <= stored["metadata"]["labels"].items()

    # The platform Secrets hold what was given.
    registry = yaml.safe_load(kubectl(env, "get", "-n", home, "secret", "rollway-registry",
                                      "-o", "yaml"))  # fmt: skip
    assert base64.b64decode(registry["data"]["username"]).decode() == "robot$rollway"
    client = kubectl(env, "get", "-n", home, "secret", CALLBACK_SECRET,
                     "-o", "jsonpath={.data.client-id}")  # fmt: skip
    assert base64.b64decode(client).decode() == "rollway-ci"

    # RBAC as the kube-apiserver decides it.
    api = f"system:serviceaccount:{home}:rollway-apiserver"
    wf = f"system:serviceaccount:{home}:rollway-workflow"
    executor = f"system:serviceaccount:{home}:rollway-executor"
    for verb in ("create", "get", "watch", "patch"):
        assert can_i(env, api, verb, "workflows.argoproj.io", home), verb
    assert can_i(env, api, "get", "workflowtemplates.argoproj.io", home)
    assert not can_i(env, api, "update", "workflowtemplates.argoproj.io", home)
    assert can_i(env, executor, "create", "workflowtaskresults.argoproj.io", home)
    assert can_i(env, executor, "patch", "workflowtaskresults.argoproj.io", home)
    assert not can_i(env, wf, "create", "workflowtaskresults.argoproj.io", home)
    assert not can_i(env, wf, "create", "workflows.argoproj.io", home)
    for target in (dev, prod):
        assert can_i(env, api, "patch", "rollouts.argoproj.io/status", target)
        assert can_i(env, api, "list", "replicasets.apps", target)
        assert not can_i(env, api, "get", "secrets", target)
        assert not can_i(env, api, "create", "rollouts.argoproj.io", target)
        for resource in ("rollouts.argoproj.io", "services", "ingresses.networking.k8s.io",
                         "horizontalpodautoscalers.autoscaling",
                         "poddisruptionbudgets.policy", "analysistemplates.argoproj.io"):  # fmt: skip
            assert can_i(env, wf, "patch", resource, target), (resource, target)
            assert can_i(env, wf, "create", resource, target), (resource, target)
        assert not can_i(env, wf, "get", "secrets", target)
        assert not can_i(env, wf, "delete", "rollouts.argoproj.io", target)
    assert can_i(env, wf, "patch", "rollouts.argoproj.io", other) is cluster_wide
    assert can_i(env, api, "get", "rollouts.argoproj.io", other) is cluster_wide
    assert not can_i(env, wf, "create", "namespaces", "")

    # kube-controller-manager fills the API server's long-lived token for Argo Server, and the
    # token carries the API server's identity and rights.
    def token() -> str:
        data = kubectl(env, "get", "-n", home, "secret", "rollway-apiserver-argo-token",
                       "-o", "jsonpath={.data.token}")  # fmt: skip
        return base64.b64decode(data).decode() if data else ""

    jwt = wait_for("the token in Secret rollway-apiserver-argo-token", token)
    who, allowed = as_token(env, jwt, "create", "workflows", [home, other])
    assert who == api
    assert allowed == [True, False]


def as_token(
    env: dict[str, str], jwt: str, verb: str, resource: str, namespaces: list[str]
) -> tuple[str, list[bool]]:
    """Who a bearer token (alone, no client certificate) authenticates as, and whether it may
    `verb` argoproj.io `resource` in each namespace (SelfSubjectReview, SelfSubjectAccessReviews):
    the identity and rights Argo Server in client auth mode acts with."""
    from kubernetes import client, config

    admin = client.Configuration()
    config.load_kube_config(config_file=env["KUBECONFIG"], client_configuration=admin)
    bearer = client.Configuration(host=admin.host, api_key={"authorization": f"Bearer {jwt}"})
    bearer.ssl_ca_cert = admin.ssl_ca_cert
    with client.ApiClient(bearer) as api:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
        allowed = []
        for namespace in namespaces:
            attributes = client.V1ResourceAttributes(
                group="argoproj.io", resource=resource, verb=verb, namespace=namespace
            )
            access = client.AuthorizationV1Api(api).create_self_subject_access_review(
                client.V1SelfSubjectAccessReview(
                    spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
                )
            )
            assert access.status is not None
            allowed.append(bool(access.status.allowed))
    assert review.status is not None and review.status.user_info is not None
    return str(review.status.user_info.username), allowed


@pytest.mark.parametrize("installed", ["namespaced"], indirect=True)
def test_uninstall_removes_cluster_scoped_objects(
    chart: HelmChart, devstack_env: dict[str, str], installed: tuple[str, dict[str, Any]]
) -> None:
    home = installed[0]
    roles = [f"{home}:rollway-apiserver", f"{home}:rollway-workflow"]
    for role in roles:
        kubectl(devstack_env, "get", "clusterrole", role)
    proc = helm(chart, "uninstall", RELEASE, "--namespace", home, "--wait")
    assert proc.returncode == 0, proc.stderr
    for role in roles:
        gone = kubectl(devstack_env, "get", "clusterrole", role, "--ignore-not-found", "-o",
                       "name")  # fmt: skip
        assert gone == "", role
    left = kubectl(devstack_env, "get", "workflowtemplates.argoproj.io", "-n", home, "-o", "name")
    assert left == ""
