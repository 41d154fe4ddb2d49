"""Fixtures of the security suite: the API server tests' real tokens and in-process server."""

from __future__ import annotations

from tests.integration.apiserver.conftest import api, tokens  # noqa: F401 (fixtures)
