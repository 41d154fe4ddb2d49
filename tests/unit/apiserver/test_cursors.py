"""Opaque pagination cursors and problem field names."""

from __future__ import annotations

import pytest

from rollway.apiserver.problems import field_name
from rollway.apiserver.services.deployments import decode_cursor, encode_cursor, new_id
from rollway.errors import InvalidInput
from rollway.validation import DNS1123_LABEL


def test_cursors_round_trip() -> None:
    assert decode_cursor(encode_cursor(123456)) == 123456


@pytest.mark.parametrize(
    "cursor", ["", "!!!", "c2VxOi0x", "Zm9vOjE", "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5"]
)
def test_foreign_cursors_are_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_cursor(cursor)
    assert err.value.field == "query.cursor"


def test_field_names() -> None:
    assert field_name(("body", "environments", 0, "policy", "windows", 2)) == (
        "body.environments[0].policy.windows[2]"
    )
    assert field_name(("query", "limit")) == "query.limit"


def test_deployment_ids_are_dns_labels_even_for_long_names() -> None:
    for app, env in (("hello", "dev"), ("a" * 63, "b" * 63), ("x-", "-y")):
        assert DNS1123_LABEL.match(new_id(app, env)), (app, env)
        assert len(new_id(app, env)) <= 63
