"""The devstack command itself: status JSON, env exports, idempotent up."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devstack.components.helm import Helm
from devstack.core import Paths
from devstack.stack import Context
from tests.support.helpers import run_devstack

pytestmark = pytest.mark.integration


def test_status_json_lists_every_component_ready(devstack: Context) -> None:
    proc = run_devstack("status", "--json")
    rows = json.loads(proc.stdout)["components"]
    names = {row["name"] for row in rows}
    assert {"etcd", "kube-apiserver", "kwok", "argo-rollouts", "registry", "maven", "git", "keycloak",
            "helm"} <= names  # fmt: skip
    for row in rows:
        assert row["ready"] is True, row
        assert row["version"], row
        assert row["endpoint"], row
    assert proc.returncode == 0


def test_second_up_starts_nothing(devstack: Context) -> None:
    proc = run_devstack("up")
    assert proc.returncode == 0, proc.stderr
    assert "started" not in proc.stderr.replace("devstack up", "")
    assert "running" in proc.stderr and "ready" in proc.stderr


def test_env_exports_tools_and_endpoints(devstack: Context) -> None:
    proc = run_devstack("env")
    script = proc.stdout + "\nhelm version --short && kubectl version -o json\n"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("v3.")
    assert json.loads(out.stdout.split("\n", 1)[1])["serverVersion"]["gitVersion"] == "v1.34.5"


def test_a_fresh_checkout_links_the_cached_helm(devstack: Context, tmp_path: Path) -> None:
    """A second checkout shares the binary cache but starts with an empty bin/ of its own."""
    fresh = Context.load(Paths(work=tmp_path / ".devstack", cache=devstack.paths.cache))
    helm = Helm()
    assert not helm.ready(fresh)

    helm.install(fresh)

    assert helm.ready(fresh)
    version = subprocess.run([helm.endpoint(fresh), "version", "--short"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert version.stdout.startswith(helm.version)
