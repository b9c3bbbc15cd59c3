"""Outpost's YAML reader against kubectl on the differential corpus (corpus.py).

For every text: when kubectl reads it, the reader gives the same JSON (types included); when
kubectl refuses it, the reader refuses it too. The only exceptions are the reader's deliberate
refusals (corpus.REFUSED_ON_PURPOSE), which must still be read by kubectl (else they are not
exceptions) and refused by the reader with the stated words.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import k8syaml
from tests.cluster.k8syaml import corpus
from tests.cluster.k8syaml.oracle import Verdict, canonical, install_crd, kubectl_read
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
CASES = {
    **{f"value:{k}": corpus.wrapped("p", v) for k, v in corpus.VALUES.items()},
    **{f"stream:{k}": v.replace(corpus.NAME, "p") for k, v in corpus.STREAMS.items()},
}


@pytest.fixture(scope="module")
def verdicts(cluster: Cluster) -> dict[str, Verdict]:
    """kubectl's answer for every case (a few at a time: each is its own kubectl process)."""
    install_crd(cluster)
    with ThreadPoolExecutor(4) as pool:
        answers = pool.map(lambda text: kubectl_read(cluster, text), CASES.values())
        return dict(zip(CASES, answers, strict=True))


def ours(text: str) -> tuple[list[Any] | None, str]:
    """The reader's specs, or its error."""
    try:
        return [doc.get("spec") for doc in k8syaml.load_all(text)], ""
    except k8syaml.YamlError as exc:
        return None, str(exc)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40 + 6  # the table has six rows


@pytest.mark.parametrize("case", list(CASES))
def test_reader_agrees_with_kubectl(case: str, verdicts: dict[str, Verdict]) -> None:
    kubectl = verdicts[case]
    specs, error = ours(CASES[case])
    refusal = corpus.REFUSED_ON_PURPOSE.get(case.split(":", 1)[1])
    if refusal is not None:
        assert kubectl.specs is not None, f"kubectl refuses it too: {kubectl.error}"
        assert refusal in error, f"the reader should refuse it ({refusal}); got {specs}"
        return
    if kubectl.specs is None:
        assert specs is None, f"kubectl refuses ({kubectl.error}); the reader gave {specs}"
        return
    assert not error, f"kubectl reads {kubectl.specs}; the reader refuses: {error}"
    assert canonical(specs) == canonical(kubectl.specs)
