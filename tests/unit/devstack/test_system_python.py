"""`scripts/devstack` runs on the machine's own Python, before any virtualenv exists."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SYSTEM_PYTHON = "/usr/bin/python3"


def test_the_devstack_command_imports_nothing_from_the_virtualenv() -> None:
    # -I: no user site, no PYTHONPATH — only the standard library and the repository's devstack/.
    done = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c",
         "import sys; sys.path.insert(0, sys.argv[1]);"
         "import devstack.cli, devstack.stack, devstack.components", str(ROOT)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
