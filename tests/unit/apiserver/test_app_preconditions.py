"""Applications' versions on a real SQLite database: every change bumps the ETag, If-Match
applies a change only to the version read, a registration with If-None-Match: * only where the
name is free; who may do what is checked before any precondition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollway.apiserver.db import Database
from rollway.apiserver.preconditions import check_if_match, etag
from rollway.apiserver.schemas.apps import AppSpec
from rollway.apiserver.services import apps
from rollway.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from tests.support.apiserver import ALICE, CAROL, ERIN, FRANK, app, sqlite_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with sqlite_database(tmp_path, "hello", "payments") as database:
        yield database


def spec(**fields: Any) -> AppSpec:
    return AppSpec.model_validate({k: v for k, v in app(**fields).items() if k != "name"})


def test_a_registration_is_version_1_and_every_change_bumps_it(db: Database) -> None:
    created, _ = apps.register(db, ALICE, "hello", spec())
    assert etag(created) == '"1"'

    changed, _ = apps.update(db, ALICE, "hello", spec(artifact="com.example:other"), '"1"')
    again, _ = apps.update(db, ALICE, "hello", spec(artifact="com.example:other"))
    assert (etag(changed), etag(again)) == ('"2"', '"3"')  # updatedAt changes, and so the ETag


def test_if_match_applies_a_change_only_to_the_version_read(db: Database) -> None:
    apps.register(db, ALICE, "hello", spec())
    apps.update(db, ALICE, "hello", spec(artifact="com.example:first"), '"1"')

    with pytest.raises(PreconditionFailed, match='its ETag is now "2"') as stale:
        apps.update(db, ALICE, "hello", spec(artifact="com.example:second"), '"1"')
    assert (stale.value.status, stale.value.field) == (412, "header.If-Match")
    with db.read() as session:
        assert apps.listing(session, ALICE)[0].artifact == "com.example:first"
    updated, _ = apps.update(db, ALICE, "hello", spec(artifact="com.example:second"), '"7", "2"')
    assert updated.artifact == "com.example:second"
    apps.update(db, ALICE, "hello", spec(), "*")


def test_authorisation_answers_before_the_precondition(db: Database) -> None:
    apps.register(db, ALICE, "hello", spec())

    with pytest.raises(NotFound, match="application 'hello' not found"):
        apps.update(db, ERIN, "hello", spec(), '"9"')  # another project's: hidden
    with pytest.raises(Forbidden, match="deployer role"):
        apps.update(db, CAROL, "hello", spec(), '"9"')  # a viewer
    with pytest.raises(Forbidden, match="deployer role"):
        apps.register_if_absent(db, FRANK, "hello", spec(project="hello"))  # no registering


def test_if_none_match_registers_only_a_free_name(db: Database) -> None:
    created, _ = apps.register_if_absent(db, ALICE, "hello", spec())
    assert (created.project, etag(created)) == ("hello", '"1"')

    with pytest.raises(PreconditionFailed, match="application 'hello' already exists") as taken:
        apps.register_if_absent(db, ALICE, "hello", spec(artifact="com.example:other"))
    assert (taken.value.status, taken.value.field) == (412, "header.If-None-Match")
    with pytest.raises(NotFound, match="project 'payments' not found"):
        apps.register_if_absent(db, ALICE, "hello", spec(project="payments"))


@pytest.mark.parametrize(
    ("header", "holds"),
    [('"4"', True), ('"1", "4"', True), (' "9" ,"4" ', True), ("*", True), ('W/"4"', False),
     ('"40"', False), ('"4', None), ("4", None), ('"4" "5"', None)],
)  # fmt: skip
def test_if_match_compares_strongly_and_names_a_malformed_header(
    header: str, holds: bool | None
) -> None:
    class Stored:
        name, version = "hello", 4

    stored: Any = Stored()
    if holds is None:
        with pytest.raises(InvalidInput, match="entity-tags") as bad:
            check_if_match(header, stored)
        assert bad.value.field == "header.If-Match"
    elif holds:
        check_if_match(header, stored)
    else:
        with pytest.raises(PreconditionFailed):
            check_if_match(header, stored)
