"""HTTP/1.1 on a socket, for the CLI's requests to the API server and the build step's to a
registry.

Both are short-lived processes that make a handful of requests. Importing httpx and httpcore
for them took 60–120 ms, a third of `app status` and a fifth of an image rebuild, and the
standard library's `http.client` still costs 25–35 ms (it loads the email parser and TLS
whether or not they are used). Their needs are small, so this speaks the protocol itself: a
keep-alive connection per thread (dropped when the server has closed it), connect and read
timeouts, request bodies whole, streamed with their length or chunked, answers sized by
Content-Length, chunks or the end of the connection, read whole, in blocks or line by line, TLS
(imported only for https) verified against the caller's trust store or the system's
(`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured), and the `HTTPS_PROXY` / `HTTP_PROXY` /
`ALL_PROXY` / `NO_PROXY` variables (read by urllib, imported only when one is set). Redirects
are not followed here: a credential goes only to the server it was meant for, and a caller that
follows one decides where.
"""

from __future__ import annotations

import base64
import contextlib
import json as jsonlib
import os
import select
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from io import BufferedReader
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit

if TYPE_CHECKING:  # imported only for https
    import ssl

#: Environment variables that route requests through a proxy, lower-cased.
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Longest status or header line, and most header lines, an answer may have.
MAX_LINE, MAX_HEADERS = 65536, 200
#: Seconds to wait for the answer of a server that stopped reading a request's body.
EARLY_ANSWER_WAIT = 5.0
_READ = 65536


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class TransportError(Exception):
    """The server was not reached, or the connection broke before a whole answer came; the
    message is the reason in a few words."""


class Timeout(TransportError):
    """No connection, or no answer, within the timeout."""


class _SourceFailed(Exception):
    """A request body's own source failed, not the connection: raised again as it was."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class Headers:
    """An answer's header fields by case-insensitive name (repeated ones joined by commas)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = dict(fields)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name.lower(), default)


@dataclass(frozen=True)
class Response:
    """A whole answer; `path` is what was asked, without the query."""

    status_code: int
    reason_phrase: str
    headers: Headers
    content: bytes
    path: str

    @property
    def is_success(self) -> bool:
        return _success(self.status_code)

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _Answer:
    """An answer's head, and its body as it comes off the connection."""

    def __init__(self, reader: BufferedReader, method: str) -> None:
        self.reader = reader
        self.status, self.reason, self.version, self.headers = _head(reader)
        encoding = (self.headers.get("transfer-encoding") or "").lower()
        length = self.headers.get("content-length")
        self.chunked = encoding.endswith("chunked")
        self.length: int | None = None
        if method == "HEAD" or self.status in (204, 304):
            self.length, self.chunked = 0, False  # no body, whatever the head says
        elif not self.chunked and length is not None:
            if not length.strip().isdigit():
                raise TransportError("the server sent a malformed Content-Length")
            self.length = int(length)
        connection = (self.headers.get("connection") or "").lower()
        self.will_close = (
            "close" in connection
            or (self.version == "HTTP/1.0" and "keep-alive" not in connection)
            or (not self.chunked and self.length is None)  # the body ends with the connection
        )

    def blocks(self) -> Iterator[bytes]:
        """The body, in pieces as they arrive."""
        if self.chunked:
            yield from self._chunks()
        elif self.length is not None:
            left = self.length
            while left:
                block = self.reader.read1(min(left, _READ))
                if not block:
                    raise TransportError("the connection broke mid-answer")
                left -= len(block)
                yield block
        else:
            while block := self.reader.read1(_READ):
                yield block

    def read(self) -> bytes:
        return b"".join(self.blocks())

    def _chunks(self) -> Iterator[bytes]:
        while True:
            size_line = _line(self.reader).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise TransportError("the server sent a malformed chunk") from None
            if size == 0:
                while _line(self.reader).strip():  # trailers, then the empty line
                    pass
                return
            data = self.reader.read(size)
            if len(data) < size or _line(self.reader).strip():
                raise TransportError("the connection broke mid-answer")
            yield data


class Stream:
    """An answer whose body is read as it comes (a followed log)."""

    def __init__(self, answer: _Answer, path: str) -> None:
        self._answer, self.path = answer, path
        self.status_code, self.headers = answer.status, answer.headers

    @property
    def is_success(self) -> bool:
        return _success(self.status_code)

    def whole(self) -> Response:
        with _failures():
            content = self._answer.read()
        answer = self._answer
        return Response(answer.status, answer.reason, answer.headers, content, self.path)

    def blocks(self) -> Iterator[bytes]:
        """The body in pieces as they arrive."""
        with _failures():
            yield from self._answer.blocks()

    def lines(self) -> Iterator[str]:
        pending = b""
        with _failures():
            for block in self._answer.blocks():
                *complete, pending = (pending + block).split(b"\n")
                for line in complete:
                    yield line.rstrip(b"\r").decode("utf-8", "replace")
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")


@dataclass(frozen=True)
class _Proxy:
    host: str
    port: int
    headers: dict[str, str]


class _Connection:
    """One socket to the server (or through a proxy to it) and its buffered reader."""

    def __init__(self, sock: socket.socket, via_proxy: _Proxy | None) -> None:
        self.sock, self.reader = sock, sock.makefile("rb")
        #: Plain HTTP through a proxy: requests name the whole URL and carry its credentials.
        self.via_proxy = via_proxy

    def stale(self) -> bool:
        """A kept-alive socket that reads as ready holds only the server's EOF (a closed one is
        no use either)."""
        return self.sock.fileno() == -1 or bool(select.select([self.sock], [], [], 0)[0])

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes a thread still reading from it
            self.sock.shutdown(socket.SHUT_RDWR)
        self.reader.close()
        self.sock.close()


#: A request body: whole, or pieces sent as they come (with a Content-Length header the caller
#: sets, else chunked).
Content = bytes | Iterable[bytes]


class Client:
    """Requests to one server, under `base_url`'s path; `trust`: the certificates an https
    server is verified against, else the system's."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        headers: Mapping[str, str],
        trust: ssl.SSLContext | None = None,
    ) -> None:
        url = urlsplit(base_url)
        self.scheme, self.host, self.prefix = url.scheme, url.hostname or "", url.path.rstrip("/")
        try:
            self.port = url.port or DEFAULT_PORTS.get(url.scheme)
        except ValueError:  # not a number: named when connecting
            self.port = None
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.headers = dict(headers)
        self.trust = trust
        self._local = threading.local()
        self._kept_lock = threading.Lock()
        self._all_kept: set[_Connection] = set()  # every thread's, for close()

    def close(self) -> None:
        """Close every thread's kept connection."""
        with self._kept_lock:
            kept, self._all_kept = self._all_kept, set()
        for conn in kept:
            conn.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        conn = self._kept()
        try:
            with _failures():
                answer = self._send(conn, method, path, params, json, headers, content)
                received = answer.read()
        except _SourceFailed as failed:  # the exchange is cut: its connection goes
            self._forget()
            raise failed.error from None
        except BaseException:
            self._forget()
            raise
        if answer.will_close:
            self._forget()
        return Response(answer.status, answer.reason, answer.headers, received, self._path(path))

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> Iterator[Stream]:
        """An answer on a connection of its own, with no read timeout unless one is given: a
        followed log may be quiet for long stretches."""
        conn = self._connect(read_timeout=read_timeout)
        try:
            with _failures():
                answer = self._send(conn, method, path, params, None, headers)
            yield Stream(answer, self._path(path))
        finally:
            conn.close()

    def _send(
        self,
        conn: _Connection,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        content: Content | None = None,
    ) -> _Answer:
        assert self.port is not None
        target = self.prefix + path
        query = {k: _text(v) for k, v in (params or {}).items() if v is not None}
        if query:
            target += ("&" if "?" in target else "?") + urlencode(query)
        if any(c <= " " or c == "\x7f" for c in target):
            raise TransportError("the request's path holds a space or a control character")
        # The port only when it is not the scheme's own: signed URLs (object storage) sign the
        # Host as their URL names it.
        host = _authority(self.host, self.port)
        if self.port == DEFAULT_PORTS.get(self.scheme):
            host = host.rsplit(":", 1)[0]
        fields = {"Host": host, **self.headers, **(headers or {})}
        if conn.via_proxy is not None:
            target = f"http://{fields['Host']}{target}"
            fields.update(conn.via_proxy.headers)
        body, pieces = b"", None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            fields["Content-Type"] = "application/json"
        elif isinstance(content, bytes):
            body = content
        elif content is not None:
            pieces = content
        chunked = pieces is not None and not any(k.lower() == "content-length" for k in fields)
        if chunked:
            fields["Transfer-Encoding"] = "chunked"
        elif pieces is None and (body or method in ("POST", "PUT", "PATCH")):
            fields["Content-Length"] = str(len(body))
        declared = None if chunked or pieces is None else _declared_length(fields)
        try:
            conn.sock.sendall(_head_bytes(f"{method} {target} HTTP/1.1", fields) + body)
            sent = 0
            for piece in _pieces(pieces or ()):
                if piece:
                    conn.sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                    sent += len(piece)
            if chunked:
                conn.sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return _early_answer(conn, method)
        if declared is not None and sent != declared:
            raise TransportError(f"the request body was {sent} bytes, not the {declared} declared")
        return _Answer(conn.reader, method)

    def _path(self, path: str) -> str:
        """What was asked, for messages: never its query (a signed URL's, an upload's state)."""
        return self.prefix + path.split("?", 1)[0]

    def _kept(self) -> _Connection:
        """This thread's connection, or a new one if there is none or the server closed it."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.stale():
            return conn
        self._forget()  # before connecting: a refused connect leaves no closed one kept
        self._local.conn = conn = self._connect(read_timeout=self.timeout)
        with self._kept_lock:
            self._all_kept.add(conn)
        return conn

    def _forget(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with self._kept_lock:
                self._all_kept.discard(conn)
            conn.close()
            self._local.conn = None

    def _connect(self, read_timeout: float | None) -> _Connection:
        if self.scheme not in DEFAULT_PORTS or not self.host or self.port is None:
            raise TransportError("the server URL must be http:// or https://, a host and a port")
        proxy = _proxy(self.scheme, self.host, self.port)
        with _failures():
            peer = (proxy.host, proxy.port) if proxy else (self.host, self.port)
            sock = socket.create_connection(peer, timeout=self.connect_timeout)
            try:
                if self.scheme == "https":
                    if proxy:
                        _tunnel(sock, _authority(self.host, self.port), proxy)
                    context = self.trust or _default_trust()
                    sock = context.wrap_socket(sock, server_hostname=self.host)
                sock.settimeout(read_timeout)
            except BaseException:
                sock.close()
                raise
        return _Connection(sock, proxy if proxy and self.scheme == "http" else None)


def _declared_length(fields: Mapping[str, str]) -> int | None:
    for name, value in fields.items():
        if name.lower() == "content-length":
            return int(value)
    return None


def _early_answer(conn: _Connection, method: str) -> _Answer:
    """The answer a server sent before it stopped reading the body (a 413, a 401), which says
    more than the broken pipe; the connection goes with it."""
    conn.sock.settimeout(EARLY_ANSWER_WAIT)
    try:
        answer = _Answer(conn.reader, method)
    except (OSError, TransportError):
        raise TransportError("the connection broke (the server closed it)") from None
    answer.will_close = True
    return answer


def _pieces(source: Iterable[bytes]) -> Iterator[bytes]:
    """`source`'s pieces; its own failure (a file read, a writer gone) told from the socket's."""
    pieces = iter(source)
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            return
        except Exception as err:
            raise _SourceFailed(err) from err
        yield piece


def _default_trust() -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context()


def _tunnel(sock: socket.socket, authority: str, proxy: _Proxy) -> None:
    """Ask the proxy for a tunnel to `authority` (CONNECT), for TLS end to end through it."""
    sock.sendall(_head_bytes(f"CONNECT {authority} HTTP/1.1",
                             {"Host": authority, **proxy.headers}))  # fmt: skip
    with sock.makefile("rb", buffering=0) as reader:  # unbuffered: TLS reads on after it
        status, reason, _, _ = _head(reader)
    if status != 200:
        raise TransportError(f"the proxy refused a tunnel to {authority} ({status} {reason})")


def _head_bytes(start: str, fields: Mapping[str, str]) -> bytes:
    lines = [start]
    for name, value in fields.items():
        if any(c in value for c in "\r\n\0") or not name.isascii() or ":" in name:
            raise TransportError(f"the request's {name} header is not a valid header")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _head(reader: _Lines) -> tuple[int, str, str, Headers]:
    """Status, reason, protocol version and fields of an answer (informational ones skipped)."""
    while True:
        start = _line(reader).decode("latin-1").rstrip("\r\n")
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
            raise TransportError(f"the server did not answer in HTTP ({start[:40]!r})")
        fields: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = _line(reader).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            key = name.strip().lower()
            fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
        else:
            raise TransportError("the server sent too many header lines")
        if not 100 <= int(code) < 200:
            return int(code), reason or _reason(int(code)), version, Headers(fields)


def _line(reader: _Lines) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if not line:
        raise TransportError("the connection broke (the server closed it)")
    if len(line) > MAX_LINE:
        raise TransportError("the server sent a line too long")
    return line


def _reason(code: int) -> str:
    """The standard phrase of a status an answer left without one (HTTP/2 proxies do)."""
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


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


def _success(status: int) -> bool:
    return 200 <= status < 300


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _text(value: Any) -> str:
    """A query value as httpx wrote it (`true`, not `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@contextmanager
def _failures() -> Iterator[None]:
    """Socket and TLS failures as a TransportError with the reason in a few words."""
    try:
        yield
    except TimeoutError:
        raise Timeout("timed out") from None
    except ConnectionRefusedError:
        raise TransportError("connection refused") from None
    except socket.gaierror:
        raise TransportError("unknown host") from None
    except (ConnectionResetError, BrokenPipeError):
        raise TransportError("the connection broke (the server closed it)") from None
    except OSError as err:
        reason = getattr(err, "verify_message", None) or err.strerror or str(err)
        raise TransportError(str(reason).splitlines()[0][:200] or type(err).__name__) from None
