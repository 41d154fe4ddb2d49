"""Which approvals count: unexpired, for the plan at hand, one per person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollway.apiserver.models import Approval
from rollway.apiserver.services.approvals import counted

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
PLAN, OTHER = "a" * 64, "b" * 64


def approval(subject: str, plan: str = PLAN, expires_in: float = 60) -> Approval:
    return Approval(deployment_id="d", plan=plan, subject=subject, name=subject, comment="",
                    at=NOW, expires_at=NOW + timedelta(seconds=expires_in))  # fmt: skip


def test_one_person_counts_once() -> None:
    assert [a.subject for a in counted([approval("bob"), approval("bob")], PLAN, NOW)] == ["bob"]


def test_an_approval_of_another_plan_counts_for_nothing() -> None:
    found = counted([approval("bob", OTHER), approval("carol")], PLAN, NOW)
    assert [a.subject for a in found] == ["carol"]


def test_an_expired_approval_no_longer_counts() -> None:
    found = counted([approval("bob", expires_in=-1), approval("carol", expires_in=0)], PLAN, NOW)
    assert found == []


def test_without_a_plan_nothing_counts() -> None:
    assert counted([approval("bob")], None, NOW) == []
