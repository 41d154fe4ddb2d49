"""Which published checksum is trusted, how its file is read, and streaming verification."""

from __future__ import annotations

import hashlib

import pytest

from rollway.maven import checksum

DATA = b"a jar, or at least its bytes\n" * 1000
DIGESTS = {
    name: hashlib.new(name, DATA).hexdigest() for name in ("sha1", "sha256", "sha512", "md5")
}


def published(*names: str) -> dict[str, str]:
    return {name: DIGESTS[name] for name in names}


@pytest.mark.parametrize(
    ("available", "chosen"),
    [
        (("sha1", "sha256", "sha512", "md5"), "sha256"),
        (("sha1", "sha512", "md5"), "sha512"),
        (("sha1", "md5"), "sha1"),
    ],
)
def test_sha256_then_sha512_then_sha1(available: tuple[str, ...], chosen: str) -> None:
    files = published(*available)
    asked: list[str] = []

    def fetch(algorithm: str) -> str | None:
        asked.append(algorithm)
        return files.get(algorithm)

    found = checksum.select(fetch)
    assert found == checksum.Checksum(chosen, DIGESTS[chosen])
    assert asked[-1] == chosen  # stops at the first one published
    assert "md5" not in asked


def test_md5_alone_is_not_trusted() -> None:
    assert checksum.select(published("md5").get) is None


@pytest.mark.parametrize(
    "text",
    [
        DIGESTS["sha256"],
        DIGESTS["sha256"].upper() + "\n",
        f"{DIGESTS['sha256']}  hello-1.0.0.jar\n",
        f"  {DIGESTS['sha256']}\r\n",
    ],
)
def test_checksum_files_in_the_usual_shapes(text: str) -> None:
    assert checksum.parse("sha256", text) == DIGESTS["sha256"]


@pytest.mark.parametrize("text", ["", "zz" * 32, DIGESTS["sha1"], "<html>404</html>"])
def test_a_file_without_a_digest_of_the_right_length_is_refused(text: str) -> None:
    with pytest.raises(checksum.MalformedChecksum):
        checksum.parse("sha256", text)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_digests_verify_in_one_pass_and_always_give_sha256(algorithm: str) -> None:
    digests = checksum.Digests(checksum.Checksum(algorithm, DIGESTS[algorithm]))
    for start in range(0, len(DATA), 4096):
        digests.update(DATA[start : start + 4096])
    assert digests.verified
    assert digests.sha256 == DIGESTS["sha256"]
    assert digests.size == len(DATA)


def test_a_mismatch_is_not_verified() -> None:
    digests = checksum.Digests(checksum.Checksum("sha1", DIGESTS["sha1"]))
    digests.update(DATA + b"tampered")
    assert not digests.verified
    assert digests.actual != DIGESTS["sha1"]
