"""The CLI's config file: contexts (where the API server and Keycloak are) and their tokens.

`$ROLLWAY_CONFIG`, else `$XDG_CONFIG_HOME/rollway/config.yaml`, else
`~/.config/rollway/config.yaml`. It holds tokens, so it is written with mode 0600, atomically
(a temporary file renamed over it): never left half-written for the next command to choke on.
It is written as JSON, which is YAML too: every command reads it, and reading JSON needs no YAML
parser (importing one is a tenth of `app status`); a file edited into other YAML still reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

DEFAULT_CONTEXT = "default"
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_REALM = "rollway"
DEFAULT_CLIENT_ID = "rollway-cli"
#: Refresh this many seconds before expiry, so a token does not lapse in flight.
EXPIRY_MARGIN = 30


@dataclasses.dataclass
class Credentials:
    """What a login left: tokens, and how to get new ones when they expire."""

    grant: str  # "device", "password" or "client_credentials"
    client_id: str
    access_token: str
    expires_at: float  # epoch seconds
    refresh_token: str | None = None
    refresh_expires_at: float | None = None  # None: no known expiry
    #: Client credentials only: a new token is fetched with it when the old one expires.
    client_secret: str | None = None


@dataclasses.dataclass
class Context:
    """A server URL, the Keycloak realm and client it trusts, and defaults for commands."""

    name: str
    server: str = DEFAULT_SERVER
    keycloak_url: str | None = None
    realm: str = DEFAULT_REALM
    client_id: str = DEFAULT_CLIENT_ID
    namespace: str | None = None
    env: str | None = None
    credentials: Credentials | None = None


#: YAML key → Context attribute, for the settings a user edits (`app context set`).
CONTEXT_KEYS = {
    "server": "server",
    "keycloak-url": "keycloak_url",
    "realm": "realm",
    "client-id": "client_id",
    "namespace": "namespace",
    "env": "env",
}
CREDENTIAL_KEYS = {f.name.replace("_", "-"): f.name for f in dataclasses.fields(Credentials)}


def expired(expires_at: float | None, margin: float = EXPIRY_MARGIN) -> bool:
    return expires_at is not None and time.time() + margin >= expires_at


def config_path() -> Path:
    explicit = os.environ.get("ROLLWAY_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "rollway" / "config.yaml"


@dataclasses.dataclass
class Config:
    path: Path
    current: str | None = None
    contexts: dict[str, Context] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        """The config at `path` (default: `config_path()`); empty when the file does not exist."""
        path = path or config_path()
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls(path)
        except OSError as err:
            raise InvalidInput(f"cannot read {path}: {err.strerror}", field="config") from None
        return cls.parse(path, text)

    @classmethod
    def parse(cls, path: Path, text: str) -> Config:
        data = _json(text) if text.lstrip().startswith("{") else None
        if data is None:
            import yaml

            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as err:
                raise InvalidInput(f"{path} is not valid YAML: {err}", field="config") from None
        if not isinstance(data, dict) or not isinstance(data.get("contexts") or {}, dict):
            raise InvalidInput(f"{path}: expected a mapping with 'contexts'", field="config")
        contexts = {}
        for name, entry in (data.get("contexts") or {}).items():
            contexts[str(name)] = _context(path, str(name), entry or {})
        current = data.get("current-context")
        return cls(path, str(current) if current else None, contexts)

    def dump(self) -> dict[str, Any]:
        contexts: dict[str, Any] = {}
        for name, ctx in sorted(self.contexts.items()):
            entry = {key: getattr(ctx, attr) for key, attr in CONTEXT_KEYS.items()}
            entry = {k: v for k, v in entry.items() if v is not None}
            if ctx.credentials is not None:
                creds = dataclasses.asdict(ctx.credentials)
                entry["credentials"] = {
                    key: creds[attr]
                    for key, attr in CREDENTIAL_KEYS.items()
                    if creds[attr] is not None
                }
            contexts[name] = entry
        return {"current-context": self.current, "contexts": contexts}

    def save(self) -> None:
        """Write atomically with mode 0600 (the directory 0700 when created)."""
        import tempfile

        text = json.dumps(self.dump(), indent=2) + "\n"
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:  # mkstemp creates it 0600
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def context(self, name: str | None = None, *, create: bool = False) -> Context:
        """The named context, else the current one; a new one from the environment when there
        is no config yet, or with `create` (a login into a context that does not exist yet)."""
        chosen = name or self.current or DEFAULT_CONTEXT
        found = self.contexts.get(chosen)
        if found is not None:
            return found
        if create or not self.contexts:
            return from_environment(chosen)
        raise InvalidInput(
            f"no context named '{chosen}' (known: {', '.join(sorted(self.contexts))})",
            field="--context",
            hint="create it with: app context set NAME --server URL --keycloak-url URL",
        )

    def store(self, ctx: Context) -> None:
        """Keep `ctx` (making it current if none is) and save."""
        self.contexts[ctx.name] = ctx
        if self.current is None or self.current not in self.contexts:
            self.current = ctx.name
        self.save()


def from_environment(name: str) -> Context:
    """A context from `ROLLWAY_*` variables, for a first login or CI without a config file."""
    return Context(
        name=name,
        server=os.environ.get("ROLLWAY_SERVER") or DEFAULT_SERVER,
        keycloak_url=os.environ.get("ROLLWAY_KEYCLOAK_URL") or None,
        realm=os.environ.get("ROLLWAY_KEYCLOAK_REALM") or DEFAULT_REALM,
        client_id=os.environ.get("ROLLWAY_CLI_CLIENT_ID") or DEFAULT_CLIENT_ID,
    )


def _context(path: Path, name: str, entry: Any) -> Context:
    if not isinstance(entry, dict):
        raise InvalidInput(f"{path}: context '{name}' must be a mapping", field="config")
    unknown = set(entry) - set(CONTEXT_KEYS) - {"credentials"}
    if unknown:
        raise InvalidInput(
            f"{path}: context '{name}' has unknown keys: {', '.join(sorted(unknown))}",
            field="config",
        )
    ctx = Context(name=name)
    for key, attr in CONTEXT_KEYS.items():
        if entry.get(key) is not None:
            setattr(ctx, attr, str(entry[key]))
    creds = entry.get("credentials")
    if isinstance(creds, dict):
        try:
            ctx.credentials = Credentials(
                **{attr: creds[key] for key, attr in CREDENTIAL_KEYS.items() if key in creds}
            )
        except TypeError:  # a key missing: treat as logged out rather than failing every command
            ctx.credentials = None
    return ctx


def _json(text: str) -> Any:
    """The file as written by `save`; None when it is YAML beyond JSON (the YAML parser reads it)."""
    try:
        return json.loads(text)
    except ValueError:
        return None
