"""Properties over generated inputs (seeded, so every run is the same).

Aspects: verify(build(x)) returns exactly x's files for random source trees; a random byte flip
anywhere in a bundle either fails verification with a `VerificationError` or leaves the verified
content unchanged (tar padding carries no meaning).
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from bundle.build import BuildRequest, build
from bundle.errors import VerificationError
from bundle.verify import verify_bundle
from tests.unit.bundle.factory import NOW, oci_layout, vendor

V = vendor()
NAME_CHARS = string.ascii_letters + string.digits + "._-"


def random_tree(rng: random.Random, root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for top in ("crds", "resources"):
        (root / top).mkdir(parents=True)
        for _ in range(rng.randint(0, 4)):
            name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 40))) + ".yaml"
            body = f"apiVersion: v1\nkind: K{rng.randint(0, 10**9)}\n".encode()
            body += b"# " + bytes(rng.choice(b"abc xyz") for _ in range(rng.randint(0, 5000)))
            (root / top / name).write_bytes(body)
            files[f"{top}/{name}"] = body
    return files


@pytest.mark.parametrize("seed", range(12))
def test_verify_of_build_round_trips(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    files = random_tree(rng, tmp_path / "src")
    images = (oci_layout(tmp_path / "oci"),) if rng.random() < 0.5 else ()
    request = BuildRequest(tmp_path / "src", tmp_path / "b.tar", "1.0.0", seed, images=images)
    built = build(request, V.chain_bytes, V.bundle_keys[:1], NOW)
    result = verify_bundle(tmp_path / "b.tar", V.trust_root(), NOW, staging=tmp_path / "st")
    assert result.verified.digest == built.digest
    for path, body in files.items():
        assert (tmp_path / "st" / path).read_bytes() == body
    st = tmp_path / "st"
    staged = {p.relative_to(st).as_posix() for p in st.rglob("*") if p.is_file()}
    assert {f.path for f in result.manifest.files} == staged


@pytest.mark.parametrize("seed", range(20))
def test_random_byte_flip_never_yields_different_content(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    random_tree(random.Random(1000), tmp_path / "src")
    request = BuildRequest(tmp_path / "src", tmp_path / "b.tar", "1.0.0", 1)
    digest = build(request, V.chain_bytes, V.bundle_keys[:1], NOW).digest
    data = bytearray((tmp_path / "b.tar").read_bytes())
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    (tmp_path / "b.tar").write_bytes(bytes(data))
    try:
        result = verify_bundle(tmp_path / "b.tar", V.trust_root(), NOW, staging=tmp_path / "st")
    except VerificationError:
        assert not (tmp_path / "st").exists()
        return
    assert result.verified.digest == digest
    for entry in result.manifest.files:
        original = (tmp_path / "src" / entry.path).read_bytes()
        assert (tmp_path / "st" / entry.path).read_bytes() == original
