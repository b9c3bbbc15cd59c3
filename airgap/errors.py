"""The air-gap importer's error family.

AirgapError                 anything the importer expects and can explain
 └─ RegistryError           the registry refused or failed a request
"""

from __future__ import annotations


class AirgapError(Exception):
    """Base of every error of the air-gap importer."""

    exit_code = 2


class RegistryError(AirgapError):
    """The registry refused or failed a request."""
