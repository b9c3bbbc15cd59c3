"""The reference parser's error family.

    RefsError                   a reference or address cannot be used (exit 2)
     └─ AddressError            the registry address or its options are unusable

Messages say which text was refused and what form is expected; never credentials.
"""

from __future__ import annotations


class RefsError(Exception):
    """Base of every error of the reference parser."""

    exit_code = 2


class AddressError(RefsError):
    """A registry address (`HOST[:PORT][/PREFIX]`) or its options cannot be used."""
