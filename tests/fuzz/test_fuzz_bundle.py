"""Fuzz the bundle verifier's parsers: archive reader, DSSE envelopes, keyrings and chains.

Property: whatever the bytes, `verify_bundle`, `dsse.parse`/`verify`, `keyring.from_payload`,
`decode_chain` and `verify_chain` return or raise a `BundleError`, never anything else, and
each example finishes within the profile's deadline (no hang, no super-linear parse).
"""

from __future__ import annotations

import contextlib
import json
import tarfile
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bundle import dsse
from bundle.errors import BundleError
from bundle.keyring import decode_chain, from_payload
from bundle.stored import verify_chain
from bundle.verify import verify_bundle
from tests.fuzz.strategies import json_bytes, json_values, pax_block, tar_header
from tests.unit.bundle.factory import NOW, Vendor, build_bundle, vendor


@cache
def sample() -> tuple[bytes, Vendor]:
    """A small valid bundle (no images) and its vendor, built once per process."""
    acme = vendor()
    with tempfile.TemporaryDirectory() as tmp:
        return build_bundle(Path(tmp), acme, images=False).read_bytes(), acme


def verify_bytes(data: bytes) -> None:
    _, acme = sample()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.tar"
        path.write_bytes(data)
        with contextlib.suppress(BundleError):
            verify_bundle(path, acme.trust_root(), NOW, staging=Path(tmp) / "st")


def test_the_sample_bundle_verifies() -> None:
    verify_bytes(sample()[0])  # the mutations below start from a bundle that does verify


@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8))
def test_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    data = bytearray(sample()[0])
    for where, value in flips:
        data[where % len(data)] = value
    verify_bytes(bytes(data))


@given(st.integers(min_value=0), st.binary(max_size=2048))
def test_truncated_or_extended(cut: int, tail: bytes) -> None:
    data = sample()[0]
    verify_bytes(data[: cut % (len(data) + 1)] + tail)


@given(st.integers(min_value=0), st.lists(st.one_of(tar_header(), pax_block()), max_size=4))
def test_crafted_headers_spliced_in(at: int, blocks: list[bytes]) -> None:
    data = sample()[0]
    where = (at % (len(data) // tarfile.BLOCKSIZE)) * tarfile.BLOCKSIZE
    verify_bytes(data[:where] + b"".join(blocks) + data[where:])


@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    verify_bytes(data)


@given(st.one_of(json_bytes(), st.binary(max_size=512)))
def test_dsse_envelopes(data: bytes) -> None:
    _, acme = sample()
    try:
        envelope = dsse.parse(data)
        keys = {dsse.key_id(k.public_key()): k.public_key() for k in acme.roots}
        dsse.verify(envelope, envelope.payload_type, keys, 1)
    except BundleError:
        pass


ENVELOPE_SHAPED = st.fixed_dictionaries(
    {"payloadType": json_values(), "payload": json_values(), "signatures": json_values()}
)


@given(ENVELOPE_SHAPED)
def test_envelope_shaped_documents(doc: dict[str, object]) -> None:
    with contextlib.suppress(BundleError):
        dsse.parse(json.dumps(doc).encode())


KEYRING_SHAPED = st.fixed_dictionaries(
    {
        "schema": st.sampled_from(["outpost.dev/keyring/v1", "x"]),
        "version": json_values(),
        "expires": st.one_of(st.just("2027-01-01T00:00:00Z"), json_values()),
        "keys": json_values(),
        "roles": st.one_of(
            st.dictionaries(st.sampled_from(["root", "bundle", "hub", "x"]), json_values()),
            json_values(),
        ),
    }
)


@given(st.one_of(KEYRING_SHAPED.map(lambda d: json.dumps(d).encode()), json_bytes()))
def test_keyring_payloads(payload: bytes) -> None:
    with contextlib.suppress(BundleError):
        from_payload(payload)


@given(st.lists(st.one_of(json_bytes(), st.binary(max_size=256)), max_size=4), st.booleans())
def test_keyring_chains(chain: list[bytes], as_file: bool) -> None:
    _, acme = sample()
    try:
        if as_file:
            decode_chain(b"[" + b",".join(chain) + b"]")
        verify_chain([*acme.chain_bytes, *chain], acme.trust_root(), NOW)
    except BundleError:
        pass


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    _, acme = sample()
    deep = b"[" * 100_000 + b"]" * 100_000
    for call in (
        lambda: dsse.parse(deep),
        lambda: from_payload(deep),
        lambda: decode_chain(deep),
        lambda: verify_chain([deep], acme.trust_root(), NOW),
    ):
        try:
            call()
        except BundleError:
            continue
        raise AssertionError("deeply nested JSON was accepted")
