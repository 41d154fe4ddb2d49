"""The API server over HTTP (httpx): JSON calls and streamed logs.

Every answer that is not a success becomes a Rollway error with the CLI's exit code: a
problem+json body gives its detail and hint; a server that does not answer is named.
A 401 is retried once with a renewed token (it may have expired on the way).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import __version__
from .errors import Unreachable, from_problem

# httpx imports its own command line (`httpx._main`: rich, pygments, click) with the library:
# half of its import time, for nothing used here. A None entry makes that import fail, which
# httpx expects (its `main` then just says the CLI is unavailable). Startup must feel instant.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

if TYPE_CHECKING:
    from .session import Session

PREFIX = "/api/v1"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: A followed log (logs -f) may be quiet for long stretches.
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=None)


class Api:
    """One command's client of the API: its session's bearer token, errors as Rollway errors."""

    def __init__(
        self,
        session: Session,
        flags: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport`: httpx's hook for another way to the server (tests answer in-process)."""
        self.session = session
        #: API field → the CLI flag it came from, to name it in errors.
        self.flags = flags
        self.http = httpx.Client(
            base_url=session.server + PREFIX,
            timeout=TIMEOUT,
            headers={"User-Agent": f"rollway-cli/{__version__}"},
            # Plain HTTP has no TLS to set up: skip loading the CA bundle, a third of a status
            # command's time. HTTPS verifies as always; redirects are not followed, so a
            # plain-HTTP client never ends up talking TLS.
            verify=not session.server.startswith("http://"),
            transport=transport,
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=_query(params)).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.call("PUT", path, json=body, **kwargs).json()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._errors():
            response = self._send(method, path, **kwargs)
            if response.is_success:
                return response
            raise self._problem(response)

    def lines(self, path: str, **params: Any) -> Iterator[str]:
        """A streamed text/plain answer, line by line (`logs -f`)."""
        with self._errors(), self._stream("GET", path, params=_query(params)) as response:
            yield from response.iter_lines()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        response = self.http.request(method, path, headers={**headers, **self._auth()}, **kwargs)
        if response.status_code == 401 and self.session.context.credentials is not None:
            renewed = {**headers, **self._auth(renew=True)}
            response = self.http.request(method, path, headers=renewed, **kwargs)
        return response

    @contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        headers = {**kwargs.pop("headers", {}), **self._auth()}
        with self.http.stream(method, path, headers=headers, timeout=STREAM_TIMEOUT,
                              **kwargs) as response:  # fmt: skip
            if not response.is_success:
                response.read()
                raise self._problem(response)
            yield response

    def _auth(self, *, renew: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session.access_token(renew=renew)}"}

    def _problem(self, response: httpx.Response) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            answer = f"HTTP {response.status_code} {response.reason_phrase}"
            body = {"detail": f"the server answered {answer} to {response.request.url.path}"}
        return from_problem(response.status_code, body, self.flags)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException:
            raise Unreachable(
                f"the Rollway API server at {self.session.server} did not answer in time"
            ) from None
        except httpx.TransportError as err:
            raise Unreachable(
                f"cannot reach the Rollway API server at {self.session.server}: {_reason(err)}",
                hint="check --server or the context's server (app context list)",
            ) from None


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _reason(err: httpx.TransportError) -> str:
    text = str(err) or type(err).__name__
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host"
    return text.splitlines()[0][:200]
