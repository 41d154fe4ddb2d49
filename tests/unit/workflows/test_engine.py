"""Semantics of the embedded engine, with local processes standing in for step containers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollway.errors import Conflict, InvalidInput, NotFound
from rollway.workflows.engine import Engine, TemplateError, parse
from tests.support.helpers import wait_for
from tests.unit.workflows.documents import SH, container, workflow


def finished(engine: Engine, name: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(
        f"{name} to finish",
        lambda: (wf := engine.get(name))["phase"] not in ("Running", "Pending") and wf,
        timeout=timeout,
        interval=0.05,
    )


def nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in wf["nodes"].values()}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(tmp_path / "state", secrets=None)


def test_dag_order_and_output_parameters(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [
            {"name": "a", "template": "produce"},
            {"name": "b", "template": "consume", "depends": "a",
             "arguments": {"parameters": [{"name": "x", "value": "{{tasks.a.outputs.parameters.out}}"}]}},
        ],
        [
            # Container paths are mapped when they are a whole argument or env value.
            {**container("produce", 'echo -n hello > "$OUT/out"',
                         outputs={"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out/out"}}]}),
             "container": {"image": "busybox", "command": [SH, "-c", 'echo -n hello > "$OUT/out"'],
                           "env": [{"name": "OUT", "value": "/tmp/out"}]}},
            container("consume", "echo got {{inputs.parameters.x}} >> {{workflow.parameters.dir}}/log",
                      inputs={"parameters": [{"name": "x"}]}),
        ],
    )  # fmt: skip
    wf = engine.submit(parse(doc), {"dir": str(tmp_path)})
    wf = finished(engine, wf["name"])
    assert wf["phase"] == "Succeeded"
    assert nodes(wf)["a"]["outputs"] == {"out": "hello"}
    assert (tmp_path / "log").read_text() == "got hello\n"
    assert list(engine.logs(wf["name"], "b")) == []


def test_failure_propagates_and_omits_dependants(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [{"name": "a", "template": "bad"}, {"name": "b", "template": "good", "depends": "a"},
         {"name": "c", "template": "good"}],
        [container("bad", "echo 'version 9.9.9 not found' >&2; exit 3"),
         container("good", "true")],
    )  # fmt: skip
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    by_name = nodes(wf)
    assert wf["phase"] == "Failed"
    assert by_name["a"]["phase"] == "Failed"
    assert by_name["a"]["message"] == "exit code 3: version 9.9.9 not found"
    assert by_name["b"]["phase"] == "Omitted"
    assert by_name["c"]["phase"] == "Succeeded"
    assert "version 9.9.9 not found" in wf["message"]
    assert "a: version 9.9.9 not found" in list(engine.logs(wf["name"]))


def test_retries_only_transient_exit_codes_with_backoff(engine: Engine, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    script = f"date +%s.%N >> {counter}; n=$(wc -l < {counter}); [ $n -ge 3 ] || exit 75"
    retry = {"limit": 4, "retryPolicy": "Always", "expression": "asInt(lastRetry.exitCode) == 75",
             "backoff": {"duration": "200ms", "factor": 2, "maxDuration": "1s"}}  # fmt: skip
    doc = workflow(
        [{"name": "flaky", "template": "flaky"}, {"name": "hard", "template": "hard"}],
        [container("flaky", script, retryStrategy=retry),
         container("hard", f"echo x >> {tmp_path}/hard; exit 1", retryStrategy=retry)],
    )  # fmt: skip
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    by_name = nodes(wf)
    assert by_name["flaky"]["phase"] == "Succeeded"
    assert by_name["flaky"]["retries"] == 2
    stamps = [float(x) for x in counter.read_text().split()]
    assert stamps[1] - stamps[0] >= 0.2 and stamps[2] - stamps[1] >= 0.4  # backoff doubled
    assert by_name["hard"]["phase"] == "Failed"
    assert (tmp_path / "hard").read_text() == "x\n"  # exit 1 is not transient: no retry


def test_step_deadline_kills_the_process(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [{"name": "slow", "template": "slow"}],
        [container("slow", "sleep 60", activeDeadlineSeconds=1)],
    )
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    assert nodes(wf)["slow"]["phase"] == "Failed"
    assert "deadline" in nodes(wf)["slow"]["message"]


def test_suspend_resume_and_exit_handler_sees_status(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [{"name": "gate", "template": "gate"},
         {"name": "after", "template": "after", "depends": "gate",
          "when": "{{workflow.parameters.mode}} == fail"}],
        [{"name": "gate", "suspend": {}},
         container("after", "exit 1"),
         {"name": "exit-handler", "dag": {"tasks": [{"name": "report", "template": "report"}]}},
         container("report", f"echo {{{{workflow.status}}}} > {tmp_path}/status")],
        onExit="exit-handler",
    )  # fmt: skip
    spec = parse(doc)
    name = engine.submit(spec, {"dir": str(tmp_path), "mode": "fail"})["name"]
    wait_for("suspended", lambda: any(n["type"] == "Suspend" and n["phase"] == "Running"
                                      for n in engine.get(name)["nodes"].values()))  # fmt: skip
    assert engine.get(name)["phase"] == "Running"
    with pytest.raises(Conflict):
        engine.resume(name, "displayName=nope")
    engine.resume(name, "displayName=gate")
    wf = finished(engine, name)
    assert wf["phase"] == "Failed"
    assert (tmp_path / "status").read_text() == "Failed\n"

    name = engine.submit(spec, {"dir": str(tmp_path), "mode": "ok"})["name"]
    wait_for("suspended", lambda: engine.get(name)["nodes"])
    engine.resume(name, "templateName=gate")
    wf = finished(engine, name)
    assert wf["phase"] == "Succeeded"
    assert nodes(wf)["after"]["phase"] == "Skipped"
    assert (tmp_path / "status").read_text() == "Succeeded\n"


def test_stop_runs_exit_handler_and_terminate_does_not(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [{"name": "slow", "template": "slow"}, {"name": "next", "template": "slow", "depends": "slow"}],
        [container("slow", "sleep 60"),
         {"name": "exit-handler", "dag": {"tasks": [{"name": "report", "template": "report"}]}},
         container("report", "echo {{workflow.status}} >> {{workflow.parameters.dir}}/exit")],
        onExit="exit-handler",
    )  # fmt: skip
    spec = parse(doc)
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    name = engine.submit(spec, {"dir": str(stopped)})["name"]
    wait_for("running", lambda: nodes(engine.get(name)).get("slow", {}).get("pid"))
    engine.stop(name)
    wf = finished(engine, name)
    assert wf["phase"] == "Failed" and wf["message"] == "Stopped with strategy 'Stop'"
    assert "next" not in nodes(wf)  # Argo starts (and records) nothing after a shutdown
    assert (stopped / "exit").read_text() == "Failed\n"

    terminated = tmp_path / "terminated"
    terminated.mkdir()
    name = engine.submit(spec, {"dir": str(terminated)})["name"]
    wait_for("running", lambda: nodes(engine.get(name)).get("slow", {}).get("pid"))
    engine.terminate(name)
    assert finished(engine, name)["phase"] == "Failed"
    assert not (terminated / "exit").exists()


def test_retry_reruns_only_what_failed(engine: Engine, tmp_path: Path) -> None:
    doc = workflow(
        [{"name": "first", "template": "count"}, {"name": "second", "template": "once", "depends": "first"}],
        [container("count", "echo run >> {{workflow.parameters.dir}}/first"),
         container("once", "[ -e {{workflow.parameters.dir}}/armed ] || { touch {{workflow.parameters.dir}}/armed; exit 1; }")],
    )  # fmt: skip
    name = engine.submit(parse(doc), {"dir": str(tmp_path)})["name"]
    assert finished(engine, name)["phase"] == "Failed"
    engine.retry(name)
    assert finished(engine, name)["phase"] == "Succeeded"
    assert (tmp_path / "first").read_text() == "run\n"


def test_bad_input_is_rejected_before_anything_runs(engine: Engine, tmp_path: Path) -> None:
    spec = parse(workflow([{"name": "a", "template": "t"}], [container("t", "touch x")]))
    with pytest.raises(InvalidInput, match="required") as err:
        engine.submit(spec, {})
    assert err.value.field == "dir"
    with pytest.raises(InvalidInput) as err:
        engine.submit(spec, {"dir": "{{workflow.name}}"})
    assert err.value.field == "dir"
    with pytest.raises(InvalidInput, match="one of ok, fail"):
        engine.submit(spec, {"dir": "x", "mode": "maybe"})
    with pytest.raises(InvalidInput) as err:
        engine.submit(spec, {"dir": "x", "extra": "1"})
    assert err.value.field == "extra"
    assert engine.list() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["spec"]["templates"].append({"name": "s", "script": {"source": "x"}}),
         "spec.templates[s].script"),
        (lambda d: d["spec"].update(parallelism=2), "spec.parallelism"),
        (lambda d: d["spec"]["templates"][1]["container"].update(resources={}),
         "spec.templates[t].container.resources"),
        (lambda d: d["spec"]["templates"][1].update(retryStrategy={"limit": 1, "retryPolicy": "OnTransientError"}),
         "spec.templates[t].retryStrategy.retryPolicy"),
        (lambda d: d["spec"]["templates"][1]["container"].update(args=["{{tasks.zz.outputs.result}}"]),
         "spec.templates[t].container.args"),
    ],
)  # fmt: skip
def test_unsupported_template_features_are_named(change: Any, field: str) -> None:
    doc = workflow([{"name": "a", "template": "t"}], [container("t", "true")])
    change(doc)
    with pytest.raises(TemplateError) as err:
        parse(doc)
    assert err.value.field == field


def test_restart_resumes_running_workflows(tmp_path: Path) -> None:
    """kill -9 of the process running the engine; a new engine finishes the workflow."""
    state = tmp_path / "state"
    doc = workflow(
        [{"name": "gate", "template": "gate"}, {"name": "done", "template": "done", "depends": "gate"}],
        [{"name": "gate", "suspend": {}}, container("done", f"touch {tmp_path}/done")],
    )  # fmt: skip
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(doc))
    script = textwrap.dedent(f"""
        import sys, time, yaml
        from rollway.workflows.engine import Engine, parse
        e = Engine({str(state)!r})
        e.submit(parse(yaml.safe_load(open({str(tmp_path / "wf.yaml")!r}))), {{"dir": "x"}}, name="wf-1")
        print("submitted", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "submitted"
    wait_for(
        "suspend node journalled",
        lambda: "Suspend" in (state / "wf-1" / "workflow.json").read_text(),
    )
    proc.kill()
    proc.wait()
    engine = Engine(state)
    assert engine.get("wf-1")["phase"] == "Running"
    engine.resume("wf-1", "displayName=gate")
    assert finished(engine, "wf-1")["phase"] == "Succeeded"
    assert (tmp_path / "done").exists()


class DictSecrets:
    """Pure-logic stand-in for the cluster's Secrets (the engine's SecretSource interface)."""

    def __init__(self, secrets: dict[tuple[str, str], str]) -> None:
        self.secrets = secrets

    def secret(self, name: str, key: str) -> str:
        if (name, key) not in self.secrets:
            raise NotFound(f"Secret {name} has no key {key}")
        return self.secrets[(name, key)]

    config_map = secret


def test_secret_env_and_optional_references(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "state", secrets=DictSecrets({("creds", "token"): "s3cret"}))
    env = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {
            "name": "HOOKS",
            "valueFrom": {"secretKeyRef": {"name": "hooks", "key": "x", "optional": True}},
        },  # fmt: skip
    ]
    script = 'echo "$TOKEN ${HOOKS-unset}" > {{workflow.parameters.dir}}/env'
    doc = workflow(
        [{"name": "a", "template": "t"}],
        [{"name": "t", "container": {"image": "x", "command": [SH, "-c", script], "env": env}}],
    )
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    assert wf["phase"] == "Succeeded"
    assert (tmp_path / "env").read_text() == "s3cret unset\n"
    assert "s3cret" not in json.dumps(wf)  # resolved secrets are not journalled

    env[1]["valueFrom"]["secretKeyRef"].pop("optional")
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    assert wf["phase"] == "Error"  # the step's phase, as Argo gives it to the workflow
    assert "hooks" in nodes(wf)["a"]["message"]


def test_a_step_gets_exactly_the_image_env_the_template_env_and_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of the engine's own environment reaches a step: in a pod it would not be there."""
    monkeypatch.setenv("ROLLWAY_REGISTRY_PASSWORD", "server-secret")
    monkeypatch.setenv("ROLLWAY_REGISTRY", "server-registry")
    engine = Engine(
        tmp_path / "state",
        image_env={"PATH": "/usr/bin:/bin", "HOME": "/home/step", "LANG": "C.UTF-8"},
        service_account_kubeconfig="/etc/step/kubeconfig",
    )
    dump = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
    step = {"image": "x", "command": [sys.executable, "-c", dump, "{{workflow.parameters.dir}}/env"],
            "env": [{"name": "FROM_TEMPLATE", "value": "{{workflow.parameters.mode}}"},
                    {"name": "HOME", "value": "/workspace"}]}  # fmt: skip
    doc = workflow([{"name": "a", "template": "t"}], [{"name": "t", "container": step}])
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    assert wf["phase"] == "Succeeded", wf
    seen = json.loads((tmp_path / "env").read_text())
    assert seen == {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",  # rollway-step beside the engine
        "HOME": "/workspace",  # the template's env overrides the image's, as in a pod
        "LANG": "C.UTF-8",
        "KUBECONFIG": "/etc/step/kubeconfig",
        "FROM_TEMPLATE": "ok",
    }


def test_max_duration_bounds_the_whole_retry_window(engine: Engine, tmp_path: Path) -> None:
    """Waits of 0.5 s then 1 s fit in 2.5 s; the next, 2 s, would not: Argo gives up there."""
    retry = {"limit": 10, "retryPolicy": "Always",
             "backoff": {"duration": "500ms", "factor": 2, "maxDuration": "2500ms"}}  # fmt: skip
    doc = workflow(
        [{"name": "flaky", "template": "flaky"}],
        [container("flaky", f"echo x >> {tmp_path}/tries; exit 75", retryStrategy=retry)],
    )
    wf = finished(engine, engine.submit(parse(doc), {"dir": str(tmp_path)})["name"])
    assert nodes(wf)["flaky"]["phase"] == "Failed"
    assert nodes(wf)["flaky"]["retries"] == 2
    assert (tmp_path / "tries").read_text() == "x\nx\nx\n"


def test_a_failure_a_later_task_handles_does_not_fail_the_workflow(
    engine: Engine, tmp_path: Path
) -> None:
    """Argo's DAG phase comes from its target tasks; an Omitted one inherits its branch's."""
    handled = workflow(
        [{"name": "bad", "template": "bad"},
         {"name": "cleanup", "template": "good", "depends": "bad.Failed"}],
        [container("bad", "exit 3"), container("good", "true")],
    )  # fmt: skip
    wf = finished(engine, engine.submit(parse(handled), {"dir": str(tmp_path)})["name"])
    assert {n: v["phase"] for n, v in nodes(wf).items()} == {
        "bad": "Failed",
        "cleanup": "Succeeded",
    }
    assert wf["phase"] == "Succeeded"

    unhandled = workflow(
        [{"name": "bad", "template": "bad"},
         {"name": "cleanup", "template": "good", "depends": "bad.Failed"},
         {"name": "next", "template": "good", "depends": "bad"}],
        [container("bad", "exit 3"), container("good", "true")],
    )  # fmt: skip
    wf = finished(engine, engine.submit(parse(unhandled), {"dir": str(tmp_path)})["name"])
    assert nodes(wf)["next"]["phase"] == "Omitted"
    assert wf["phase"] == "Failed"


def test_the_image_path_is_not_taken_for_a_mount_point(tmp_path: Path) -> None:
    """The image's PATH is this machine's: a tool directory under /tmp (a venv in a checkout
    there) is found, not rewritten to the step's /tmp scratch volume."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "say-hi").write_text('#!/bin/sh\necho hi > "$HOME/hi"\n')
    (tools / "say-hi").chmod(0o755)
    engine = Engine(tmp_path / "state", secrets=None,
                    image_env={"PATH": f"{tools}:{os.defpath}", "HOME": str(tmp_path)})  # fmt: skip
    step = {
        "name": "hi",
        "container": {"image": "busybox", "command": ["say-hi"],
                      "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]},
    }  # fmt: skip
    spec = workflow([{"name": "hi", "template": "hi"}], [step],
                    volumes=[{"name": "scratch", "emptyDir": {}}])  # fmt: skip
    wf = finished(engine, engine.submit(parse(spec), {"dir": str(tmp_path)})["name"])
    assert wf["phase"] == "Succeeded", nodes(wf)["hi"]["message"]
    assert (tmp_path / "hi").read_text() == "hi\n"
