"""Write JSON values as YAML that Kubernetes reads back as the same values.

PyYAML's dumper quotes a string only when PyYAML's own YAML 1.1 resolver would read it as
something else; go-yaml reads more strings as non-strings (`y`, `n`, `0o17`, `1e3`, `09`), so
the dumper asks go-yaml's rules instead: a string that would not come back as that string is
quoted.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode

from k8syaml import scalars

try:
    from yaml import CSafeDumper as _Base
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _Base  # type: ignore[assignment]


class _Dumper(_Base):
    """A safe dumper whose idea of "this plain scalar is a string" is go-yaml's."""

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            if value == "<<":
                return "tag:yaml.org,2002:merge"  # a plain `<<` key would be a merge
            tag, _ = scalars.resolve(value)
            return tag
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


def dump(value: Any) -> str:
    """Block-style YAML for a JSON value, keys in the given order."""
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=False, sort_keys=False)
