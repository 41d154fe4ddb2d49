"""The certificates a build trusts for registry TLS, loaded once and shared by its clients.

Loading a trust store takes ~30 ms; made once, on a side thread (OpenSSL parses it without the
GIL) while the jar is hashed, and only when a registry is reached over https. The choice is the
one httpx makes (the registry client used it before): `SSL_CERT_FILE`, else `SSL_CERT_DIR`, else
certifi's bundle.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


def trust_store(env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    import ssl  # here, on the side thread: a build's first moments go to the jar

    env = os.environ if env is None else env
    if env.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    if env.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=env["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@functools.cache
def process_trust_store() -> ssl.SSLContext:
    """The trust store of this process's environment, loaded once: for a server that makes a
    registry client per request."""
    return trust_store()
