"""Unit tests run without the platform (`make check`): asking for it here is a mistake."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def devstack() -> None:
    """Overrides the session fixture that starts the platform, so a unit test that needs it
    fails at once instead of starting it; such a test belongs under tests/integration."""
    pytest.fail("unit tests must not need the devstack: move this test to tests/integration")
