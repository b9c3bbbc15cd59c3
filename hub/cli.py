"""`outpost hub …`: run the reference hub, issue enrollment tokens, create the hub's ack key.

I/O shell: reads the key file, opens the store, runs uvicorn. The hub only ever answers
requests; it never connects to clusters.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundle import dsse
from hub import access
from hub.errors import HubError
from hub.startup import load_hub_key, open_store

__all__ = ["hub", "load_hub_key", "open_store"]
from hub.service import Hub, utc_now
from wire import protocol
from wire.keys import key_to_pem

DB_HELP = "Store URL: 'sqlite:///<path>' (default store) or 'postgresql://…' (needs psycopg 3)."


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("must be HOST:PORT, e.g. 127.0.0.1:8080", param_hint="--listen")
    return host.strip("[]"), int(port)


@click.group("hub")
def hub() -> None:
    """Run the reference hub (receives signed status reports; never connects to clusters)."""


@hub.command("serve")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to bind.")
@click.option("--hub-key", required=True, help="Ed25519 private key (PEM, PKCS8) to sign acks.")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes serving requests; more than 1 needs PostgreSQL.")  # fmt: skip
def serve(db_url: str, listen: str, hub_key: str, workers: int) -> None:
    """Serve the hub API, /openapi.json and the fleet page at / (plain HTTP; put TLS in front)."""
    from hub import serving

    host, port = split_listen(listen)
    serving.run(db_url, hub_key, host, port, workers)


@hub.group("token")
def token() -> None:
    """One-time enrollment tokens (only their sha256 is stored)."""


@token.command("create")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--ttl-hours", default=168, show_default=True, type=click.IntRange(1, 24 * 90))
@click.option("--customer", default="", help="Whose install this token enrolls (fleet page).")
@click.option("--name", "display_name", default="", help="The install's name on the fleet page.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def token_create(
    db_url: str, ttl_hours: int, customer: str, display_name: str, output: str
) -> None:
    """Issue a token and print it once; it cannot be shown again."""
    store = open_store(db_url)
    try:
        hub_ = Hub(store, Ed25519PrivateKey.generate())
        value = hub_.create_token(timedelta(hours=ttl_hours), customer, display_name)
    finally:
        store.close()
    if output == "json":
        click.echo(json.dumps({"token": value, "ttl_hours": ttl_hours}))
    else:
        click.echo(value)
        click.echo(f"(valid {ttl_hours} h, one use; store it now: it is not kept)", err=True)


@hub.group("access-token")
def access_token() -> None:
    """Tokens for readers of the API and the fleet page (only their sha256 is stored)."""


@access_token.command("create")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--name", required=True, help="Who holds it (unique, never reused).")
@click.option("--role", type=click.Choice(access.ROLES), default="viewer", show_default=True)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def access_token_create(db_url: str, name: str, role: str, output: str) -> None:
    """Create an access token and print it once; it cannot be shown again."""
    store = open_store(db_url)
    try:
        value = access.create(store, name, role, utc_now())
    finally:
        store.close()
    if output == "json":
        click.echo(json.dumps({"name": name, "role": role, "token": value}))
    else:
        click.echo(value)
        click.echo(f"({role} '{name}'; store it now: it is not kept)", err=True)


@access_token.command("revoke")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--name", required=True, help="The token's name.")
def access_token_revoke(db_url: str, name: str) -> None:
    """Revoke an access token at once (its sessions end with it)."""
    store = open_store(db_url)
    try:
        access.revoke(store, name, utc_now())
    finally:
        store.close()
    click.echo(f"revoked access token '{name}'")


@hub.command("prune")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--older-than-days", required=True, type=click.IntRange(1, 36500),
              help="Delete raw reports received before this many days ago.")  # fmt: skip
def prune(db_url: str, older_than_days: int) -> None:
    """Retention: delete old raw reports (each install's latest is kept; usage is never touched)."""
    store = open_store(db_url)
    try:
        removed = store.prune_reports(utc_now() - timedelta(days=older_than_days))
    finally:
        store.close()
    click.echo(f"deleted {removed} report(s) received more than {older_than_days} days ago")


@hub.command("backup")
@click.option("--db", "db_url", required=True, help="The SQLite store: 'sqlite:///<path>'.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def backup(db_url: str, out: Path) -> None:
    """Copy a SQLite store while the hub runs (online backup API); restore = serve the copy."""
    from hub.backup import sqlite_backup

    size = sqlite_backup(db_url, out)
    click.echo(f"wrote {out} ({size} bytes)")


@hub.group("key")
def key_group() -> None:
    """The hub's acknowledgement-signing key."""


@key_group.command("create")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="New PEM file.")
def key_create(out: str) -> None:
    """Write a new Ed25519 key (mode 0600) and print its id and public key for agents."""
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise HubError(f"cannot create '{out}': {exc.strerror} (it must not exist yet)") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_to_pem(key))
    click.echo(f"key id:     {dsse.key_id(key.public_key())}")
    click.echo(f"public key: {protocol.public_key_b64(key.public_key())}  (OUTPOST_HUB_KEYS)")


@hub.command("usage")
@click.option("--db", "db_url", required=True, help=DB_HELP)
@click.option("--from", "from_", required=True, help="Windows starting at or after (RFC 3339).")
@click.option("--to", "to", required=True, help="Windows starting before (RFC 3339).")
@click.option("--install", "install", default="", help="Only this install (agent id).")
@click.option("--tenant", default="", help="Only this tenant.")
@click.option(
    "--output", type=click.Choice(["csv", "json", "openmeter"]), default="csv", show_default=True
)
def usage_command(db_url: str, output: str, **query: str) -> None:
    """Export the usage ledger (openmeter: CloudEvents NDJSON for OpenMeter's ingest)."""
    from hub.errors import Rejection
    from hub.usage_store import UsageLedger
    from hub.usage_views import render

    store = open_store(db_url)
    try:
        asked = {"from": query["from_"], "to": query["to"], "install": query["install"],
                 "tenant": query["tenant"], "output": output}  # fmt: skip
        _, body = render(UsageLedger(store), asked)  # type: ignore[arg-type]
    except Rejection as exc:
        raise HubError(str(exc)) from exc
    finally:
        store.close()
    click.echo(body, nl=False)
