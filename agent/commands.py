"""`outpost agent …`: run the controllers."""

from __future__ import annotations

import click


@click.group("agent")
def agent_group() -> None:
    """Run the in-cluster agent (controllers for DataPlane, Tenant, Application, Bundle)."""


@agent_group.command("run")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    help="Kubeconfig file (default: $KUBECONFIG, else in-cluster).",
)
@click.option("--namespace", help="Namespace of the agent (its Lease lives there).")
@click.option(
    "--create-namespace",
    is_flag=True,
    default=None,
    help="Create --namespace if it does not exist (without it, a missing namespace is an error).",
)
@click.option(
    "--resync", "resync_seconds", type=float, help="Seconds between full resyncs (default 60)."
)
@click.option(
    "--metrics-host", help="Address for /metrics and /healthz (default 127.0.0.1 out of cluster)."
)
@click.option(
    "--metrics-port", type=int, help="Port for /metrics and /healthz (default 8080; 0 picks one)."
)
@click.option("--concurrency", type=int, help="Objects reconciled at once (default 8).")
@click.option(
    "--write-qps",
    type=float,
    help="Write rate limit, requests per second (default 100: what a tight client sustained on "
    "a busy small control plane; 429s from API Priority and Fairness are retried).",
)
@click.option("--write-burst", type=int, help="Write rate limit burst (default 200).")
@click.option(
    "--helm", "helm_path", help="helm binary (default: $OUTPOST_HELM, else helm on PATH)."
)
@click.option("--chart-root", help="Directory that bundle chart paths are relative to.")
@click.option(
    "--usage-window-seconds",
    type=int,
    help="Length of a usage accounting window in seconds (default 3600).",
)
@click.option("--identity", help="This replica's name in the leader Lease (default: hostname).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info")
def run_command(log_level: str, **options: object) -> None:
    """Run the controllers until SIGTERM (leader-elected: several replicas are safe)."""
    import asyncio
    import logging
    import os
    import socket

    from agent import settings
    from agent.runtime import runner

    fallback = f"{socket.gethostname()}-{os.getpid()}"
    agent_settings = settings.from_env(os.environ, options, fallback)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(runner.run(agent_settings))
