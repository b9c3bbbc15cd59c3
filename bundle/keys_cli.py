"""`outpost keys generate` and `outpost keys keyring create|rotate`.

I/O shell over `rotation` (pure) and `keyfiles` (disk). A keyring file is a JSON list of DSSE
envelopes, version 1 first: the file written by `create` is a trust root; `rotate` appends the
next version, so the same file serves as the chain to embed in bundles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from bundle import dsse
from bundle.keyfiles import generate, load_private, load_public, read, write_new, write_replace
from bundle.keyring import decode_chain, encode_chain, load_trust_root
from bundle.rotation import RoleSpec, make_keyring, next_keyring, sign_first, sign_rotation
from bundle.timestamps import now_utc, parse_duration

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
NEW = click.Path(dir_okay=False, path_type=Path)
ROLE_FLAGS = ("root", "bundle", "license", "hub")


def register(keys: click.Group) -> None:
    """Mount `keys generate` and `keys keyring …` on the `keys` group."""
    keys.add_command(generate_command)
    keys.add_command(keyring_group)


@click.command("generate")
@click.option("--out", "prefix", required=True, type=NEW, help="Writes PREFIX.key and PREFIX.pub.")
def generate_command(prefix: Path) -> None:
    """Generate an Ed25519 key pair; print its key id.

    PREFIX.key is the private key (PEM PKCS#8, mode 0600), PREFIX.pub the public key (PEM).
    """
    kid, key_path, pub_path = generate(prefix)
    click.echo(f"wrote {key_path} (private, 0600) and {pub_path}", err=True)
    click.echo(kid)


def role_options(required: bool) -> list[click.Option]:
    """The --root/--bundle/--hub/--license key options (root and bundle required when asked)."""
    opts: list[click.Option] = []
    for role in ROLE_FLAGS:
        must = required and role in ("root", "bundle")
        opts.append(
            click.Option(
                [f"--{role}"],
                multiple=True,
                type=EXISTING,
                required=must,
                help=f"Public key (PEM) of the '{role}' role; repeat for several.",
            )
        )
        opts.append(
            click.Option(
                [f"--{role}-threshold"],
                type=click.IntRange(min=1),
                default=None,
                help=f"Signatures the '{role}' role needs (default 1).",
            )
        )
    return opts


def _specs(params: Mapping[str, Any]) -> dict[str, RoleSpec | None]:
    specs: dict[str, RoleSpec | None] = {}
    for role in ROLE_FLAGS:
        keys = tuple(load_public(p) for p in params[role])
        specs[role] = RoleSpec(keys, params[f"{role}_threshold"] or 1) if keys else None
    return specs


@click.group("keyring")
def keyring_group() -> None:
    """Create and rotate signed keyrings (trust roots)."""


def _create(expires: str, sign_with: tuple[Path, ...], out: Path, **roles: Any) -> None:
    """Create keyring v1 and sign it with a threshold of its root keys.

    \b
    Example:
      outpost keys keyring create --root r1.pub --root r2.pub --root r3.pub \\
        --root-threshold 2 --bundle b.pub --hub hub.pub --license lic.pub \\
        --expires 365d --sign-with r1.key --sign-with r2.key --out keyring.json
    """
    now = now_utc()
    specs = {k: v for k, v in _specs(roles).items() if v is not None}
    keyring = make_keyring(1, now + parse_duration(expires), specs)
    envelope = sign_first(keyring, [load_private(p) for p in sign_with])
    write_new(out, encode_chain([envelope]), 0o644)
    _report(out, 1, envelope.payload)


def _rotate(
    keyring: Path, expires: str, sign_with: tuple[Path, ...], out: Path, **roles: Any
) -> None:
    """Write keyring vN+1 (roles given replace the old ones, others carry over).

    Sign with a threshold of the old root keys AND of the new root keys.

    \b
    Example:
      outpost keys keyring rotate --keyring keyring.json --bundle new-bundle.pub \\
        --sign-with r1.key --sign-with r2.key --out keyring.json
    """
    chain = decode_chain(read(keyring, "keyring file"), str(keyring))
    old, _ = load_trust_root(chain)
    new = next_keyring(old, now_utc() + parse_duration(expires), _specs(roles))
    envelope = sign_rotation(old, new, [load_private(p) for p in sign_with])
    write_replace(out, encode_chain([*(dsse.parse(d) for d in chain), envelope]))
    _report(out, new.version, envelope.payload)


def _report(out: Path, version: int, payload: bytes) -> None:
    click.echo(f"wrote keyring v{version} to {out}", err=True)
    click.echo(f"fingerprint (sha256 of keyring v{version}): {hashlib.sha256(payload).hexdigest()}")


def _command(
    name: str, func: Callable[..., None], required: bool, extra: list[click.Option]
) -> click.Command:
    common = [
        click.Option(["--expires"], default="365d", show_default=True, help="Lifetime, e.g. 365d."),
        click.Option(
            ["--sign-with"],
            multiple=True,
            required=True,
            type=EXISTING,
            help="Private key (PEM) to sign with; repeat to meet the root threshold(s).",
        ),
        click.Option(["--out"], required=True, type=NEW, help="Keyring file to write."),
    ]
    params: list[click.Parameter] = [*extra, *role_options(required), *common]
    return click.Command(name, callback=func, params=params, help=func.__doc__)


keyring_group.add_command(_command("create", _create, True, []))
keyring_group.add_command(
    _command(
        "rotate",
        _rotate,
        False,
        [click.Option(["--keyring"], required=True, type=EXISTING, help="Current keyring file.")],
    )
)
