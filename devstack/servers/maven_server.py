"""A Maven repository over HTTP in Nexus' path layout, standing in for Nexus in devstack.

Serves `/repository/<repo>/<path>` for the hosted repositories found under `--root`, with HTTP
basic auth (password from the environment variable MAVEN_SERVER_PASSWORD, never argv). GET and
HEAD stream files; PUT stores them atomically the way `mvn deploy` uploads. Like Nexus' default
write policy, release assets cannot be overwritten (metadata can).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import email.utils
import hmac
import os
import sys
import tempfile
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PASSWORD_ENV = "MAVEN_SERVER_PASSWORD"
REPOSITORIES = ("maven-releases", "maven-snapshots")
REALM = "Sonatype Nexus Repository Manager"
CONTENT_TYPES = {
    ".jar": "application/java-archive",
    ".pom": "application/xml",
    ".xml": "application/xml",
    ".md5": "text/plain",
    ".sha1": "text/plain",
    ".sha256": "text/plain",
    ".sha512": "text/plain",
}
CHUNK = 1 << 20


class BadPath(ValueError):
    """The request path names no hosted repository (404) or tries to leave it (400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class MavenHandler(BaseHTTPRequestHandler):
    """One request; the server object carries the root directory and credentials."""

    server: MavenServer
    protocol_version = "HTTP/1.1"  # keep-alive, as Maven's HTTP transport expects

    # -- methods ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_PUT(self) -> None:
        if not self._authorized():
            self._discard_body()
            return self._deny()
        try:
            repo, target = self._resolve()
        except BadPath as err:
            self._discard_body()
            return self._reply(err.status, str(err))
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            return self._reply(411, "Content-Length required")
        if target.is_dir():
            self._discard_body()
            return self._reply(400, "path names a directory")
        if repo == "maven-releases" and target.exists() and not _is_metadata(target):
            self._discard_body()
            return self._reply(400, f"Repository does not allow updating assets: {repo}")
        try:
            self._store(target, int(length))
        except (NotADirectoryError, FileExistsError):
            self.close_connection = True
            return self._reply(409, "a parent of this path is a file")
        self._reply(201, "")

    def handle_expect_100(self) -> bool:
        """Refuse an unauthenticated upload before its body is sent."""
        if self._authorized():
            return super().handle_expect_100()
        self.close_connection = True
        self._deny()
        return False

    # -- helpers ------------------------------------------------------------------------------

    def _serve(self, *, body: bool) -> None:
        if not self._authorized():
            return self._deny()
        try:
            _, target = self._resolve()
        except BadPath as err:
            return self._reply(err.status, str(err))
        try:
            handle = target.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return self._reply(404, "not found")
        with handle:
            stat = os.fstat(handle.fileno())
            self.send_response(200)
            self.send_header(
                "Content-Type", CONTENT_TYPES.get(target.suffix, "application/octet-stream")
            )
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
            self.end_headers()
            if body:
                try:
                    self.connection.sendfile(handle)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    self.close_connection = True

    def _resolve(self) -> tuple[str, Path]:
        """Map the URL path to a file under its repository, refusing anything that escapes it."""
        raw = urllib.parse.urlsplit(self.path).path
        parts = urllib.parse.unquote(raw).split("/")
        if parts[:2] != ["", "repository"] or len(parts) < 3 or parts[2] not in REPOSITORIES:
            raise BadPath(404, f"no such repository: {raw}")
        rest = parts[3:-1] if parts[-1] == "" else parts[3:]  # a trailing slash names a directory
        if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in rest):
            raise BadPath(400, f"invalid path: {raw}")
        base = (self.server.root / parts[2]).resolve()
        target = base.joinpath(*rest)
        if not target.resolve().is_relative_to(base):
            raise BadPath(400, f"invalid path: {raw}")
        return parts[2], target

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.server.user.encode()) & hmac.compare_digest(
            password.encode(), self.server.password.encode()
        )

    def _deny(self) -> None:
        self._reply(401, "authentication required", {"WWW-Authenticate": f'BASIC realm="{REALM}"'})

    def _reply(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _discard_body(self) -> None:
        """Read an unwanted upload so the connection stays usable for the client's retry."""
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            return
        remaining = int(length)
        while remaining > 0:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def _store(self, target: Path, length: int) -> None:
        """Write to a temp file beside the target and rename, so readers never see half a file."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(CHUNK, remaining))
                    if not chunk:
                        raise ConnectionError("upload ended early")
                    out.write(chunk)
                    remaining -= len(chunk)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _is_metadata(path: Path) -> bool:
    return path.name.startswith("maven-metadata.xml")


class MavenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path, user: str, password: str) -> None:
        super().__init__(address, MavenHandler)
        self.root = root
        self.user = user
        self.password = password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, required=True, help="directory holding the repositories"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        print(f"maven_server: set {PASSWORD_ENV}", file=sys.stderr)
        return 2
    root = args.root.resolve()
    for repo in REPOSITORIES:
        (root / repo).mkdir(parents=True, exist_ok=True)
    server = MavenServer((args.host, args.port), root, args.user, password)
    print(f"maven_server: serving {root} on http://{args.host}:{args.port}/repository/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
