"""The demo projects, hello and payments: the realm's groups (devstack/keycloak) as their
members, guardrails that fit the demo and the tests' applications. Rollway creates them at
startup (ROLLWAY_BOOTSTRAP_PROJECTS) when they are missing."""

from __future__ import annotations

import json
from typing import Any

TEAMS = ("hello", "payments")


def demo_projects(chart_repo: str) -> list[dict[str, Any]]:
    """`POST /projects` bodies; charts may come from the git server's organisation of
    `chart_repo` (the devstack's chart repository)."""
    organisation = chart_repo.rsplit("/", 1)[0] + "/"
    return [
        {
            "name": team,
            "description": f"the demo's {team} team",
            "members": {
                "viewer": [f"team-{team}"],
                "deployer": [f"{team}-deployers"],
                "approver": [f"{team}-approvers"],
                "projectAdmin": [f"{team}-admins"],
            },
            "guardrails": {
                "namespaces": [f"{team}-dev", f"{team}-prod"],
                "chartRepositories": [organisation],
                "mavenGroups": ["com.example"],
            },
        }
        for team in TEAMS
    ]


def bootstrap_setting(chart_repo: str) -> str:
    """The value of ROLLWAY_BOOTSTRAP_PROJECTS."""
    return json.dumps(demo_projects(chart_repo), separators=(",", ":"))


if __name__ == "__main__":  # scripts/demo: the setting for its own API server
    import sys

    print(bootstrap_setting(sys.argv[1]))
