"""Fuzz the status report verifier: envelopes and report documents of any shape.

Property: `parse_envelope`, `open_report` and `ReportHeader.from_dict` raise only
`WireError`s (the wire protocol's error family), whatever the bytes, within the deadline.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from bundle import dsse
from tests.fuzz.strategies import json_bytes, json_values
from tests.unit.bundle.factory import key
from wire.errors import WireError
from wire.protocol import SCHEMA_STATUS, ReportHeader, keyring, open_report, parse_envelope

AGENT = key("fuzz-agent")
KEYS = keyring(AGENT.public_key())

REPORT_SHAPED = st.fixed_dictionaries(
    {
        "schema": st.sampled_from([SCHEMA_STATUS, "x"]),
        "agent_id": json_values(),
        "cluster_uid": json_values(),
        "seq": json_values() | st.integers(),
        "issued_at": st.sampled_from(["2026-11-02T10:00:00Z", "2026-11-02T10:00:00"])
        | json_values(),
        "nonce": json_values(),
        "previous_sha256": json_values(),
    }
)


@given(st.one_of(json_bytes(), st.binary(max_size=512), st.just(b"[" * 50_000)))
def test_report_envelopes(data: bytes) -> None:
    with contextlib.suppress(WireError):
        open_report(parse_envelope(data, "status report"), KEYS)


@given(st.one_of(REPORT_SHAPED.map(lambda d: json.dumps(d).encode()), json_bytes()))
def test_signed_reports_of_any_shape(payload: bytes) -> None:
    """Signed by the agent's own key, so the document checks (not the signature) are fuzzed."""
    envelope = dsse.sign(dsse.PAYLOAD_STATUS, payload, [AGENT])
    with contextlib.suppress(WireError):
        open_report(parse_envelope(envelope.to_json(), "status report"), KEYS)


@given(st.dictionaries(st.text(max_size=20), json_values()) | REPORT_SHAPED)
def test_report_headers(doc: dict[str, object]) -> None:
    with contextlib.suppress(WireError):
        ReportHeader.from_dict(doc)
