"""Delivery over HTTPS to a hub whose certificate comes from a private CA (a customer CA bundle).

Aspects: with the CA bundle configured the reports arrive; without it the TLS handshake fails,
the reports stay spooled and the error names the hub, not a traceback.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.sync.client import Delivery, HubClient
from agent.sync.cycle import Cycle
from agent.sync.state import MemoryStore
from tests.unit.hub.hubkit import HubKit, ServedHub, snapshot

pytest.importorskip("uvicorn")


def certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey]
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
    )
    if subject == issuer[0]:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, False)
    return builder.sign(issuer[1], hashes.SHA256())


def write_pki(folder: Path) -> dict[str, str]:
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("Test Customer CA", ca_key, ("Test Customer CA", ca_key))
    server = certificate("hub", server_key, ("Test Customer CA", ca_key))
    pem = serialization.Encoding.PEM
    files = {"ca": folder / "ca.pem", "cert": folder / "hub.pem", "key": folder / "hub-key.pem"}
    files["ca"].write_bytes(ca.public_bytes(pem))
    files["cert"].write_bytes(server.public_bytes(pem))
    files["key"].write_bytes(server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    return {name: str(path) for name, path in files.items()}


async def deliver(kit: HubKit, url: str, ca_bundle: str | None, store: MemoryStore) -> Delivery:
    client = HubClient(replace(kit.config(), hub_url=url, ca_bundle=ca_bundle))
    cycle = Cycle(store)
    try:
        if ca_bundle:
            await cycle.enroll(client, kit.hub.create_token(), "uid-1", kit.clock())
        await cycle.produce(snapshot(), kit.clock(), "n1")
        assert store.state is not None
        return await client.deliver(store.state.agent_id, store.spool)
    finally:
        await client.aclose()


@pytest.mark.parametrize("trusted", [True, False], ids=["with-ca-bundle", "without"])
def test_https_to_a_hub_with_a_private_ca(tmp_path: Path, trusted: bool) -> None:
    pki = write_pki(tmp_path)
    kit, store = HubKit(), MemoryStore()
    with ServedHub(kit.app, ssl_certfile=pki["cert"], ssl_keyfile=pki["key"]) as hub:
        result = asyncio.run(deliver(kit, hub.url, pki["ca"] if trusted else None, store))
    if trusted:
        assert (result.acked, kit.report_count()) == (1, 1)
    else:
        assert result.acked == 0
        assert result.error is not None
        assert "127.0.0.1" in result.error
        assert len(store.spool) == 1
