"""The API server's configuration: command-line options over `ROLLWAY_*` variables over defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..auth.tokens import ALGORITHMS, DEFAULT_CLIENTS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Where the server keeps its SQLite database and the embedded engine its journals.
    state_dir: Path = Path("rollway-state")
    #: `postgresql+psycopg://…` for PostgreSQL; SQLite under the state dir when unset.
    database_url: str | None = None

    #: `embedded` (local processes) or `argo` (Argo Server); options go to the backend.
    engine: str = "embedded"
    engine_options: dict[str, Any] = Field(default_factory=dict)

    #: Where python-keycloak reaches Keycloak; derived from the issuer when unset.
    keycloak_url: str | None = None
    keycloak_realm: str = "rollway"
    #: The `iss` tokens must carry; `<keycloak_url>/realms/<realm>` when unset.
    oidc_issuer: str | None = None
    oidc_audience: str = "rollway-api"
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    #: Keycloak clients whose tokens are accepted: a token's `azp`, when it has one, must be one
    #: of them (ROLLWAY_OIDC_ALLOWED_CLIENTS as a JSON list).
    oidc_allowed_clients: list[str] = Field(default_factory=lambda: list(DEFAULT_CLIENTS))
    oidc_leeway: int = Field(default=30, ge=0, le=300)
    #: The dashboard's public Keycloak client (authorization code with PKCE, `/ui/callback`).
    ui_client_id: str = "rollway-dashboard"
    #: Seconds a dashboard session lasts without a request.
    ui_session_idle: float = Field(default=1800.0, gt=0)
    #: Seconds before its expiry at which a session's access token is refreshed, not sent.
    ui_refresh_margin: float = Field(default=20.0, ge=0)
    #: Least seconds between two JWKS downloads (attempts, failed or not) for unknown key ids.
    oidc_jwks_refresh_interval: float = Field(default=10.0, ge=0)

    #: Largest request body accepted (413 beyond), checked before the body is read.
    max_request_body: int = Field(default=1_048_576, ge=1024)
    #: Open log and event streams: per caller, and in all (each holds a thread of its own pool).
    streams_per_user: int = Field(default=8, ge=1)
    streams_total: int = Field(default=64, ge=1)

    #: How often in-flight deployments are brought up to date from the engine.
    sync_interval: float = Field(default=1.0, gt=0)
    #: A `pending` record older than this is (re)submitted by the reconciler.
    submit_grace: float = Field(default=30.0, ge=0)
    #: A `pending` record that could not be submitted for this long is failed.
    submit_deadline: float = Field(default=600.0, gt=0)

    #: Registry the pipeline pushes to; an app's image is `<registry>/<image_project>/<app>`
    #: unless the app names its own repository.
    registry: str = "harbor.local"
    image_project: str = "rollway"
    base_image: str = "docker.io/library/eclipse-temurin:21-jre"
    #: The git server chart repositories must be on (comma-separated when it has several
    #: names); unset: the server of `chart_repo`. The git credential is sent only there.
    git_url: str | None = None
    #: The default chart repository (ROLLWAY_CHART_REPO).
    chart_repo: str | None = None
    #: Hosts the server may POST webhooks to (`host`, `host:port` or `*.domain`; a JSON list in
    #: ROLLWAY_NOTIFICATION_HOSTS). None by default: no webhook leaves the server.
    notification_hosts: list[str] = Field(default_factory=list)
    #: Prometheus the canary judge reads both sides' metrics from (ROLLWAY_PROMETHEUS_URL);
    #: unset: every judgement is inconclusive, so analyses pause for a human.
    prometheus_url: str | None = None
    #: Service accounts in this Keycloak group may ask the judge about any app (and do nothing
    #: else): the Argo Rollouts controller's client (ROLLWAY_JUDGE_GROUP).
    judge_group: str = "rollway-judges"
    #: The API server as the Argo Rollouts controller reaches it, for the judge's
    #: AnalysisTemplate in dry-run plans (the render step reads rollway-platform `judge-url`).
    judge_url: str | None = None
    judge_client_id: str = "rollway-judge"
    #: Rollway's image, run by the judge's traffic Job (rollway-platform `step-image`).
    step_image: str | None = None
    #: Kubeconfig for rollout status and actions; KUBECONFIG or in-cluster when unset.
    kubeconfig: str | None = None
    #: Projects made sure of at startup, as `POST /projects` takes them (a JSON list in
    #: ROLLWAY_BOOTSTRAP_PROJECTS): created when absent, missing members and guardrail entries
    #: added, nothing removed. The devstack's demo projects (devstack/projects.py).
    bootstrap_projects: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _state(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.state_dir / 'rollway.db'}"
        if self.engine == "embedded" and "state_dir" not in self.engine_options:
            self.engine_options["state_dir"] = str(self.state_dir / "engine")
        return self

    @model_validator(mode="after")
    def _oidc(self) -> Settings:
        if self.oidc_issuer is None and self.keycloak_url is None:
            raise ValueError("set the Keycloak URL or the OIDC issuer (ROLLWAY_OIDC_ISSUER)")
        if self.oidc_issuer is None:
            assert self.keycloak_url is not None
            self.oidc_issuer = f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"
        if self.keycloak_url is None:
            assert self.oidc_issuer is not None
            base, sep, realm = self.oidc_issuer.rstrip("/").partition("/realms/")
            if not sep or not realm:
                raise ValueError("the issuer must look like <keycloak>/realms/<realm>")
            self.keycloak_url, self.keycloak_realm = base, realm
        bad = [a for a in self.oidc_algorithms if a not in ALGORITHMS]
        if bad:
            raise ValueError(f"oidc_algorithms {bad} not allowed; choose from {ALGORITHMS}")
        return self
