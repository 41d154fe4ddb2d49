"""The dashboard's PKCE pieces and where a login may send the browser back to."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from rollway.apiserver.ui import oidc


def test_the_challenge_is_rfc_7636s_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    assert oidc.challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_random_and_url_safe() -> None:
    first, second = oidc.new_verifier(), oidc.new_verifier()
    assert first != second and 43 <= len(first) <= 128
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_authorization_request_carries_the_challenge_not_the_verifier() -> None:
    url = oidc.authorize_url("http://kc/realms/r", "rollway-dashboard",
                             "http://127.0.0.1:8080/ui/callback", "st", "v" * 43, "n")  # fmt: skip
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/realms/r/protocol/openid-connect/auth"
    assert query["code_challenge"] == oidc.challenge("v" * 43)
    assert query["code_challenge_method"] == "S256" and "v" * 43 not in url
    assert (query["response_type"], query["state"], query["nonce"]) == ("code", "st", "n")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/ui/deployments/abc", "/ui/deployments/abc"),
        ("/ui/audit?app=hello&actor=bob", "/ui/audit?app=hello&actor=bob"),
        ("/ui", "/ui"),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/ui//evil.example", "/ui/"),
        ("/api/v1/apps", "/ui/"),
        ("/ui/\\evil", "/ui/"),
        (None, "/ui/"),
    ],
)
def test_next_is_a_page_of_the_dashboard_or_its_first_page(given: str | None, kept: str) -> None:
    assert oidc.safe_next(given) == kept
