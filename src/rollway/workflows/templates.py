"""The WorkflowTemplates `rollway-build` and `rollway-deploy`, defined once in Hera.

`make workflow-templates` renders them to `workflow-templates/*.yaml`; Argo runs that YAML in
production and the embedded engine interprets the very same YAML locally.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hera.workflows import (
    DAG,
    ConfigMapEnv,
    Container,
    Env,
    Parameter,
    RetryStrategy,
    SecretEnv,
    Suspend,
    Task,
    WorkflowTemplate,
)
from hera.workflows import (
    models as m,
)

from .. import __version__
from ..pipeline import (
    APPLY,
    APPROVAL,
    BUILD_IMAGE,
    BUILD_TEMPLATE,
    DEPLOY_TEMPLATE,
    ENTRYPOINT,
    EXIT_HANDLER,
    FETCH_CHART,
    GATE_BEFORE_APPLY,
    LABEL_APP,
    LABEL_DEPLOYMENT,
    LABEL_ENV,
    OUTPUTS,
    PLAN_APPROVAL,
    PROMOTE,
    RENDER,
    REPORT,
    RESOLVE_ARTIFACT,
    WAIT_HEALTHY,
    WAIT_ROLLOUT,
)
from ..steps.outputs import DEFAULT_DIR
from .engine import transient
from .parameters import BUILD_PARAMS, DEPLOY_PARAMS, Param, ParamSet

#: The Rollway image (`rollway-step` and `rollway-apiserver` in one). Installs set their own:
#: charts/rollway writes its `image` (or `workflowTemplates.image`) into every step.
STEP_IMAGE = f"ghcr.io/rollway/rollway:{__version__}"
SERVICE_ACCOUNT = "rollway-workflow"
#: Argo's executor (init and wait containers) writes task results with this account's token;
#: the steps' own containers get SERVICE_ACCOUNT's token only where they call the Kubernetes API.
EXECUTOR_SERVICE_ACCOUNT = "rollway-executor"
#: The user Rollway's image runs as (devstack/images.py makes it).
STEP_UID = 1000
WORKSPACE = "/workspace"
#: The only writable path besides the workspace (the root filesystem is read-only): the image's
#: HOME, tempfiles, and the outputs directory (under /tmp) — a per-pod emptyDir.
SCRATCH = "/tmp"
SCRATCH_LIMIT = "2Gi"
#: Settings (URLs) come from this ConfigMap, credentials from these Secrets — never parameters.
PLATFORM_CONFIG = "rollway-platform"
SECRETS = {
    "ROLLWAY_MAVEN_USERNAME": ("rollway-maven", "username"),
    "ROLLWAY_MAVEN_PASSWORD": ("rollway-maven", "password"),
    "ROLLWAY_REGISTRY_USERNAME": ("rollway-registry", "username"),
    "ROLLWAY_REGISTRY_PASSWORD": ("rollway-registry", "password"),
    "ROLLWAY_GIT_TOKEN": ("rollway-git", "token"),
}
SETTINGS = {
    "ROLLWAY_MAVEN_URL": "maven-url",
    "ROLLWAY_MAVEN_SNAPSHOTS_URL": "maven-snapshots-url",
    # The platform registry: the only host build-image offers the registry credentials to.
    "ROLLWAY_REGISTRY": "registry",
}
#: Settings a step uses when configured. The exit handler's: absent, it just records the
#: outcome; the callback authenticates as the Keycloak client in Secret rollway-callback.
OPTIONAL = {
    # Where the platform registry's API answers, when not https://<registry> (plain HTTP).
    "ROLLWAY_REGISTRY_URL": ("configmap", PLATFORM_CONFIG, "registry-url"),
    # The git server the git credential goes to (rollway.destinations): git-url, else the
    # server of chart-repo.
    "ROLLWAY_GIT_URL": ("configmap", PLATFORM_CONFIG, "git-url"),
    "ROLLWAY_CHART_REPO": ("configmap", PLATFORM_CONFIG, "chart-repo"),
    "ROLLWAY_CALLBACK_URL": ("configmap", PLATFORM_CONFIG, "callback-url"),
    # The canary judge as the Argo Rollouts controller reaches it (default: callback-url).
    "ROLLWAY_JUDGE_URL": ("configmap", PLATFORM_CONFIG, "judge-url"),
    "ROLLWAY_JUDGE_CLIENT_ID": ("configmap", PLATFORM_CONFIG, "judge-client-id"),
    # The image of the judge's traffic Job (an analysis with `traffic`): Rollway's own.
    "ROLLWAY_STEP_IMAGE": ("configmap", PLATFORM_CONFIG, "step-image"),
    "ROLLWAY_KEYCLOAK_URL": ("configmap", PLATFORM_CONFIG, "keycloak-url"),
    "ROLLWAY_KEYCLOAK_REALM": ("configmap", PLATFORM_CONFIG, "keycloak-realm"),
    "ROLLWAY_CALLBACK_CLIENT_ID": ("secret", "rollway-callback", "client-id"),
    "ROLLWAY_CALLBACK_CLIENT_SECRET": ("secret", "rollway-callback", "client-secret"),
    "ROLLWAY_NOTIFY_WEBHOOKS": ("secret", "rollway-notifications", "webhooks"),
}
REPORT_OPTIONAL = (
    "ROLLWAY_CALLBACK_URL", "ROLLWAY_KEYCLOAK_URL", "ROLLWAY_KEYCLOAK_REALM",
    "ROLLWAY_CALLBACK_CLIENT_ID", "ROLLWAY_CALLBACK_CLIENT_SECRET", "ROLLWAY_NOTIFY_WEBHOOKS",
)  # fmt: skip
#: Exit code of a TransientError (EX_TEMPFAIL): how a step asks for another attempt.
TRANSIENT_EXIT = 75
LABELS = {
    LABEL_APP: "workflow.parameters.app",
    LABEL_ENV: "workflow.parameters.env",
    LABEL_DEPLOYMENT: "workflow.parameters['deployment-id']",
}


def wp(name: str) -> str:
    """Reference to a workflow parameter."""
    return f"{{{{workflow.parameters.{name}}}}}"


def step(
    name: str,
    args: list[str],
    *,
    secrets: tuple[str, ...] = (),
    settings: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    timeout: int,
    retries: int = 3,
    inputs: tuple[str, ...] = (),
    kube_api: bool = False,
) -> Container:
    """A template that runs `rollway-step <name> …` in the step image, publishing the outputs
    the contract names; `kube_api`: the step calls the Kubernetes API, so its container gets the
    pipeline account's token."""
    outputs = OUTPUTS[name]
    env: list[Env | SecretEnv | ConfigMapEnv] = [
        Env(name="ROLLWAY_WORKSPACE", value=WORKSPACE),
        Env(name="ROLLWAY_OUTPUTS_DIR", value=DEFAULT_DIR),
    ]
    env += [SecretEnv(name=var, secret_name=SECRETS[var][0], secret_key=SECRETS[var][1])
            for var in secrets]  # fmt: skip
    env += [ConfigMapEnv(name=var, config_map_name=PLATFORM_CONFIG, config_map_key=SETTINGS[var])
            for var in settings]  # fmt: skip
    for var in optional:
        kind, source, key = OPTIONAL[var]
        env.append(
            SecretEnv(name=var, secret_name=source, secret_key=key, optional=True)
            if kind == "secret"
            else ConfigMapEnv(name=var, config_map_name=source, config_map_key=key, optional=True)
        )
    return Container(
        name=name,
        image=STEP_IMAGE,
        command=["rollway-step", name],
        args=args,
        env=env,
        inputs=[Parameter(name=i) for i in inputs],
        outputs=[
            Parameter(name=o, value_from=m.ValueFrom(path=f"{DEFAULT_DIR}/{o}")) for o in outputs
        ],
        volume_mounts=[
            m.VolumeMount(name="workspace", mount_path=WORKSPACE),
            m.VolumeMount(name="scratch", mount_path=SCRATCH),
        ],
        security_context=m.SecurityContext(
            run_as_non_root=True,
            read_only_root_filesystem=True,
            allow_privilege_escalation=False,
            capabilities=m.Capabilities(drop=["ALL"]),
        ),
        # None: the workflow's default, no token (spec.automountServiceAccountToken).
        automount_service_account_token=True if kube_api else None,
        # Relative paths in args (artifact/, chart/, manifests.yaml) live in the shared workspace.
        working_dir=WORKSPACE,
        # IntOrString fields are written as strings: Argo's JSON schema types them as string.
        active_deadline_seconds=str(timeout),
        retry_strategy=RetryStrategy(
            limit=str(retries),
            retry_policy="Always",
            # Exit 75, or the pod evicted or shut down under it; never an OOM kill (transient.py).
            expression=transient.expression(TRANSIENT_EXIT),
            # Waits of 2 s, 4 s, 8 s… each at most `cap`; no `maxDuration` (in Argo that is the
            # whole retry window): each attempt is bounded by the step's deadline instead.
            backoff=m.Backoff(duration="2s", factor=m.IntOrString("2"), cap="2m"),
        )
        if retries
        else None,
    )


def inp(name: str) -> str:
    return f"{{{{inputs.parameters.{name}}}}}"


def declare(params: ParamSet) -> list[Parameter]:
    return [_declare(p) for p in params]


def _declare(param: Param) -> Parameter:
    return Parameter(
        name=param.name,
        description=param.description,
        value=param.default,
        enum=list(param.enum) or None,
    )


def _template(name: str, params: ParamSet, deadline: int) -> WorkflowTemplate:
    return WorkflowTemplate(
        name=name,
        entrypoint=ENTRYPOINT,
        on_exit=EXIT_HANDLER,
        service_account_name=SERVICE_ACCOUNT,
        active_deadline_seconds=deadline,
        arguments=declare(params),
        labels={"app.kubernetes.io/part-of": "rollway"},
        workflow_metadata=m.WorkflowMetadata(
            labels_from={k: m.LabelValueFrom(expression=v) for k, v in LABELS.items()}
        ),
        # Steps run as the image's non-root user; fsGroup makes the workspace volume theirs
        # wherever the volume's driver honours it (any CSI driver does).
        security_context=m.PodSecurityContext(
            run_as_non_root=True,
            run_as_user=STEP_UID,
            run_as_group=STEP_UID,
            fs_group=STEP_UID,
            seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
        ),
        # No step container gets a token unless it asks (`kube_api`); Argo then requires an
        # executor account, whose token only the init and wait containers mount.
        automount_service_account_token=False,
        executor=m.ExecutorConfig(service_account_name=EXECUTOR_SERVICE_ACCOUNT),
        volumes=[
            m.Volume(
                name="scratch",
                empty_dir=m.EmptyDirVolumeSource(size_limit=m.Quantity(SCRATCH_LIMIT)),
            )
        ],
        volume_claim_templates=[
            m.PersistentVolumeClaim(
                metadata=m.ObjectMeta(name="workspace"),
                spec=m.PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    resources=m.VolumeResourceRequirements(requests={"storage": m.Quantity("2Gi")}),
                ),
            )
        ],
    )


def _build_steps() -> tuple[Container, Container]:
    resolve = step(
        RESOLVE_ARTIFACT,
        ["--coordinates", wp("coordinates"), "--download-dir", "artifact"],
        secrets=("ROLLWAY_MAVEN_USERNAME", "ROLLWAY_MAVEN_PASSWORD"),
        settings=("ROLLWAY_MAVEN_URL", "ROLLWAY_MAVEN_SNAPSHOTS_URL"),
        timeout=600,
    )
    build = step(
        BUILD_IMAGE,
        [
            "--jar", inp("jar"), "--jar-sha256", inp("jar-sha256"),
            "--coordinates", inp("coordinates"),
            "--base", wp("base-image"), "--platform", wp("platform"),
            "--target", f"{wp('image-repository')}:{inp('version')}",
        ],
        inputs=("jar", "jar-sha256", "coordinates", "version"),
        secrets=("ROLLWAY_REGISTRY_USERNAME", "ROLLWAY_REGISTRY_PASSWORD"),
        settings=("ROLLWAY_REGISTRY",),
        optional=("ROLLWAY_REGISTRY_URL",),
        timeout=900,
    )  # fmt: skip
    return resolve, build


def out(source: Task, name: str) -> str:
    """Reference to an output parameter of an earlier task."""
    return f"{{{{tasks.{source.name}.outputs.parameters.{name}}}}}"


def task(
    template: Container | Suspend,
    name: str,
    arguments: dict[str, str] | None = None,
    when: str | None = None,
) -> Task:
    """A DAG task running `template` (inside a DAG context)."""
    extra: dict[str, Any] = {}
    if arguments:
        extra["arguments"] = arguments
    if when:
        extra["when"] = when
    return Task(name=name, template=template, **extra)


def _build_tasks(resolve: Container, build: Container) -> tuple[Task, Task]:
    """resolve-artifact → build-image, wired by the resolved jar's outputs (inside a DAG)."""
    r = task(resolve, RESOLVE_ARTIFACT)
    b = task(
        build,
        BUILD_IMAGE,
        arguments={
            "jar": out(r, "path"),
            "jar-sha256": out(r, "sha256"),
            "coordinates": out(r, "coordinates"),
            "version": out(r, "version"),
        },
    )
    r >> b
    return r, b


def _exit_handler() -> tuple[Container, DAG]:
    report = step(
        REPORT,
        ["--deployment-id", wp("deployment-id"), "--status", "{{workflow.status}}",
         "--failures", "{{workflow.failures}}", "--workflow", "{{workflow.name}}",
         # What the notification says of the deployment, as the API server's outbox does.
         "--app", wp("app"), "--env", wp("env"), "--coordinates", wp("coordinates")],
        optional=REPORT_OPTIONAL,
        # What it delivered (`delivered`): comma-separated targets (api, webhook), readable on
        # the workflow.
        timeout=180,  # report.BUDGET for every try, and the last try's timeouts
        retries=0,  # it retries deliveries itself, and never fails for one
    )  # fmt: skip
    with DAG(name=EXIT_HANDLER) as handler:
        task(report, REPORT)
    return report, handler


def build_template() -> WorkflowTemplate:
    """`rollway-build`: resolve the jar in Nexus, build and push its image to Harbor."""
    with _template(BUILD_TEMPLATE, BUILD_PARAMS, deadline=1800) as wt:
        resolve, build = _build_steps()
        _exit_handler()
        with DAG(name=ENTRYPOINT):
            _build_tasks(resolve, build)
    return wt


def deploy_template() -> WorkflowTemplate:
    """`rollway-deploy`: build, fetch and render the chart, apply, wait, gate, promote, wait."""
    with _template(DEPLOY_TEMPLATE, DEPLOY_PARAMS, deadline=6 * 3600) as wt:
        resolve, build = _build_steps()
        fetch = step(
            FETCH_CHART,
            ["--repo", wp("chart-repo"), "--ref", wp("chart-ref"), "--path", wp("chart-path"),
             "--dest", "chart"],
            secrets=("ROLLWAY_GIT_TOKEN",),
            optional=("ROLLWAY_GIT_URL", "ROLLWAY_CHART_REPO"),
            timeout=300,
        )  # fmt: skip
        render = step(
            RENDER,
            ["--chart", inp("chart-dir"), "--release", wp("app"), "--namespace", wp("namespace"),
             "--image", inp("image"), "--strategy", wp("strategy"), "--replicas", wp("replicas"),
             "--values-json", wp("values"), "--out", "manifests.yaml",
             "--env", wp("env"), "--analysis", wp("analysis")],
            inputs=("chart-dir", "image"),
            optional=("ROLLWAY_JUDGE_URL", "ROLLWAY_CALLBACK_URL", "ROLLWAY_KEYCLOAK_URL",
                      "ROLLWAY_KEYCLOAK_REALM", "ROLLWAY_JUDGE_CLIENT_ID", "ROLLWAY_STEP_IMAGE"),
            timeout=300,
        )  # fmt: skip
        apply = step(
            APPLY,
            ["--manifests", inp("manifests"), "--namespace", wp("namespace"),
             "--deployment-id", wp("deployment-id"), "--artifact", inp("coordinates"),
             "--jar-sha256", inp("jar-sha256"), "--image-digest", inp("digest"),
             "--chart-repo", wp("chart-repo"), "--chart-commit", inp("commit"),
             "--manifests-sha256", inp("manifests-sha256")],
            inputs=("manifests", "manifests-sha256", "coordinates", "jar-sha256", "digest",
                    "commit"),
            timeout=300,
            kube_api=True,
        )  # fmt: skip
        wait = step(
            WAIT_ROLLOUT,
            ["--namespace", wp("namespace"), "--name", inp("rollout"), "--until", inp("until"),
             "--timeout", wp("rollout-timeout")],
            inputs=("rollout", "until"),
            timeout=86400,
            retries=1,
            kube_api=True,
        )  # fmt: skip
        promote = step(
            PROMOTE,
            ["--namespace", wp("namespace"), "--name", inp("rollout")],
            inputs=("rollout",),
            timeout=120,
            kube_api=True,
        )
        approval = Suspend(name=APPROVAL)
        _exit_handler()

        with DAG(name=ENTRYPOINT):
            r, b = _build_tasks(resolve, build)
            f = task(fetch, FETCH_CHART)
            rd = task(
                render,
                RENDER,
                arguments={
                    "chart-dir": out(f, "chart-dir"),
                    "image": out(b, "image"),
                },
            )
            # Where approval is required and the release would reach traffic without pausing (a
            # rolling update, auto-promotion, a canary without `pause: {}`, a first release),
            # the plan is approved before anything is applied; the render step decides from
            # the rendered manifests, so no value or chart moves the gate past the traffic.
            before_apply = (
                f"{wp('approval-required')} == true && ({out(rd, 'gate')} == {GATE_BEFORE_APPLY}"
                f" || {wp('first-release')} == true)"
            )
            plan_gate = task(approval, PLAN_APPROVAL, when=before_apply)
            a = task(
                apply,
                APPLY,
                arguments={
                    "manifests": out(rd, "manifests"),
                    "manifests-sha256": out(rd, "manifests-sha256"),
                    "coordinates": out(r, "coordinates"),
                    "jar-sha256": out(r, "sha256"),
                    "digest": out(b, "digest"),
                    "commit": out(f, "commit"),
                },
            )
            rollout = out(a, "rollout")
            w1 = task(wait, WAIT_ROLLOUT, {"rollout": rollout, "until": "paused"})
            # The manual-judgement gate: a paused rollout (blue-green preview up, or a canary
            # pause) waits here until `app promote` / `app approve` resumes it. Who may resume it
            # (the approvals, when the environment requires them) is the API server's policy.
            paused = f"{out(w1, 'phase')} == Paused"
            gate = task(approval, APPROVAL, when=paused)
            p = task(promote, PROMOTE, {"rollout": rollout}, when=paused)
            w2 = task(wait, WAIT_HEALTHY, {"rollout": rollout, "until": "healthy"})
            b >> rd
            f >> rd
            for before, after in pairwise([rd, plan_gate, a, w1, gate, p, w2]):
                before >> after
    return wt


TEMPLATES = {BUILD_TEMPLATE: build_template, DEPLOY_TEMPLATE: deploy_template}
