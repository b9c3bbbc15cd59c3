"""Status-sync settings: off unless a hub URL is configured.

Pure: `from_env` reads a mapping handed in by `agent/settings.py` (the only reader of
`os.environ`), so sync stays optional and testable. Every timeout and limit is a named default.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.errors import ConfigError
from agent.sync import consent, outbox
from agent.sync.policy import RetryPolicy, SpoolLimits
from bundle import dsse

DEFAULT_CONNECT_SECONDS = 10.0
DEFAULT_READ_SECONDS = 30.0
DEFAULT_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class SyncConfig:
    """How to reach the hub. `proxy` may carry credentials: never log or echo it."""

    hub_url: str
    hub_keys: Mapping[str, Ed25519PublicKey]
    ca_bundle: str | None = None
    proxy: str | None = None
    trust_env: bool = False
    connect_seconds: float = DEFAULT_CONNECT_SECONDS
    read_seconds: float = DEFAULT_READ_SECONDS
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    include_owners: bool = False
    share: frozenset[str] = consent.DEFAULT_SHARE
    outbox_retention: timedelta = outbox.DEFAULT_RETENTION
    spool: SpoolLimits = field(default_factory=SpoolLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def hub_keys_from_b64(values: str) -> dict[str, Ed25519PublicKey]:
    """Trusted hub keys from comma-separated base64 raw public keys (keyid → key)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (v.strip() for v in values.split(","))):
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(
                "OUTPOST_HUB_KEYS: each entry must be a base64 raw Ed25519 public key"
            ) from exc
        keys[dsse.key_id(key)] = key
    return keys


def from_env(env: Mapping[str, str]) -> SyncConfig | None:
    """None (sync off) unless OUTPOST_HUB_URL is set and not offline; then hub keys are required.

    Offline (`OUTPOST_HUB_OFFLINE`, chart value `hub.offline`) wins over a URL: the agent then
    never opens a connection to the hub; reports are carried out by `outpost status export`.
    """
    url = env.get("OUTPOST_HUB_URL", "").strip()
    if not url or env.get("OUTPOST_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return None
    if not url.startswith(("https://", "http://")):
        raise ConfigError("OUTPOST_HUB_URL must start with 'https://' (or 'http://' for tests)")
    keys = hub_keys_from_b64(env.get("OUTPOST_HUB_KEYS", ""))
    if not keys:
        raise ConfigError("OUTPOST_HUB_KEYS must list the hub's public keys to verify its acks")
    return SyncConfig(
        hub_url=url.rstrip("/"),
        hub_keys=keys,
        ca_bundle=env.get("OUTPOST_HUB_CA_BUNDLE") or None,
        proxy=env.get("OUTPOST_HUB_PROXY") or None,
        include_owners=env.get("OUTPOST_REPORT_OWNERS", "").lower() in ("1", "true", "yes"),
        share=_share(env.get("OUTPOST_HUB_SHARE")),
        outbox_retention=_retention(env.get("OUTPOST_OUTBOX_RETENTION_SECONDS", "")),
        interval_seconds=_interval(env.get("OUTPOST_HUB_INTERVAL_SECONDS", "")),
    )


def _share(raw: str | None) -> frozenset[str]:
    """The consent categories (chart value `hub.share`); the default when unset."""
    if raw is None:
        return consent.DEFAULT_SHARE
    try:
        return consent.parse_share(raw)
    except ValueError as exc:
        raise ConfigError(f"OUTPOST_HUB_SHARE: {exc}") from exc


def _retention(raw: str) -> timedelta:
    """How long sent reports stay reviewable in the outbox (chart `hub.outboxRetentionSeconds`)."""
    if not raw.strip():
        return outbox.DEFAULT_RETENTION
    try:
        return timedelta(seconds=max(0.0, float(raw)))
    except ValueError as exc:
        raise ConfigError("OUTPOST_OUTBOX_RETENTION_SECONDS must be a number of seconds") from exc


def _interval(raw: str) -> float:
    """Seconds between reports; at least 10 so a typo cannot flood the hub."""
    if not raw.strip():
        return DEFAULT_INTERVAL_SECONDS
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError("OUTPOST_HUB_INTERVAL_SECONDS must be a number of seconds") from exc
    if value < 10:
        raise ConfigError("OUTPOST_HUB_INTERVAL_SECONDS must be at least 10")
    return value
