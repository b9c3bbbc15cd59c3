"""kubectl as the oracle: what `kubectl create --dry-run=client -o json` makes of a stream.

Every object is a Probe (CRD below, unknown fields preserved), so kubectl only converts the
YAML to JSON and prints it back; `spec` is the part under test.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from tests.conftest import Cluster

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: probes.yaml.outpost.test
spec:
  group: yaml.outpost.test
  names: {kind: Probe, plural: probes, singular: probe, listKind: ProbeList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""
INT64 = 1 << 63


@dataclass(frozen=True)
class Verdict:
    """kubectl's answer: the specs of the objects it read, or its error."""

    specs: list[Any] | None
    error: str = ""


def install_crd(cluster: Cluster) -> None:
    """The Probe CRD, Established (idempotent)."""
    proc = subprocess.run(
        [str(cluster.kubectl), "apply", "-f", "-"],
        input=CRD, env=cluster.env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cluster.kubectl_run(
        "wait", "--for", "condition=Established", "crd/probes.yaml.outpost.test", "--timeout=60s"
    )


CALLS = [0]  # kubectl processes started (the property test keeps them few)


def kubectl_read(cluster: Cluster, text: str) -> Verdict:
    """The `spec` of every object kubectl reads from `text`, in order, or its error."""
    CALLS[0] += 1
    proc = subprocess.run(
        [str(cluster.kubectl), "create", "--dry-run=client", "-o", "json", "-f", "-"],
        input=text.encode(), env=cluster.env, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0:
        return Verdict(None, proc.stderr.decode(errors="replace").strip())
    return Verdict([item.get("spec") for item in _objects(proc.stdout.decode())])


def _objects(text: str) -> list[dict[str, Any]]:
    """kubectl prints one JSON object after another (a List when it read a List)."""
    decoder, found, pos = json.JSONDecoder(), [], 0
    while text[pos:].strip():
        obj, end = decoder.raw_decode(text, len(text) - len(text[pos:].lstrip()))
        found += obj["items"] if obj.get("kind") == "List" else [obj]
        pos = end
    return found


def canonical(value: Any) -> Any:
    """A value with JSON's types made explicit: true is not 1, and numbers compare as numbers
    (kubectl prints a float64 beyond int64 as a long integer)."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int) and -INT64 <= value < INT64:
        return ("int", value)
    return ("float", float(value))
