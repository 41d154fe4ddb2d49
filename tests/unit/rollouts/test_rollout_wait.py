"""The parts of waiting that need no cluster: input checks (an abort or retry: test_rollout_abort)."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.errors import InvalidInput
from rollway.rollouts import wait_for_phase


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"namespace": "Shop"}, "namespace", "DNS-1123"),
        ({"name": ""}, "name", "must not be empty"),
        ({"until": ("Healthy", "Done")}, "until", "Done is not a phase"),
        ({"until": ()}, "until", "nothing is not a phase"),
        ({"timeout": 0}, "timeout", "more than 0"),
    ],
)
def test_bad_input_is_refused_before_any_api_call(
    kwargs: dict[str, Any], field: str, message: str
) -> None:
    args: dict[str, Any] = {"namespace": "shop", "name": "web"} | kwargs
    with pytest.raises(InvalidInput, match=message) as caught:
        # No ApiClient and no kubeconfig needed: nothing reaches a cluster.
        wait_for_phase(None, args.pop("namespace"), args.pop("name"), **args)
    assert caught.value.field == field


def test_until_accepts_a_single_phase_name() -> None:
    with pytest.raises(InvalidInput, match="Paus is not a phase"):
        wait_for_phase(None, "shop", "web", until="Paus")
