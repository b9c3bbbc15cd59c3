"""The one `outpost` command: a root group that mounts each package's commands.

Expected errors (each package's error family) print one line to stderr and exit with the
error's `exit_code` (2 unless the family says otherwise); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from agent.commands import agent_group
from agent.errors import AgentError
from agent.support.cli import support_bundle
from agent.sync.cli import status
from airgap.cli import airgap
from airgap.errors import AirgapError
from bundle.cli import bundle, keys
from bundle.errors import BundleError
from bundle.license_cli import license_group
from bundle.preflight_cli import preflight_command
from devcluster.cli import dev
from devcluster.errors import DevClusterError
from facts.api import product_version
from refs.errors import RefsError
from wire.errors import WireError

EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    AgentError, BundleError, AirgapError, DevClusterError, WireError, RefsError,
)  # fmt: skip

# The hub is vendor-side and an optional extra (`outpost[hub]`); the agent's image leaves it out.
HUB: click.Group | None
try:
    from hub.cli import hub as HUB
    from hub.errors import HubError
except ImportError:  # pragma: no cover - exercised in the agent image only
    HUB = None
else:
    EXPECTED_ERRORS += (HubError,)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(product_version(), prog_name="outpost")
@click.option("--debug", is_flag=True, help="Show tracebacks for expected errors.")
def cli(debug: bool) -> None:
    """Outpost: apply a vendor's signed specs inside this cluster, report signed status home."""


for command in (
    keys,
    bundle,
    license_group,
    preflight_command,
    airgap,
    agent_group,
    HUB,
    status,
    support_bundle,
    dev,
):
    if command is not None:
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; never shows a traceback for an expected error unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Without standalone mode click returns `ctx.exit(n)` codes instead of exiting.
        code = cli.main(args=args, prog_name="outpost", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except EXPECTED_ERRORS as exc:
        if "--debug" in args:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
