"""Shallow fetch of one ref of a chart repository (Gitea) over HTTP(S), with a real git.

The credential reaches git as an `http.<git-server>.extraHeader` set through GIT_CONFIG_* variables
of the child's environment: never in argv or the URL, and scoped to the configured git server
(rollway.destinations), so a repository anywhere else is refused before git runs. Git follows
no redirect, and runs with a minimal environment of its own: nothing of the caller's (the API
server's database URL, an Argo token) reaches it.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from ..credentials import secret
from ..destinations import GIT_VARIABLE, Homes
from ..errors import InvalidInput, NotFound, TransientError, UpstreamError
from ..validation import no_template

TOKEN_VARIABLE = "ROLLWAY_GIT_TOKEN"
USERNAME_VARIABLE = "ROLLWAY_GIT_USERNAME"
PASSWORD_VARIABLE = "ROLLWAY_GIT_PASSWORD"
#: A branch, a tag or a full commit id; what `git check-ref-format` accepts, more strictly.
REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
T = TypeVar("T")
#: What git may inherit: where programs and CA certificates are, and the locale.
INHERITED = ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO")
_AUTH_FAILED = ("authentication failed", "could not read username", "could not read password")
_REF_MISSING = ("couldn't find remote ref", "not our ref", "unadvertised object")
_TRANSIENT = (
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection reset",
    "timed out",
    "rpc failed",
    "early eof",
    "the requested url returned error: 5",
    "the requested url returned error: 429",
)


def repo_url(value: str, field: str = "repo") -> str:
    """An http(s) clone URL without credentials in it."""
    no_template(field, value)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{value!r} is not an http(s) clone URL", field=field)
    if parts.username or parts.password:
        raise InvalidInput(
            f"must not carry credentials; set {TOKEN_VARIABLE} "
            f"(or {USERNAME_VARIABLE}/{PASSWORD_VARIABLE})",
            field=field,
        )
    return value


def git_ref(value: str, field: str = "ref") -> str:
    """A branch or tag name, or a full commit id (never something git would read as an option)."""
    no_template(field, value)
    if not REF.match(value) or ".." in value or value.endswith((".lock", "/", ".")):
        raise InvalidInput(
            f"{value!r} is not a branch, tag or commit id (letters, digits, '.', '_', '-', '/')",
            field=field,
        )
    return value


def auth_header(environ: Mapping[str, str] | None = None) -> str | None:
    """`Authorization: Basic …` from ROLLWAY_GIT_TOKEN (Gitea takes a token as the password of any
    user) or ROLLWAY_GIT_USERNAME/PASSWORD; None when neither is set (anonymous)."""
    token = secret(TOKEN_VARIABLE, environ)
    username = secret(USERNAME_VARIABLE, environ)
    password = token or secret(PASSWORD_VARIABLE, environ)
    if not password:
        return None
    if not username and not token:
        raise InvalidInput(f"must be set with {PASSWORD_VARIABLE}", field=USERNAME_VARIABLE)
    basic = base64.b64encode(f"{username or 'rollway'}:{password}".encode()).decode()
    return f"Authorization: Basic {basic}"


@dataclasses.dataclass(frozen=True)
class Credential:
    """The git credential and the git server URLs it may be sent to."""

    header: str = dataclasses.field(repr=False)
    homes: Homes


def credential(homes: Homes, environ: Mapping[str, str] | None = None) -> Credential | None:
    """The configured git credential, None when there is none (anonymous fetches)."""
    header = auth_header(environ)
    if header is None:
        return None
    if not homes.git:
        raise InvalidInput(
            f"is not set: it names the git server {TOKEN_VARIABLE} (or "
            f"{USERNAME_VARIABLE}/{PASSWORD_VARIABLE}) is sent to",
            field=GIT_VARIABLE,
        )
    return Credential(header, homes)


def fetch(
    url: str,
    ref: str,
    dest: Path,
    accept: Callable[[Path, str], T],
    *,
    credential: Credential | None,
    timeout: float = 300.0,
) -> tuple[str, T]:
    """Fetch `ref` of `url` (depth 1), check it out into `dest`; returns the commit id and what
    `accept(work_tree, commit)` returns. With a credential, `url` must be on its git server.

    Works in a hidden sibling directory renamed to `dest` only once `accept` took it, so a
    failure (of git, or `accept` raising) leaves nothing behind. `dest` must be absent, an empty
    directory, or an earlier fetch (a git work tree), which is replaced: a retried or resumed
    step runs again.
    """
    if credential is not None:
        credential.homes.check_chart_repository(url, field="repo")
    earlier = dest.is_dir() and (dest / ".git").is_dir()
    if dest.exists() and not earlier and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput(f"{dest} exists and is not an empty directory", field="dest")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.fetch-"))
    try:
        git = _Git(work, url, credential, timeout)
        git("init", "--quiet")
        git("remote", "add", "origin", url)
        git("fetch", "--quiet", "--depth", "1", "--no-tags", "origin", ref, ref=ref)
        commit = git("rev-parse", "--verify", "FETCH_HEAD^{commit}")
        git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit)
        accepted = accept(work, commit)
        replaced = dest.with_name(f".{dest.name}.replaced-{work.name}")
        if dest.exists():
            dest.rename(replaced)
        work.rename(dest)
        shutil.rmtree(replaced, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return commit, accepted


class _Git:
    """Runs git in one work tree with the credential in its environment and no prompts."""

    def __init__(self, cwd: Path, url: str, credential: Credential | None, timeout: float) -> None:
        self.cwd, self.url, self.timeout = cwd, url, timeout
        env = {k: os.environ[k] for k in INHERITED if k in os.environ}
        env.update(HOME=str(cwd), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
                   GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_COUNT="0")  # fmt: skip
        if credential is not None:
            homes = credential.homes.git
            for index, home in enumerate(homes):
                env[f"GIT_CONFIG_KEY_{index}"] = f"http.{home.rstrip('/')}/.extraHeader"
                env[f"GIT_CONFIG_VALUE_{index}"] = credential.header
            env["GIT_CONFIG_COUNT"] = str(len(homes))
        self.env = env

    def __call__(self, *args: str, ref: str | None = None) -> str:
        command = ["git", "-c", "credential.helper=", "-c", "core.askPass=",
                   "-c", "http.followRedirects=false", *args]  # fmt: skip
        try:
            proc = subprocess.run(
                command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TransientError(f"git {args[0]} of {self.url} timed out") from None
        if proc.returncode != 0:
            raise self._error(args[0], proc.stderr, ref)
        return proc.stdout.strip()

    def _error(self, verb: str, stderr: str, ref: str | None) -> Exception:
        text = stderr.lower()
        last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
        if any(s in text for s in _AUTH_FAILED) or "error: 401" in text or "error: 403" in text:
            return UpstreamError(
                f"the git server refused access to {self.url} (credentials missing or wrong)",
                hint=f"set {TOKEN_VARIABLE} (or {USERNAME_VARIABLE}/{PASSWORD_VARIABLE})",
            )
        if ref is not None and any(s in text for s in _REF_MISSING):
            hint = None
            if SHORT_SHA.match(ref) and not FULL_SHA.match(ref):
                hint = "give a commit by its full 40-character id"
            return NotFound(
                f"{ref!r} is no branch, tag or commit of {self.url}", field="ref", hint=hint
            )
        if "error: 404" in text or "not found" in text and "repository" in text:
            return NotFound(f"no git repository at {self.url}", field="repo")
        if any(s in text for s in _TRANSIENT):
            return TransientError(f"git {verb} of {self.url} failed: {last}")
        return UpstreamError(f"git {verb} of {self.url} failed: {last}")
