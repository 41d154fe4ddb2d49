"""The checksum a repository publishes beside a file (`<file>.sha256` …) and checking it.

SHA-256 is preferred when published: it is the digest Rollway records for provenance anyway, so
the recorded value is then one the repository vouched for. SHA-512 next, then SHA-1, which every
Maven repository has. MD5 is never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable

#: Algorithms in order of preference, with the length of their hex digest.
PREFERENCE = {"sha256": 64, "sha512": 128, "sha1": 40}
HEX = re.compile(r"^[0-9a-f]+$")


class MalformedChecksum(ValueError):
    """A checksum file that holds no digest of the expected length."""


@dataclasses.dataclass(frozen=True)
class Checksum:
    algorithm: str
    expected: str


def parse(algorithm: str, text: str) -> str:
    """The hex digest in a checksum file: `<hex>` or `<hex>  <file name>` (sha256sum style)."""
    token = text.strip().split(maxsplit=1)[0].lower() if text.strip() else ""
    if len(token) != PREFERENCE[algorithm] or not HEX.match(token):
        raise MalformedChecksum(f"holds no {algorithm} digest")
    return token


def select(fetch: Callable[[str], str | None]) -> Checksum | None:
    """The preferred published checksum; `fetch(algorithm)` returns the file's text or None."""
    for algorithm in PREFERENCE:
        text = fetch(algorithm)
        if text is not None:
            return Checksum(algorithm, parse(algorithm, text))
    return None


class Digests:
    """SHA-256 (for provenance) and the published algorithm, fed in one pass over the stream."""

    def __init__(self, checksum: Checksum) -> None:
        self.checksum = checksum
        self._hashes = {name: hashlib.new(name) for name in {"sha256", checksum.algorithm}}
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        for digest in self._hashes.values():
            digest.update(chunk)

    @property
    def sha256(self) -> str:
        return self._hashes["sha256"].hexdigest()

    @property
    def actual(self) -> str:
        return self._hashes[self.checksum.algorithm].hexdigest()

    @property
    def verified(self) -> bool:
        return self.actual == self.checksum.expected
