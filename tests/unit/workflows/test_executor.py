"""The local executor's mapping of container paths to the workflow's directories."""

from __future__ import annotations

from rollway.workflows.engine.executor import map_path


def test_a_local_path_under_a_mount_point_is_not_mapped_twice() -> None:
    """A step's output is a local path; under /tmp it must not be taken for the /tmp mount."""
    mapping = {"/workspace": "/tmp/e/volumes/workspace", "/tmp": "/tmp/e/volumes/scratch"}
    assert map_path("/workspace/a.jar", mapping) == "/tmp/e/volumes/workspace/a.jar"
    assert map_path("/tmp/e/volumes/workspace/a.jar", mapping) == "/tmp/e/volumes/workspace/a.jar"
    assert map_path("/tmp/x", mapping) == "/tmp/e/volumes/scratch/x"
