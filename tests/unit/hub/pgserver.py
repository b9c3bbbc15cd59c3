"""A throwaway PostgreSQL server for the hub's store tests: Debian's binaries, a temp dir, a socket.

`initdb` and `pg_ctl` from /usr/lib/postgresql/<version>/bin, run as the current user, or as
`nobody` when that is root (PostgreSQL refuses to run as root). The server listens only on a Unix
socket inside its own directory (no TCP port, so no clash with anything else on the machine) and
runs with fsync off unless asked to be durable: its data is thrown away at the end. Each test
gets a schema of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

INSTALL_HINT = "PostgreSQL is missing: run 'make system-deps' (Debian: apt-get install postgresql)"


def bin_dir() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PgServer:
    """Start with `start()`, stop with `stop()`; `url(schema)` is a psycopg URL."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync and synchronous commits on (benchmarks), off (tests)
        found = bin_dir()
        if found is None:
            raise RuntimeError(INSTALL_HINT)
        self.bin = found
        self.root = Path(tempfile.mkdtemp(prefix="outpost-pg-"))
        self.data, self.socket = self.root / "data", self.root / "run"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "nobody", "--"]
            shutil.chown(self.root, "nobody")
            self.root.chmod(0o700)

    def run(self, *argv: str) -> None:
        done = subprocess.run([*self.as_user, *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr[-2000:]}")

    def start(self) -> PgServer:
        self.run("mkdir", "-p", str(self.socket))
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-k {self.socket} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                 "-l", str(self.root / "server.log"), "start")  # fmt: skip
        return self

    def base_url(self) -> str:
        return f"postgresql://postgres@/postgres?host={quote(str(self.socket))}"

    def url(self, schema: str) -> str:
        return f"{self.base_url()}&options={quote(f'-csearch_path={schema}')}"

    def fresh_schema(self) -> str:
        """A new empty schema; returns a URL whose connections use it."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.base_url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(name)

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
