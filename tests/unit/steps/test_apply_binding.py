"""apply applies only the manifests the plan holds: a file changed after render is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rollway.errors import InvalidInput
from rollway.steps.apply import load_manifests

MANIFESTS = b"kind: Rollout\nmetadata: {name: hello}\n"


def test_the_rendered_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "manifests.yaml"
    path.write_bytes(MANIFESTS)
    loaded = load_manifests(path, hashlib.sha256(MANIFESTS).hexdigest())
    assert loaded == [{"kind": "Rollout", "metadata": {"name": "hello"}}]


def test_a_file_changed_since_render_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifests.yaml"
    path.write_bytes(MANIFESTS.replace(b"hello", b"other"))
    with pytest.raises(InvalidInput) as refused:
        load_manifests(path, hashlib.sha256(MANIFESTS).hexdigest())
    assert refused.value.field == "manifests-sha256"
    assert "changed since it was rendered" in refused.value.message
