"""Running the hub under uvicorn: one process, or N worker processes on one PostgreSQL database.

I/O: environment variables, the key file, the store, uvicorn. With `--workers N` uvicorn starts
N processes that each build the app from the environment (`app_from_env`); the parent migrates
the schema once before they start. Logs are one JSON object per line on stderr.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from hub.errors import HubError

ENV_DB, ENV_KEY = "OUTPOST_HUB_DB", "OUTPOST_HUB_KEY_FILE"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message (already JSON is merged)."""

    def format(self, record: logging.LogRecord) -> str:
        """One log record as a JSON line."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        message = record.getMessage()
        try:
            parsed = json.loads(message) if message.startswith("{") else None
        except ValueError:
            parsed = None
        doc.update(parsed if isinstance(parsed, dict) else {"message": message})
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(doc)


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hub.serving.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "outpost.hub": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        # Our own request line (outpost.hub) carries what the access log would, as JSON.
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def check_workers(db_url: str, workers: int) -> None:
    """SQLite is the embedded store of one process; several workers need PostgreSQL."""
    if workers < 1:
        raise HubError("--workers must be at least 1")
    if workers > 1 and db_url.startswith("sqlite:"):
        raise HubError(
            f"--workers {workers} needs PostgreSQL: a SQLite store is served by one process "
            "(use --workers 1, or --db postgresql://…)"
        )


def app_from_env() -> Any:
    """One worker's ASGI app, built from `OUTPOST_HUB_DB` and `OUTPOST_HUB_KEY_FILE`."""
    from hub.app import HubApp
    from hub.service import Hub
    from hub.startup import load_hub_key, open_store

    return HubApp(Hub(open_store(os.environ[ENV_DB]), load_hub_key(os.environ[ENV_KEY])))


def run(db_url: str, key_file: str, host: str, port: int, workers: int) -> None:
    """Migrate once, then serve with uvicorn (N processes when `workers` > 1)."""
    try:
        import uvicorn
    except ImportError as exc:
        raise HubError("serving needs uvicorn: install it with 'pip install uvicorn'") from exc
    from hub.startup import load_hub_key, open_store

    check_workers(db_url, workers)
    load_hub_key(key_file)  # a bad key file is reported before any process starts
    open_store(db_url).close()  # applies pending migrations once, before the workers start
    os.environ[ENV_DB], os.environ[ENV_KEY] = db_url, key_file
    uvicorn.run(
        "hub.serving:app_from_env", factory=True, host=host, port=port, workers=workers,
        lifespan="on", log_config=LOG_CONFIG, access_log=False, timeout_keep_alive=30,
    )  # fmt: skip
