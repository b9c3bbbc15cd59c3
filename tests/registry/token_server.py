"""A tiny Docker token service on 127.0.0.1 for docker-registry's `auth: token` mode.

Checks Basic credentials, grants the requested scopes `grants` allows (by default all of them),
and signs an ES256 JWT whose `x5c` header carries a self-signed certificate the registry trusts
(`rootcertbundle`). Records the scopes asked for and the tokens issued, so tests can see what the
client requested (e.g. pull on a mount source, one repository per token). `lifetime` sets the
token's real validity (docker-registry adds a leeway of `LEEWAY` seconds to `exp`) and the
`expires_in` it announces; `announced` can differ, to play a token that dies early.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ISSUER, SERVICE = "outpost-test-issuer", "outpost-test-registry"
LEEWAY = 60  # seconds docker-registry 2.8 tolerates past `exp` (clock skew)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Serve `GET /token?service=…&scope=…` on a free loopback port until `stop()`."""

    def __init__(self, workdir: Path, username: str, password: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = _self_signed(self.key)
        self.bundle = workdir / "token-ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.scopes: list[str] = []
        self.issued = 0
        self.lifetime = 300.0
        self.announced: float | None = None
        self.grants: Callable[[str, list[str]], list[str]] = lambda _name, actions: actions
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def issue(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            granted = self.grants(name, actions.split(","))
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        self.issued += 1
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        claims = {
            "iss": ISSUER,
            "sub": "importer",
            "aud": SERVICE,
            "exp": now + int(self.lifetime) - (LEEWAY if self.lifetime < LEEWAY else 0),
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != server.expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlparse(self.path).query)
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                server.scopes.extend(scopes)
                announced = server.announced or server.lifetime
                body = json.dumps({"token": server.issue(scopes), "expires_in": announced})
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outpost test token signer")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
