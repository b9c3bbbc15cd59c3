"""Registry addresses: `HOST[:PORT][/PREFIX]` parsed into a value, and the plain-HTTP rule.

Pure: no I/O. Plain HTTP is only ever allowed towards a loopback host, because an air-gapped
site's registry credentials and images must not cross a network in clear text.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from refs.errors import AddressError

_HOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_ADDRESS = re.compile(_HOST + r"(?::(?P<port>[0-9]{1,5}))?(?P<prefix>(?:/[a-z0-9._/-]*)?)$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class RegistryAddress:
    """Where to push: scheme, host, optional port and repository prefix (no credentials)."""

    host: str
    port: int | None
    prefix: str
    scheme: str = "https"

    @property
    def netloc(self) -> str:
        """`host[:port]` as used in image references and in the HTTP Host header."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """`scheme://host[:port]`, the base of the registry's API URLs."""
        return f"{self.scheme}://{self.netloc}"

    def repository(self, path: str) -> str:
        """The repository name inside this registry for a source repository path."""
        return f"{self.prefix}/{path}" if self.prefix else path

    def __str__(self) -> str:
        return f"{self.netloc}/{self.prefix}" if self.prefix else self.netloc


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals (v4 or bracketed v6)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(text: str, *, insecure_http: bool = False) -> RegistryAddress:
    """Parse `HOST[:PORT][/PREFIX]`; with `insecure_http`, the host must be loopback."""
    match = _ADDRESS.match(text.strip())
    if match is None or "://" in text or "@" in text:
        raise AddressError(
            f"registry address '{text}' is not HOST[:PORT][/PREFIX]; "
            "give e.g. 'registry.example.internal:5000/outpost' without a scheme or credentials"
        )
    host, port_text = match["host"], match["port"]
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        raise AddressError(f"registry address '{text}' has port {port}; use 1-65535")
    prefix = _check_prefix(text, match["prefix"].strip("/"))
    if insecure_http and not is_loopback(host):
        raise AddressError(
            f"--insecure-http is only allowed for a loopback registry, not '{host}': "
            "serve the registry over TLS and pass its CA with --ca-file"
        )
    return RegistryAddress(host, port, prefix, "http" if insecure_http else "https")


def _check_prefix(text: str, prefix: str) -> str:
    for component in prefix.split("/") if prefix else ():
        if not _PATH_COMPONENT.match(component):
            raise AddressError(
                f"registry address '{text}': prefix component '{component}' is not a valid "
                "repository path component (lowercase letters, digits, '.', '_', '-')"
            )
    return prefix
