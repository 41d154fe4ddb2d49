"""The trust store a build's registry clients share: the certificates httpx would choose."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi

from rollway.image.tls import trust_store
from tests.support.tls import tls_server


def _subjects(context: ssl.SSLContext) -> list[str]:
    return [str(cert["subject"]) for cert in context.get_ca_certs()]


def test_ssl_cert_file_names_the_only_certificates_trusted(tmp_path: Path) -> None:
    _, pem = tls_server(tmp_path)
    context = trust_store({"SSL_CERT_FILE": str(pem)})
    assert _subjects(context) == ["((('commonName', '127.0.0.1'),),)"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_otherwise_certifis_bundle(tmp_path: Path) -> None:
    bundled = ssl.create_default_context(cafile=certifi.where())
    assert _subjects(trust_store({})) == _subjects(bundled)
    assert len(bundled.get_ca_certs()) > 100
