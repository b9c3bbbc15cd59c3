"""The local control plane's error family.

DevClusterError            anything `outpost dev` expects and can explain
 ├─ ToolchainError         Go missing, too old, or the module proxy unreachable
 ├─ BuildError             a `go build` failed (the tail of its output is attached)
 └─ ComponentError         a component failed to start or died (with the tail of its log)
"""

from __future__ import annotations


class DevClusterError(Exception):
    """Base of every error of the local control plane."""

    exit_code = 2


class ToolchainError(DevClusterError):
    """The Go toolchain or the module proxy is not usable."""


class BuildError(DevClusterError):
    """Building a binary failed."""


class ComponentError(DevClusterError):
    """A control-plane component did not become ready, or died."""
