"""Property: for generated scalars and mappings, the reader and kubectl agree.

Hypothesis writes small `spec` mappings whose keys and values are plain, single- or
double-quoted scalars drawn to hit the resolution rules (numbers in every base, sexagesimal
and timestamp look-alikes, YAML 1.1 words, indicators), and flow lists of them. Many objects go
to kubectl in one multi-document stream; only when kubectl refuses a stream is each object sent
alone, to find which. Either both readers refuse an object, or both read the same JSON; the
reader may also refuse what it refuses on purpose (corpus.REFUSED_ON_PURPOSE), e.g. two keys that
become one JSON key (kubectl then keeps one of them at random).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import k8syaml
from tests.cluster.k8syaml.corpus import HEAD, NAME, REFUSED_ON_PURPOSE
from tests.cluster.k8syaml.oracle import canonical, install_crd, kubectl_read
from tests.conftest import Cluster

pytestmark = pytest.mark.cluster
BATCH = 40
WORDS = (
    *("y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "False", "nULL", "oN"),
    *("=", "=~", "0", "-0", "+", ".", "0x", "1_000", "+.5", "1e3", "0o17", "09"),
)
# Refused by both readers (the corpus has them); rare here so that most streams are read whole.
REFUSED = ("~", "null", "Null", "NULL", ".inf", "-.Inf", ".nan", "<<")
NUMBERISH = st.from_regex(
    r"[-+]?(0[xXoObB])?[0-9a-fA-F_]{1,5}(\.[0-9_]{0,3})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
CLOCKISH = st.from_regex(r"[0-9]{1,3}(:[0-9]{1,2}){1,2}(\.[0-9])?", fullmatch=True)
DATEISH = st.from_regex(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?"
    r"(Z|[-+][0-9]{2}:[0-9]{2})?)?",
    fullmatch=True,
)
TEXTISH = st.text(alphabet="abyYnNoO01.+-_=~<:/xe", min_size=1, max_size=6).filter(
    lambda text: text not in REFUSED
)
TOKENS = st.one_of(st.sampled_from(WORDS), NUMBERISH, CLOCKISH, DATEISH, TEXTISH)
RARE = st.sampled_from(REFUSED)


@st.composite
def scalars(draw: st.DrawFn) -> str:
    """A scalar as written: plain most of the time, sometimes quoted."""
    token = draw(RARE) if draw(st.integers(0, 200)) == 101 else draw(TOKENS)  # not 0: favoured
    style = draw(st.sampled_from(["plain"] * 6 + ["single", "double"]))
    if style == "single":
        return "'" + token.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(token)
    return token


@st.composite
def values(draw: st.DrawFn) -> str:
    """A scalar or a flow list of scalars."""
    if draw(st.integers(0, 4)) == 0:
        return "[" + ", ".join(draw(st.lists(scalars(), max_size=4))) + "]"
    return draw(scalars())


@st.composite
def specs(draw: st.DrawFn) -> str:
    """A block mapping of one to four entries, sometimes nested once."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(scalars())
        if draw(st.integers(0, 5)) == 0:
            inner = draw(scalars())
            lines.append(f"  {key}:\n    {inner}: {draw(values())}\n")
        else:
            lines.append(f"  {key}: {draw(values())}\n")
    return "".join(lines)


def ours(text: str) -> tuple[list[Any] | None, str]:
    try:
        return [doc.get("spec") for doc in k8syaml.load_all(text)], ""
    except k8syaml.YamlError as exc:
        return None, str(exc)


def check_one(cluster: Cluster, text: str) -> None:
    """One object: same JSON, or both refuse (or the reader's deliberate key refusal)."""
    kubectl = kubectl_read(cluster, text)
    specs_, error = ours(text)
    if kubectl.specs is None:
        assert specs_ is None, f"kubectl refuses ({kubectl.error}), reader reads {specs_}:\n{text}"
    elif not any(words in error for words in REFUSED_ON_PURPOSE.values()):
        assert not error, f"kubectl reads {kubectl.specs}, reader refuses ({error}):\n{text}"
        assert canonical(specs_) == canonical(kubectl.specs), text


@pytest.fixture(scope="module")
def probe_cluster(cluster: Cluster) -> Cluster:
    install_crd(cluster)
    return cluster


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # kubectl per try makes shrinking too slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(specs(), min_size=BATCH, max_size=BATCH))
def test_generated_mappings_read_the_same(probe_cluster: Cluster, batch: list[str]) -> None:
    texts = [HEAD.replace(NAME, f"p{i}") + "spec:\n" + spec for i, spec in enumerate(batch)]
    read = [text for text in texts if ours(text)[0] is not None]
    for text in texts:  # what the reader refuses goes to kubectl alone: it must refuse it too
        if ours(text)[0] is None:
            check_one(probe_cluster, text)
    stream = "---\n".join(read)  # what the reader reads goes to kubectl in one stream
    kubectl = kubectl_read(probe_cluster, stream)
    if kubectl.specs is None:
        for text in read:  # kubectl refused something: find what, object by object
            check_one(probe_cluster, text)
        return
    assert canonical(ours(stream)[0]) == canonical(kubectl.specs), stream
