"""Preflight checks: whether a cluster can take a bundle, decided before anything is applied.

Pure: Preflight objects (from a bundle's `preflight/*.yaml`) and the facts gathered from a
cluster in; one `Result` per check out. The workstation (`outpost preflight`) and the agent
gather the facts each their own way and run this same code. A check is one entry of
`spec.checks` with a `name`, `strict` (default true) and exactly one of the kinds in `KINDS`.
A strict check that fails stops the bundle; a non-strict one is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bundle.errors import ManifestError
from facts.api import API_VERSION

KINDS = ("kubernetesVersion", "nodes", "allocatable", "storageClass", "apiResources",
         "registryReachable", "crdAbsent", "crdPresent")  # fmt: skip
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One named check of a Preflight object."""

    name: str
    kind: str
    spec: Any
    strict: bool = True


@dataclass(frozen=True)
class ClusterFacts:
    """What the checks are decided on; None where it could not be found out."""

    version: str = ""
    nodes: int = 0
    cpu: float = 0.0
    """Allocatable CPU summed over nodes, in cores."""
    memory: float = 0.0
    """Allocatable memory summed over nodes, in bytes."""
    storage_classes: Mapping[str, bool] = field(default_factory=dict)
    """Storage class name → whether it is the default one."""
    api_resources: frozenset[str] = frozenset()
    """`group/version/kind` served (core kinds as `v1/Kind`)."""
    crds: frozenset[str] = frozenset()
    registry: bool | None = None
    """Whether the bundle's registry answered; None: not checked (no registry, or a workstation)."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check: passed, failed, or skipped (passed is None)."""

    name: str
    kind: str
    strict: bool
    passed: bool | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as `--output json` and the Bundle status show it."""
        return {"name": self.name, "check": self.kind, "strict": self.strict,
                "passed": self.passed, "message": self.message}  # fmt: skip


def checks_of(docs: Sequence[Mapping[str, Any]], path: str = "preflight") -> list[Check]:
    """The checks of every Preflight object in `docs`; ManifestError for a malformed one."""
    found: list[Check] = []
    for doc in docs:
        if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Preflight":
            raise ManifestError(f"preflight check failed: '{path}' holds a {doc.get('kind')},"
                                f" not a Preflight of {API_VERSION}")  # fmt: skip
        for raw in (doc.get("spec") or {}).get("checks") or ():
            found.append(_check(raw, path))
    return found


def _check(raw: Any, path: str) -> Check:
    kinds = [k for k in KINDS if isinstance(raw, Mapping) and k in raw]
    if not isinstance(raw, Mapping) or len(kinds) != 1:
        raise ManifestError(f"preflight check failed: each check in '{path}' needs exactly one of"
                            f" {', '.join(KINDS)}")  # fmt: skip
    strict = raw.get("strict", True)
    name = str(raw.get("name") or kinds[0])
    return Check(name, kinds[0], raw[kinds[0]], strict is not False)


def evaluate(checks: Sequence[Check], facts: ClusterFacts) -> list[Result]:
    """Each check decided against `facts`."""
    return [_result(c, *_DECIDE[c.kind](c.spec, facts)) for c in checks]


def failed(results: Sequence[Result], strict: bool = True) -> list[Result]:
    """The checks that failed, strict or not."""
    return [r for r in results if r.passed is False and r.strict == strict]


def _result(check: Check, passed: bool | None, message: str) -> Result:
    return Result(check.name, check.kind, check.strict, passed, message)


def version_tuple(text: str) -> tuple[int, int, int]:
    """`v1.31.2` or `1.31` as a comparable tuple ((0, 0, 0) if unreadable)."""
    match = _VERSION.match(str(text).strip())
    if not match:
        return (0, 0, 0)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def quantity(text: object) -> float:
    """A Kubernetes quantity ('500m', '4Gi', '2') as a number (cores or bytes)."""
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ManifestError(f"preflight check failed: '{text}' is not a quantity")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def _kubernetes_version(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    have = version_tuple(facts.version)
    low, high = spec.get("min"), spec.get("max")
    if low and have < version_tuple(low):
        return False, f"Kubernetes {facts.version} is older than the minimum {low}"
    if high and have > version_tuple(high):
        return False, f"Kubernetes {facts.version} is newer than the maximum {high}"
    return True, f"Kubernetes {facts.version} is within [{low or '-'}, {high or '-'}]"


def _nodes(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    want = int(spec.get("min") or 0)
    return facts.nodes >= want, f"{facts.nodes} nodes (at least {want} required)"


def _allocatable(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    cpu = quantity(spec.get("cpu") or 0)
    memory = quantity(spec.get("memory") or 0)
    ok = facts.cpu >= cpu and facts.memory >= memory
    return ok, (f"allocatable {facts.cpu:g} CPU, {facts.memory / 2**30:.1f} GiB memory"
                f" (required {cpu:g} CPU, {memory / 2**30:.1f} GiB)")  # fmt: skip


def _storage_class(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    if spec.get("name"):
        name = str(spec["name"])
        return name in facts.storage_classes, f"storage class '{name}'" + (
            " exists" if name in facts.storage_classes else " does not exist")  # fmt: skip
    default = [n for n, is_default in facts.storage_classes.items() if is_default]
    return bool(default), (f"default storage class: {default[0]}" if default
                           else "no default storage class")  # fmt: skip


def _api_resources(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    missing = [str(r) for r in spec or () if str(r) not in facts.api_resources]
    if missing:
        return False, f"not served: {', '.join(missing)}"
    return True, f"served: {', '.join(str(r) for r in spec or ())}"


def _registry(_spec: Any, facts: ClusterFacts) -> tuple[bool | None, str]:
    if facts.registry is None:
        return None, "skipped: checked by the agent for bundles imported to a registry"
    return facts.registry, "registry answered" if facts.registry else "registry did not answer"


def _crd_absent(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    present = str(spec) in facts.crds
    return not present, f"CRD {spec} is {'present' if present else 'absent'}"


def _crd_present(spec: Any, facts: ClusterFacts) -> tuple[bool, str]:
    present = str(spec) in facts.crds
    return present, f"CRD {spec} is {'present' if present else 'absent'}"


_DECIDE: dict[str, Any] = {
    "kubernetesVersion": _kubernetes_version, "nodes": _nodes, "allocatable": _allocatable,
    "storageClass": _storage_class, "apiResources": _api_resources,
    "registryReachable": _registry, "crdAbsent": _crd_absent, "crdPresent": _crd_present,
}  # fmt: skip


def requested_resources(checks: Sequence[Check]) -> list[str]:
    """The `group/version/kind` names the checks ask about (what a gatherer must look up)."""
    return sorted({str(r) for c in checks if c.kind == "apiResources" for r in c.spec or ()})


def table(results: Sequence[Result]) -> str:
    """The results as a plain text table."""
    rows = [("CHECK", "KIND", "STRICT", "RESULT", "DETAIL")]
    for r in results:
        verdict = "SKIP" if r.passed is None else ("PASS" if r.passed else "FAIL")
        rows.append((r.name, r.kind, str(r.strict).lower(), verdict, r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)),
                                row[4]]) for row in rows)  # fmt: skip
