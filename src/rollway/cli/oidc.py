"""Keycloak logins and token refresh, done by python-keycloak (imported only when needed).

Grants: device authorization (people at a terminal), password (scripts with a user), client
credentials (CI); refresh with the refresh token, or a new client-credentials token, when the
access token is about to expire.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..auth import client_credentials, oauth
from ..errors import InvalidInput, RollwayError, Unauthorized
from .config import Context, Credentials, expired
from .errors import Unreachable

if TYPE_CHECKING:
    from keycloak import KeycloakOpenID

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Keycloak's device-flow answers that mean "keep polling".
PENDING = ("authorization_pending", "slow_down")
#: Seconds a request to Keycloak may take.
TIMEOUT = 30


def keycloak_url(ctx: Context) -> str:
    if not ctx.keycloak_url:
        raise InvalidInput(
            f"context '{ctx.name}' has no Keycloak URL",
            field="--keycloak-url",
            hint="pass --keycloak-url, set ROLLWAY_KEYCLOAK_URL, or run: "
            f"app context set {ctx.name} --keycloak-url URL",
        )
    return ctx.keycloak_url.rstrip("/")


def client(ctx: Context, client_id: str, secret: str | None = None) -> KeycloakOpenID:
    from keycloak import KeycloakOpenID

    return KeycloakOpenID(
        server_url=keycloak_url(ctx),
        realm_name=ctx.realm,
        client_id=client_id,
        client_secret_key=secret,
        timeout=TIMEOUT,
    )


def password_login(ctx: Context, client_id: str, username: str, password: str) -> Credentials:
    with keycloak_errors(ctx):
        answer = client(ctx, client_id).token(username, password)
    return credentials("password", client_id, answer)


def client_credentials_login(ctx: Context, client_id: str, secret: str) -> Credentials:
    with keycloak_errors(ctx):
        url = keycloak_url(ctx)
        answer = client_credentials.token(url, ctx.realm, client_id, secret, timeout=TIMEOUT)
    return credentials("client_credentials", client_id, answer, secret=secret)


def device_login(
    ctx: Context, client_id: str, show: Callable[[dict[str, Any]], None]
) -> Credentials:
    """Start the device grant, `show` the user where to go, then poll until they approved."""
    oid = client(ctx, client_id)
    with keycloak_errors(ctx):
        grant = oid.device()
    show(grant)
    interval = float(grant.get("interval") or 5)
    deadline = time.monotonic() + float(grant.get("expires_in") or 600)
    while True:
        time.sleep(interval)
        try:
            with keycloak_errors(ctx, keep=PENDING):
                answer = oid.token(grant_type=DEVICE_GRANT, device_code=grant["device_code"])
            return credentials("device", client_id, answer)
        except _Pending as pending:
            if pending.code == "slow_down":
                interval += 5
        if time.monotonic() > deadline:
            raise Unauthorized(
                "the login code expired before it was confirmed", hint="run app login again"
            )


def refresh(ctx: Context, creds: Credentials) -> Credentials:
    """New tokens: from the refresh token, or a new client-credentials login."""
    if creds.grant == "client_credentials" and creds.client_secret:
        return client_credentials_login(ctx, creds.client_id, creds.client_secret)
    if not creds.refresh_token or expired(creds.refresh_expires_at, 0):
        raise Unauthorized(f"the session of context '{ctx.name}' expired", hint="run: app login")
    with keycloak_errors(ctx, session_ended=True):
        answer = client(ctx, creds.client_id).refresh_token(creds.refresh_token)
    return credentials(creds.grant, creds.client_id, answer)


def logout(ctx: Context, creds: Credentials) -> None:
    """End the Keycloak session behind a refresh token (client credentials have none)."""
    if creds.refresh_token and not expired(creds.refresh_expires_at, 0):
        with keycloak_errors(ctx, session_ended=True):
            client(ctx, creds.client_id).logout(creds.refresh_token)


def credentials(
    grant: str, client_id: str, answer: dict[str, Any], *, secret: str | None = None
) -> Credentials:
    now = time.time()
    refresh_in = answer.get("refresh_expires_in")
    return Credentials(
        grant=grant,
        client_id=client_id,
        access_token=answer["access_token"],
        expires_at=now + float(answer.get("expires_in") or 60),
        refresh_token=answer.get("refresh_token"),
        # Keycloak says 0 for offline tokens, which do not expire on their own.
        refresh_expires_at=now + float(refresh_in) if refresh_in else None,
        client_secret=secret,
    )


class _Pending(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


@contextmanager
def keycloak_errors(
    ctx: Context, *, keep: tuple[str, ...] = (), session_ended: bool = False
) -> Iterator[None]:
    """Turn python-keycloak's exceptions into Rollway errors naming what Keycloak said."""
    from keycloak.exceptions import KeycloakConnectionError, KeycloakError

    try:
        yield
    except KeycloakConnectionError as exc:
        raise Unreachable(
            f"cannot reach Keycloak at {keycloak_url(ctx)}: {_reason(exc)}",
            hint="check the context's Keycloak URL (app context list)",
        ) from None
    except KeycloakError as exc:
        code, description = _oauth_error(exc)
        if code in keep:
            raise _Pending(code) from None
        raise _login_error(ctx, exc.response_code, code, description, session_ended) from None


def _login_error(
    ctx: Context, status: int | None, code: str, description: str, session_ended: bool
) -> RollwayError:
    if session_ended and code == "invalid_grant":
        return Unauthorized(f"the session of context '{ctx.name}' ended ({description})",
                            hint="run: app login")  # fmt: skip
    if code in ("invalid_grant", "unauthorized_client", "invalid_client", "access_denied"):
        return Unauthorized(f"Keycloak refused the login: {description or code}")
    if code == "expired_token":
        return Unauthorized("the login code expired before it was confirmed",
                            hint="run app login again")  # fmt: skip
    if status == 404:
        return InvalidInput(
            f"Keycloak has no realm '{ctx.realm}' at {keycloak_url(ctx)}",
            field="--realm",
        )
    return Unreachable(f"Keycloak answered HTTP {status}: {description or code or 'error'}")


def _oauth_error(exc: Any) -> tuple[str, str]:
    """RFC 6749's `error` and `error_description` from Keycloak's JSON answer."""
    return oauth.error_of(exc.response_body)


def _reason(exc: BaseException) -> str:
    """Why a connection failed, from the exception and the ones it was raised from."""
    chain = ""
    seen: BaseException | None = exc
    while seen is not None:
        chain += f" {seen}"
        seen = seen.__cause__ or seen.__context__
    lowered = chain.lower()
    for marker, reason in (("refused", "connection refused"), ("timed out", "timed out"),
                           ("name or service not known", "unknown host")):  # fmt: skip
        if marker in lowered:
            return reason
    return str(exc).splitlines()[0][:200]
