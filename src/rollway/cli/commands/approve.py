"""`app approve` / `app reject`: decide on a deployment waiting at its approval gate."""

from __future__ import annotations

import click

from ...validation import dns_label
from ..actions import act
from ..complete import waiting_deployments
from ..session import Session, target_options


def _decide(decision: str, deployment_id: str, comment: str, plan: str | None = None) -> None:
    dns_label("DEPLOYMENT_ID", deployment_id)
    api = Session.current().api({"body.comment": "--comment", "body.plan": "--plan"})
    act(api, deployment_id, decision, {"comment": comment, **({"plan": plan} if plan else {})})


@click.command()
@click.argument("deployment_id", metavar="DEPLOYMENT_ID", shell_complete=waiting_deployments)
@click.option("--comment", "-m", default="", help="Why (kept with the decision).")
@click.option(
    "--plan",
    metavar="DIGEST",
    help="The plan you reviewed (`provenance.plan` of `app status -o json`): refused if the "
    "deployment would now ship another.",
)
@target_options
def approve(deployment_id: str, comment: str, plan: str | None) -> None:
    """Approve the plan of a deployment waiting for approval.

    Its release goes on once the environment's number of approvers approved that plan. Needs
    the approver role, and someone else than who started it.
    """
    _decide("approve", deployment_id, comment, plan)


@click.command()
@click.argument("deployment_id", metavar="DEPLOYMENT_ID", shell_complete=waiting_deployments)
@click.option("--comment", "-m", default="", help="Why (kept with the decision).")
@target_options
def reject(deployment_id: str, comment: str) -> None:
    """Reject a deployment waiting for approval: its workflow stops."""
    _decide("reject", deployment_id, comment)
