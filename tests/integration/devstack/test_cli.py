"""The devstack command itself: status JSON, env exports, idempotent up."""

from __future__ import annotations

import json
import subprocess

import pytest

from devstack.stack import Context
from tests.helpers import run_devstack

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
