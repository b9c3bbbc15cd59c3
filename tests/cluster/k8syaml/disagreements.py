"""Print where PyYAML's own reading (what Outpost did before k8syaml) and kubectl disagree on
the corpus: the list the issue's closing note asks for.

Usage: .venv/bin/python -m tests.cluster.k8syaml.disagreements KUBECONFIG KUBECTL
(the Probe CRD must be installed: the corpus test installs it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from k8syaml import baseline
from tests.cluster.k8syaml import corpus
from tests.cluster.k8syaml.oracle import _objects, canonical

CASES = {
    **{f"value:{k}": corpus.wrapped("p", v) for k, v in corpus.VALUES.items()},
    **{f"stream:{k}": v.replace(corpus.NAME, "p") for k, v in corpus.STREAMS.items()},
}


def kubectl_specs(kubeconfig: str, kubectl: str, text: str) -> list[Any] | None:
    """kubectl's specs, None when it refuses the text."""
    proc = subprocess.run(
        [kubectl, "create", "--dry-run=client", "-o", "json", "-f", "-"],
        input=text.encode(), env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    return None if proc.returncode else [o.get("spec") for o in _objects(proc.stdout.decode())]


def pyyaml_specs(text: str) -> list[Any] | str:
    """PyYAML's specs, or the name of its error."""
    try:
        docs = [d for d in baseline.pyyaml_load_all(text) if d is not None]
    except Exception as exc:  # any PyYAML failure is an answer here
        return type(exc).__name__
    return [d.get("spec") if isinstance(d, dict) else d for d in docs]


def same(kubectl: list[Any] | None, pyyaml: list[Any] | str) -> bool:
    """Equal as JSON with types (a date or a set is not a string)."""
    if kubectl is None or isinstance(pyyaml, str):
        return kubectl is None and isinstance(pyyaml, str)
    try:
        plain = json.loads(json.dumps(pyyaml))
    except (TypeError, ValueError):
        return False
    return bool(canonical(plain) == canonical(kubectl))


def main(argv: list[str]) -> int:
    """Print each disagreement as `case: kubectl ... | PyYAML ...`."""
    kubeconfig, kubectl = argv
    count = 0
    for name, text in CASES.items():
        theirs, old = kubectl_specs(kubeconfig, kubectl, text), pyyaml_specs(text)
        if not same(theirs, old):
            count += 1
            shown = "refuses" if theirs is None else json.dumps(theirs)[:90]
            print(f"{name}: kubectl {shown} | PyYAML {str(old)[:90]}")
    print(f"{count} of {len(CASES)} cases disagree")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
