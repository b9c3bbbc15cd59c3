"""Build a sample signed bundle with throwaway keys: `python -m bundle.sample OUTDIR`.

I/O: writes into OUTDIR fresh keys (root, bundle, hub, license; never use them for anything
real), a trust-root keyring `trust-root.json`, and a bundle of `examples/bundle/` (or
`--source`) plus any `--images` OCI layouts. Prints the bundle path and the trust-root path,
one per line, for scripts such as `make sample-bundle`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bundle.build import BuildRequest, build
from bundle.errors import BundleError
from bundle.keyfiles import generate, load_private, load_public, write_new
from bundle.keyring import decode_chain, encode_chain
from bundle.rotation import RoleSpec, make_keyring, sign_first
from bundle.timestamps import now_utc, parse_duration

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "bundle"
ROLES = ("root", "bundle", "hub", "license")


@click.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--images", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--version", "version", default="0.1.0", show_default=True)
@click.option("--sequence", default=1, show_default=True, type=click.IntRange(min=0))
def main(
    outdir: Path, images: tuple[Path, ...], source: Path | None, version: str, sequence: int
) -> None:
    """Generate throwaway keys and a keyring in OUTDIR, then build a signed sample bundle."""
    outdir.mkdir(parents=True, exist_ok=True)
    prefixes = {role: outdir / f"sample-{role}" for role in ROLES}
    for prefix in prefixes.values():
        if not prefix.with_name(prefix.name + ".key").exists():
            generate(prefix)
    now = now_utc()
    public = {r: load_public(p.with_name(p.name + ".pub")) for r, p in prefixes.items()}
    root_key = load_private(prefixes["root"].with_name("sample-root.key"))
    keyring = make_keyring(
        1, now + parse_duration("365d"), {r: RoleSpec((k,)) for r, k in public.items()}
    )
    trust = outdir / "trust-root.json"
    trust.unlink(missing_ok=True)
    write_new(trust, encode_chain([sign_first(keyring, [root_key])]), 0o644)
    out = outdir / f"sample-{version}-seq{sequence}.bundle.tar"
    out.unlink(missing_ok=True)
    request = BuildRequest(
        source or EXAMPLES, out, version, sequence, product="outpost-sample", images=images
    )
    bundle_key = load_private(prefixes["bundle"].with_name("sample-bundle.key"))
    build(request, decode_chain(trust.read_bytes()), [bundle_key], now)
    click.echo(out)
    click.echo(trust)


def run() -> None:
    """Console entry: expected errors print one line and exit 2."""
    try:
        main.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BundleError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    run()
