"""Git smart-HTTP server standing in for Gitea: `git http-backend` behind Gitea-style auth.

Run as `python3 -m devstack.servers.git_server --root DIR --port N --user NAME`. The password and
the access token come from DEVSTACK_GIT_PASSWORD and DEVSTACK_GIT_TOKEN, so they never show in
`ps`; the `git` children start from a fresh environment that does not hold them.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import io
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, cast

#: Gitea's clone URL shape, `/<org>/<repo>.git/…`; names start with a letter or digit, so no `..`.
REPO_PATH = re.compile(r"/[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*\.git(/[\w./-]*)?")
BLOCK = 64 * 1024


class GitHTTPServer(ThreadingHTTPServer):
    """Holds the credentials and the clean environment every `git http-backend` starts from."""

    def __init__(self, address: tuple[str, int], root: str, user: str, password: str, token: str):
        super().__init__(address, GitHandler)
        self.user, self.password, self.token = user, password, token
        # No system or user git config: the server behaves the same on every machine.
        self.base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": root,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": root,
            "GIT_HTTP_EXPORT_ALL": "1",
        }

    def authenticate(self, header: str) -> str | None:
        """The user an Authorization header proves, the way Gitea reads it; None if it proves none.

        Accepted: basic auth with the bot's password, basic auth with the access token as password
        (any user name), and `token <T>` / `bearer <T>`. Every form acts as the bot user.
        """
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() in ("token", "bearer"):
            return self.user if _same(value, self.token) else None
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if _same(password, self.token) or (user == self.user and _same(password, self.password)):
            return self.user
        return None


class GitHandler(BaseHTTPRequestHandler):
    """One request: check path and credentials, then run `git http-backend` as a CGI script."""

    protocol_version = "HTTP/1.1"  # keep-alive, as git's curl expects
    timeout = 300  # seconds an idle or stalled connection may hold a thread
    disable_nagle_algorithm = True  # small CGI writes would otherwise wait 40 ms for delayed ACKs
    server: GitHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        if not REPO_PATH.fullmatch(path):
            self._reply(404, "Not Found", {})
            return
        if not self.headers.get("Content-Length", "0").isdigit():
            self._reply(400, "Bad Request: Content-Length is not a number", {})
            return
        user = self.server.authenticate(self.headers.get("Authorization", ""))
        if user is None:
            self._reply(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="Gitea"'})
            return
        self._run_backend(path, query, user)

    def _reply(self, code: int, text: str, headers: dict[str, str]) -> None:
        """A short error answer; the connection closes because the request body was not read."""
        body = f"{text}\n".encode()
        self.send_response(code)
        for key, value in {**headers, "Content-Type": "text/plain", "Connection": "close"}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _run_backend(self, path: str, query: str, user: str) -> None:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        length = None if chunked else self.headers.get("Content-Length")
        env = {
            **self.server.base_env,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_USER": user,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
        }
        # Without CONTENT_LENGTH (a chunked body) http-backend reads its input up to EOF.
        if length is not None:
            env["CONTENT_LENGTH"] = length
        # http-backend inflates gzip bodies and turns Git-Protocol into GIT_PROTOCOL itself.
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in self.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        proc = subprocess.Popen(
            ["git", "http-backend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        stdin, stdout = cast(IO[bytes], proc.stdin), cast(io.BufferedReader, proc.stdout)
        # Feed the body from another thread so a backend that answers while reading cannot block.
        feeder = threading.Thread(
            target=self._feed, args=(stdin, int(length or 0), chunked), daemon=True
        )
        feeder.start()
        client_left = False
        try:
            self._relay(stdout)
        except ConnectionError:  # e.g. a probe that reads the status only; the backend then fails
            client_left = self.close_connection = True
        finally:
            stdout.close()  # first: a backend still writing fails, and cannot block the feeder
            if proc.wait() != 0 and not client_left:
                self.log_error("git http-backend exited with %d for %s", proc.returncode, path)
            feeder.join()

    def _feed(self, sink: IO[bytes], length: int, chunked: bool) -> None:
        """Copy the request body (plain or chunked) into the backend's stdin, then close it."""
        try:
            for block in _chunks(self.rfile) if chunked else _exactly(self.rfile, length):
                sink.write(block)
        except (OSError, ValueError):
            self.close_connection = True  # the rest of the body may still be on the socket
        finally:
            with contextlib.suppress(BrokenPipeError):
                sink.close()

    def _relay(self, out: io.BufferedReader) -> None:
        """Turn the CGI answer (headers, blank line, body) into an HTTP response, streaming it."""
        code, reason, headers = 200, "", []
        while line := out.readline():
            key, _, value = line.rstrip(b"\r\n").decode("latin-1").partition(":")
            if not key:
                break  # the blank line ending the headers
            if key.lower() == "status":
                status, _, reason = value.strip().partition(" ")
                code = int(status)
            else:
                headers.append((key, value.strip()))
        else:
            self._reply(502, "Bad Gateway: git http-backend ended before its headers", {})
            return
        sized = any(key.lower() == "content-length" for key, _ in headers)
        chunk = not sized and self.request_version == "HTTP/1.1"
        self.send_response(code, reason or None)
        for key, value in headers:
            self.send_header(key, value)
        if chunk:
            self.send_header("Transfer-Encoding", "chunked")
        elif not sized:
            self.close_connection = True  # an HTTP/1.0 client: the end of the body is the close
        self.end_headers()
        while block := out.read1(BLOCK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunk else block)
        if chunk:
            self.wfile.write(b"0\r\n\r\n")


def _exactly(rfile: io.BufferedIOBase, length: int) -> Iterator[bytes]:
    while length > 0:
        block = rfile.read(min(BLOCK, length))
        if not block:
            raise ConnectionError("request body ended early")
        length -= len(block)
        yield block


def _chunks(rfile: io.BufferedIOBase) -> Iterator[bytes]:
    """Decode `Transfer-Encoding: chunked`, which git uses for bodies over http.postBuffer."""
    while size := int(rfile.readline().split(b";")[0].strip() or b"0", 16):
        yield from _exactly(rfile, size)
        rfile.readline()  # the CRLF after each chunk
    while rfile.readline().strip():  # trailers, up to the blank line
        pass


def _same(given: str, secret: str) -> bool:
    return hmac.compare_digest(given.encode(), secret.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="directory holding <org>/<repo>.git")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", required=True, help="the only user name with a password")
    args = parser.parse_args()
    try:
        password = os.environ.pop("DEVSTACK_GIT_PASSWORD")
        token = os.environ.pop("DEVSTACK_GIT_TOKEN")
    except KeyError as err:
        parser.error(f"{err.args[0]} must be set in the environment")
    root = os.path.abspath(args.root)
    server = GitHTTPServer((args.host, args.port), root, args.user, password, token)
    print(f"git server on http://{args.host}:{args.port}, repos in {root}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
