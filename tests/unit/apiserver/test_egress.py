"""An application's hosts against the server's settings: at registration and at every deployment."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.apiserver.schemas.apps import AppSpec
from rollway.apiserver.services import egress
from rollway.apiserver.settings import Settings
from rollway.errors import InvalidInput

SETTINGS = Settings(keycloak_url="http://kc", registry="harbor.acme:8443", git_url=None,
                    chart_repo="https://gitea.acme/platform/charts.git",
                    notification_hosts=["hooks.slack.com"])  # fmt: skip


def spec(**fields: Any) -> AppSpec:
    return AppSpec.model_validate({"chart": {"repo": "https://gitea.acme/team/charts.git"},
                                   "environments": [{"name": "dev"}],
                                   "artifact": "com.acme:orders", **fields})  # fmt: skip


def test_an_app_on_the_platforms_hosts_passes() -> None:
    egress.check_app(SETTINGS, spec(imageRepository="harbor.acme:8443/team/orders",
                                    notifications=[{"url": "https://hooks.slack.com/x"}]))  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"imageRepository": "harbor.evil:8443/team/orders"}, "body.imageRepository"),
        ({"chart": {"repo": "https://gitea.evil/team/charts.git"}}, "body.chart.repo"),
        ({"notifications": [{"url": "https://hooks.evil.com/x"}]}, "body.notifications[0].url"),
    ],
)
def test_another_host_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        egress.check_app(SETTINGS, spec(**fields))
    assert refused.value.field == field


def test_a_deployment_is_checked_again_with_todays_settings() -> None:
    parameters = {"image-repository": "harbor.acme:8443/team/orders",
                  "chart-repo": "https://gitea.acme/team/charts.git"}  # fmt: skip
    egress.check_deployment(SETTINGS, parameters)
    moved = SETTINGS.model_copy(update={"registry": "harbor.new"})
    with pytest.raises(InvalidInput) as refused:
        egress.check_deployment(moved, parameters)
    assert refused.value.field == "imageRepository"
    assert "must be under the platform registry harbor.new" in refused.value.message
