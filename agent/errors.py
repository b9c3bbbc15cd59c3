"""The agent's error family.

    AgentError                  anything the agent expects and can explain
     ├─ ConfigError             bad settings or command-line input
     ├─ KubeError               the API server said no (wraps the client's exception)
     │    ├─ NotFoundError
     │    ├─ ConflictError
     │    └─ GoneError          a resource version expired (HTTP 410)
     ├─ SupportBundleError      a support bundle cannot be collected or written
     │    └─ SupportBundleInvalidError  it does not verify (exit 1)
     └─ HelmError               the helm CLI failed (exit status and its stderr)
          └─ ChartRenderError   `helm template` failed: the chart does not render

Every error carries `exit_code`: the CLI prints the message and exits with it (2 by default).
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""

    exit_code = 2


class ConfigError(AgentError):
    """Settings or command-line input that cannot be used as given."""


class KubeError(AgentError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(KubeError):
    """The object does not exist (HTTP 404)."""


class ConflictError(KubeError):
    """A conflicting write (HTTP 409)."""


class GoneError(KubeError):
    """A resource version expired (HTTP 410): start the list or watch again."""


class SupportBundleError(AgentError):
    """A support bundle cannot be collected or written."""


class SupportBundleInvalidError(SupportBundleError):
    """A support bundle does not verify: tampered, unsigned, or signed by another key."""

    exit_code = 1


class HelmError(AgentError):
    """The helm CLI failed; `stderr` holds its last words for the status message."""

    def __init__(self, message: str, stderr: str = "", returncode: int = 0) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


class ScopeRefused(AgentError):
    """A chart would create cluster-scoped objects that are not approved (nothing was run)."""


class ChartRenderError(HelmError):
    """`helm template` failed: the chart does not render with these values."""
