"""Kubernetes resource quantities ("500m", "1Gi", "2e3") as exact Decimals, and comparisons of them.

Pure: no I/O. Used to compare quota against usage and to treat "1000m" and "1" as the same value
when deciding whether a live object is in sync (the API server canonicalises quantities).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_PATTERN = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(text: str | int | float) -> Decimal | None:
    """The quantity's value, or None when `text` is not a Kubernetes quantity."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    match = _PATTERN.match(str(text).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        return None


def same_quantity(left: object, right: object) -> bool:
    """True when both are quantities of equal value (e.g. '1000m' and '1', '1024Mi' and '1Gi')."""
    if not isinstance(left, str | int) or not isinstance(right, str | int):
        return False
    a, b = parse_quantity(left), parse_quantity(right)
    return a is not None and b is not None and a == b


def exceeded(hard: Mapping[str, str], used: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Resources whose `used` value is above the `hard` limit: name -> (hard, used)."""
    over: dict[str, tuple[str, str]] = {}
    for name, limit in hard.items():
        if name not in used:
            continue
        limit_value, used_value = parse_quantity(limit), parse_quantity(used[name])
        if limit_value is not None and used_value is not None and used_value > limit_value:
            over[name] = (str(limit), str(used[name]))
    return over


def add_quantities(values: list[str]) -> str:
    """The sum of quantities as a plain decimal string (for summing pod requests)."""
    total = sum((parse_quantity(v) or Decimal(0) for v in values), Decimal(0))
    return format(total.normalize(), "f")
