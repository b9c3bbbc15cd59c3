"""HubClient: the agent's only network path, outbound to the hub over httpx.

I/O shell. Timeouts are always set; TLS verification is on (a customer CA bundle can be given);
an HTTP(S) proxy with credentials is supported; the agent never listens. `transport=` is the test
seam (an in-process ASGI hub). Every 2xx answer must be an ack signed by a trusted hub key and
naming the exact document sent; anything else counts as a failed attempt. The client returns
outcomes only: it has no way to write cluster objects.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from agent.sync.config import SyncConfig
from agent.sync.errors import HubRejectedError, HubUnavailableError, SyncError
from agent.sync.policy import Outcome, classify
from wire import ack as acks
from wire import protocol
from wire.errors import ProtocolError

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


@dataclass(frozen=True)
class Delivery:
    """What one delivery pass did: the spool left over and what happened to the rest."""

    remaining: tuple[bytes, ...]
    acked: int
    rejected: int
    error: str | None
    sent: tuple[bytes, ...] = ()  # acknowledged, in order
    refused: tuple[bytes, ...] = ()  # rejected for good, in order


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A TLS context trusting `ca_bundle` (or the system CAs)."""
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise SyncError(f"CA bundle '{ca_bundle}' cannot be loaded: {exc}") from exc


class HubClient:
    def __init__(
        self, config: SyncConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.http = httpx.AsyncClient(
            base_url=config.hub_url,
            timeout=httpx.Timeout(config.read_seconds, connect=config.connect_seconds),
            verify=tls_context(config.ca_bundle),
            proxy=config.proxy,
            trust_env=config.trust_env,
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def post(self, path: str, body: bytes, token: str | None = None) -> Answer:
        """POST and read a bounded answer; network failures become HubUnavailableError."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.http.stream("POST", path, content=body, headers=headers) as resp:
                data = bytearray()
                async for chunk in resp.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise HubUnavailableError(f"hub answer to {path} is too large; ignored")
                return Answer(resp.status_code, bytes(data))
        except httpx.HTTPError as exc:
            # The proxy URL may hold a password: name the failure, never the URL.
            raise HubUnavailableError(
                f"hub at {self.http.base_url.host} unreachable: {type(exc).__name__}"
            ) from exc

    async def enroll(self, token: str, envelope: bytes, agent_id: str) -> acks.Ack:
        """Present the one-time token and the self-signed enrollment; return the verified ack."""
        payload_sha = protocol.sha256_hex(protocol.parse_envelope(envelope, "enrollment").payload)
        answer = await self.post("/v1/enroll", envelope, token)
        if answer.status >= 500:
            raise HubUnavailableError(f"hub failed enrollment (HTTP {answer.status}); retry later")
        if answer.status >= 400:
            raise HubRejectedError(
                f"hub refused enrollment (HTTP {answer.status}); check the enrollment token",
                answer.status,
                "enroll",
            )
        ack = acks.open_ack(answer.body, self.config.hub_keys, agent_id, payload_sha)
        if ack.kind != "enroll":
            raise ProtocolError("hub ack: expected an enrollment ack")
        return ack

    async def rotate(self, agent_id: str, envelope: bytes) -> acks.Ack:
        """Announce a new agent key; return the hub's verified ack (only then use the new key)."""
        payload_sha = protocol.sha256_hex(protocol.parse_envelope(envelope, "rotation").payload)
        answer = await self.post(f"/v1/agents/{agent_id}/keys", envelope)
        if answer.status >= 500:
            raise HubUnavailableError(
                f"hub failed key rotation (HTTP {answer.status}); retry later"
            )
        if answer.status >= 400:
            raise HubRejectedError(
                f"hub refused key rotation (HTTP {answer.status})", answer.status, "rotation"
            )
        ack = acks.open_ack(answer.body, self.config.hub_keys, agent_id, payload_sha)
        if ack.kind != "rotation":
            raise ProtocolError("hub ack: expected a key-rotation ack")
        return ack

    async def send_report(self, agent_id: str, envelope: bytes) -> Outcome:
        """Send one report; the outcome as the hub's signed ack says it."""
        payload_sha = protocol.sha256_hex(protocol.parse_envelope(envelope, "report").payload)
        answer = await self.post(f"/v1/agents/{agent_id}/reports", envelope)
        verified = False
        if 200 <= answer.status < 300:
            try:
                ack = acks.open_ack(answer.body, self.config.hub_keys, agent_id, payload_sha)
                verified = ack.kind == "report"
            except ProtocolError:
                verified = False
        return classify(answer.status, verified)

    async def deliver(self, agent_id: str, spool: Sequence[bytes]) -> Delivery:
        """Send spooled reports oldest first; stop at the first one that must be retried."""
        remaining = list(spool)
        sent: list[bytes] = []
        refused: list[bytes] = []
        error: str | None = None
        while remaining:
            try:
                outcome = await self.send_report(agent_id, remaining[0])
            except HubUnavailableError as exc:
                error = str(exc)
                break
            except ProtocolError:
                # A spooled entry that is not an envelope can never be delivered.
                outcome = Outcome.REJECTED
            if outcome is Outcome.RETRY:
                error = "hub answer could not be verified or asked for a retry"
                break
            done = remaining.pop(0)
            (sent if outcome is Outcome.ACKED else refused).append(done)
        return Delivery(
            tuple(remaining), len(sent), len(refused), error, tuple(sent), tuple(refused)
        )
