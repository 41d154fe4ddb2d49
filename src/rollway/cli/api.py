"""The API server over HTTP: JSON calls and streamed logs.

Every answer that is not a success becomes a Rollway error with the CLI's exit code: a
problem+json body gives its detail and hint; a server that does not answer is named.
A 401 is retried once with a renewed token (it may have expired on the way).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..transport import Client, Response, Timeout, TransportError
from .errors import Unreachable, from_problem

if TYPE_CHECKING:
    from .session import Session

PREFIX = "/api/v1"
#: Seconds to connect, and to wait for an answer.
CONNECT_TIMEOUT, TIMEOUT = 10.0, 30.0


class Api:
    """One command's client of the API: its session's bearer token, errors as Rollway errors."""

    def __init__(self, session: Session, flags: Mapping[str, str]) -> None:
        self.session = session
        #: API field → the CLI flag it came from, to name it in errors.
        self.flags = flags
        self.http = Client(session.server + PREFIX, timeout=TIMEOUT,
                           connect_timeout=CONNECT_TIMEOUT,
                           headers={"User-Agent": f"rollway-cli/{__version__}"})  # fmt: skip

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.call("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.call("PUT", path, json=body, **kwargs).json()

    def call(self, method: str, path: str, **kwargs: Any) -> Response:
        with self._errors():
            response = self._send(method, path, **kwargs)
            if response.is_success:
                return response
            raise self._problem(response)

    def lines(self, path: str, **params: Any) -> Iterator[str]:
        """A streamed text/plain answer, line by line (`logs -f`)."""
        with self._errors(), self._stream("GET", path, params=params) as lines:
            yield from lines

    def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = kwargs.pop("headers", {})
        response = self.http.request(method, path, headers={**headers, **self._auth()}, **kwargs)
        if response.status_code == 401 and self.session.context.credentials is not None:
            renewed = {**headers, **self._auth(renew=True)}
            response = self.http.request(method, path, headers=renewed, **kwargs)
        return response

    @contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Iterator[str]]:
        headers = {**kwargs.pop("headers", {}), **self._auth()}
        with self.http.stream(method, path, headers=headers, **kwargs) as answer:
            if not answer.is_success:
                raise self._problem(answer.whole())
            yield answer.lines()

    def _auth(self, *, renew: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session.access_token(renew=renew)}"}

    def _problem(self, response: Response) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            answer = f"HTTP {response.status_code} {response.reason_phrase}"
            body = {"detail": f"the server answered {answer} to {response.path}"}
        return from_problem(response.status_code, body, self.flags)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except Timeout:
            raise Unreachable(
                f"the Rollway API server at {self.session.server} did not answer in time"
            ) from None
        except TransportError as err:
            raise Unreachable(
                f"cannot reach the Rollway API server at {self.session.server}: {err}",
                hint="check --server or the context's server (app context list)",
            ) from None
