"""Who may see and act on which application.

Non-admins see only applications one of their groups owns; anything else answers 404, so other
teams' applications are not even disclosed. Seeing an application and lacking the role for an
action answers 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from ...auth import Capability, Principal
from ...errors import Forbidden, NotFound
from ..models import Application, AppOwner

ACTIONS = {
    Capability.READ: "read",
    Capability.DEPLOY: "deploy or operate",
    Capability.APPROVE: "approve or reject",
}


def require(principal: Principal, capability: Capability) -> None:
    if not principal.can(capability):
        needed = " or ".join(sorted(capability.grants))
        raise Forbidden(f"the {needed} role is needed to {ACTIONS[capability]}")


def app_for(session: Session, principal: Principal, name: str) -> Application:
    """The application, if the caller may see it; else NotFound."""
    app = session.get(Application, name)
    if app is None or not principal.owns(app.owning_groups):
        raise NotFound(f"application '{name}' not found", field="app")
    return app


def visible(principal: Principal, app: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """A SQL condition: `app` names an application the caller sees (always true for admins)."""
    if principal.is_admin:
        return true()
    owned = select(AppOwner.app).where(AppOwner.group.in_(sorted(principal.groups)))
    return app.in_(owned)


def may_own(principal: Principal, groups: Iterable[str]) -> None:
    """A non-admin may register or hand an application only to groups they belong to."""
    foreign = sorted(set(groups) - principal.groups)
    if foreign and not principal.is_admin:
        raise Forbidden(f"you are not a member of {', '.join(foreign)}", field="body.owningGroups")
