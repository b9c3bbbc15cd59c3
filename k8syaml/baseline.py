"""PyYAML's own reading, for comparison only (the benchmark and the differential tests).

It is what Outpost did before this package: YAML 1.1 with PyYAML's types. Nothing in the
product calls it.
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def pyyaml_load_all(text: str) -> list[Any]:
    """PyYAML's safe_load_all with its C loader (raises yaml.YAMLError subclasses)."""
    return list(yaml.load_all(text, Loader=_Loader))


def pyyaml_load(text: str) -> Any:
    """PyYAML's safe_load with its C loader."""
    return yaml.load(text, Loader=_Loader)
