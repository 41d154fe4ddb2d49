"""HTTP/1.1 to the API server on the standard library's `http.client`.

A command makes a handful of requests, and importing httpx and httpcore for them took 60–120 ms,
a third of `app status`. This keeps what the CLI needs of a client: a keep-alive connection per
thread (dropped when the server has closed it), connect and read timeouts, TLS verified against
the system's trust store (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured), answers read whole or
line by line, and the `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` variables (read by
urllib, imported only when one is set). Redirects are not followed: a credential goes only to
the server it was meant for.
"""

from __future__ import annotations

import base64
import json as jsonlib
import os
import select
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPMessage, HTTPResponse
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

#: Environment variables that route requests through a proxy, lower-cased.
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class TransportError(Exception):
    """The server was not reached, or the connection broke before a whole answer came; the
    message is the reason in a few words."""


class Timeout(TransportError):
    """No connection, or no answer, within the timeout."""


@dataclass(frozen=True)
class Response:
    """A whole answer. `headers` is case-insensitive; `path` is what was asked, without query."""

    status_code: int
    reason_phrase: str
    headers: HTTPMessage
    content: bytes
    path: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class Stream:
    """An answer whose body is read as it comes (a followed log)."""

    def __init__(self, answer: HTTPResponse, path: str) -> None:
        self._answer, self.path = answer, path
        self.status_code = answer.status

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def whole(self) -> Response:
        with _failures():
            content = self._answer.read()
        return Response(self.status_code, self._answer.reason, self._answer.headers, content,
                        self.path)  # fmt: skip

    def lines(self) -> Iterator[str]:
        with _failures():
            for raw in self._answer:
                yield raw.decode("utf-8", "replace").rstrip("\r\n")


@dataclass(frozen=True)
class _Proxy:
    host: str
    port: int
    headers: dict[str, str]


class _ViaProxy(HTTPConnection):
    """Plain HTTP through a proxy: each request names the whole URL and carries the proxy's
    credentials (the proxy is the peer that reads them)."""

    def __init__(self, proxy: _Proxy, origin: str, timeout: float) -> None:
        super().__init__(proxy.host, proxy.port, timeout=timeout)
        self.origin, self.proxy_headers = origin, proxy.headers


class Client:
    """Requests to one server, under `base_url`'s path."""

    def __init__(
        self, base_url: str, *, timeout: float, connect_timeout: float, headers: Mapping[str, str]
    ) -> None:
        url = urlsplit(base_url)
        self.scheme, self.host, self.prefix = url.scheme, url.hostname or "", url.path.rstrip("/")
        try:
            self.port = url.port or DEFAULT_PORTS.get(url.scheme)
        except ValueError:  # not a number: named when connecting
            self.port = None
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.headers = dict(headers)
        self._local = threading.local()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body, sent = self._body(json, headers)
        conn = self._kept()
        try:
            with _failures():
                answer = self._send(conn, method, path, params, body, sent)
                content = answer.read()
        except TransportError:
            self._forget()
            raise
        if answer.will_close:
            self._forget()
        return Response(answer.status, answer.reason, answer.headers, content, self.prefix + path)

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Stream]:
        """An answer on a connection of its own, with no read timeout: a followed log may be
        quiet for long stretches."""
        body, sent = self._body(None, headers)
        conn = self._connect(read_timeout=None)
        try:
            with _failures():
                answer = self._send(conn, method, path, params, body, sent)
            yield Stream(answer, self.prefix + path)
        finally:
            conn.close()

    def _body(
        self, json: Any, headers: Mapping[str, str] | None
    ) -> tuple[bytes | None, dict[str, str]]:
        sent = {**self.headers, **(headers or {})}
        if json is None:
            return None, sent
        sent["Content-Type"] = "application/json"
        return jsonlib.dumps(json).encode(), sent

    def _send(
        self,
        conn: HTTPConnection,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        headers: dict[str, str],
    ) -> HTTPResponse:
        target = self.prefix + path
        query = {k: _text(v) for k, v in (params or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query)
        if isinstance(conn, _ViaProxy):
            target, headers = conn.origin + target, {**headers, **conn.proxy_headers}
        conn.request(method, target, body=body, headers=headers)
        return conn.getresponse()

    def _kept(self) -> HTTPConnection:
        """This thread's connection, unless the server has closed it meanwhile (a kept-alive
        socket that reads as ready holds only its EOF)."""
        conn: HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None:
            if not select.select([conn.sock], [], [], 0)[0]:
                return conn
            conn.close()
        self._local.conn = conn = self._connect(read_timeout=self.timeout)
        return conn

    def _forget(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _connect(self, read_timeout: float | None) -> HTTPConnection:
        if self.scheme not in DEFAULT_PORTS or not self.host or self.port is None:
            raise TransportError("the server URL must be http:// or https://, a host and a port")
        proxy = _proxy(self.scheme, self.host, self.port)
        conn: HTTPConnection
        if self.scheme == "https":
            import ssl
            from http.client import HTTPSConnection

            host, port = (proxy.host, proxy.port) if proxy else (self.host, self.port)
            conn = HTTPSConnection(host, port, timeout=self.connect_timeout,
                                   context=ssl.create_default_context())  # fmt: skip
            if proxy:
                conn.set_tunnel(self.host, self.port, headers=proxy.headers)
        elif proxy:
            origin = f"http://{_authority(self.host, self.port)}"
            conn = _ViaProxy(proxy, origin, self.connect_timeout)
        else:
            conn = HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        with _failures():
            conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(read_timeout)
        return conn


def _proxy(scheme: str, host: str, port: int) -> _Proxy | None:
    """The proxy the environment routes `scheme://host:port` through, if any."""
    if not any(name.lower() in PROXY_VARIABLES for name in os.environ):
        return None
    import urllib.request

    if urllib.request.proxy_bypass(_authority(host, port)):
        return None
    proxies = urllib.request.getproxies_environment()
    found = proxies.get(scheme) or proxies.get("all")
    if not found:
        return None
    url = urlsplit(found if "://" in found else f"http://{found}")
    if url.scheme != "http" or not url.hostname:
        raise TransportError(f"the proxy for {scheme} must be an http:// URL")
    headers = {}
    if url.username is not None:
        login = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(login).decode()
    return _Proxy(url.hostname, url.port or 80, headers)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _text(value: Any) -> str:
    """A query value as httpx wrote it (`true`, not `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@contextmanager
def _failures() -> Iterator[None]:
    """Socket, TLS and protocol failures as a TransportError with the reason in a few words."""
    try:
        yield
    except TimeoutError:
        raise Timeout("timed out") from None
    except ConnectionRefusedError:
        raise TransportError("connection refused") from None
    except socket.gaierror:
        raise TransportError("unknown host") from None
    except HTTPException as err:
        raise TransportError(f"the connection broke ({type(err).__name__})") from None
    except OSError as err:
        reason = getattr(err, "verify_message", None) or err.strerror or str(err)
        raise TransportError(str(reason).splitlines()[0][:200] or type(err).__name__) from None
