"""The reader's own rules, where no oracle is needed: errors and their places, stream cutting,
aliases, the writer's round trip, and the rendered-chart error message.

What a document *means* is checked against kubectl itself in tests/cluster/test_k8syaml.py.
"""

from __future__ import annotations

import pytest

import k8syaml
from k8syaml import reader, rendered, scalars
from tests.cluster.k8syaml import corpus


def test_plain_scalars_resolve_as_go_yaml_does() -> None:
    doc = k8syaml.load("a: =\nb: 2024-01-01\nc: 1:20\ny: 2\nd: 0o17\ne: 09\nf: 1e3\ng: 1.0\n")
    assert doc == {
        "a": "=",
        "b": "2024-01-01",
        "c": "1:20",
        "true": 2,
        "d": 15,
        "e": 9,
        "f": 1000,
        "g": 1,
    }
    assert [type(doc[k]) for k in "efg"] == [int, int, int]


def test_infinity_is_refused_with_its_place() -> None:
    with pytest.raises(k8syaml.YamlError) as caught:
        k8syaml.load_all("a: 1\n---\nkind: X\nspec:\n  limit: .inf\n")
    assert (caught.value.line, caught.value.column) == (5, 10)
    assert caught.value.snippet == "  limit: .inf"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("~: 1\n", "must not be null"),
        ("? [1]\n: 2\n", "must be a scalar"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: *nowhere\n", "not defined"),
        ("a: &x [*x]\n", "contains itself"),
        ("1: a\n'1': b\n", "both become the JSON key"),
        ("<<: 1\n", "merge"),
        ("a: !!int abc\n", "as a !!int"),
        ("a: .nan\n", "not a JSON number"),
        ("--- |\n  text\n", "document separator"),
        ("a: [1\n", "expected ',' or ']'"),
    ],
)
def test_text_kubernetes_cannot_convert_is_refused(text: str, problem: str) -> None:
    with pytest.raises(k8syaml.YamlError, match=problem):
        k8syaml.load_all(text)


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(k8syaml.YamlError, match="aliases excessively"):
        k8syaml.load("\n".join(lines))


def test_an_alias_is_a_copy_not_the_same_object() -> None:
    doc = k8syaml.load("a: &x {b: [1]}\nc: *x\n")
    doc["c"]["b"].append(2)
    assert doc["a"] == {"b": [1]}


def test_merge_keys_apply_where_they_stand() -> None:
    doc = k8syaml.load("b: &b {k: base, m: base}\nc:\n  k: mine\n  <<: *b\n  m: mine\n")
    assert doc["c"] == {"k": "base", "m": "mine"}


def test_stream_cutting_keeps_lines_and_drops_empty_documents() -> None:
    text = "---\n---\n# only a comment\n---\na: 1\n--- # next\nb: 2\n...\n"
    assert k8syaml.load_all(text) == [{"a": 1}, {"b": 2}]
    assert k8syaml.load_all(b"\xef\xbb\xbfa: 1\r\nb: x\r\n") == [{"a": 1, "b": "x"}]


def test_load_reads_the_first_document_of_a_file() -> None:
    assert k8syaml.load("a: 1\n---\nb: 2\n") == {"a": 1}
    assert k8syaml.load("") is None


def test_not_utf8_is_an_error_with_its_line() -> None:
    with pytest.raises(k8syaml.YamlError) as caught:
        k8syaml.load(b"a: 1\nb: \xff\n")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    "value",
    ["y", "n", "on", "0o17", "1e3", "09", "=", "2024-01-01", "1:20", "null", "", "<<", "0x1F"],
)
def test_dump_quotes_what_go_yaml_would_not_read_back_as_a_string(value: str) -> None:
    doc = {value: value, "list": [value, 1, 1.5, True, None]}
    assert k8syaml.load(k8syaml.dump(doc)) == doc


@pytest.mark.parametrize(
    ("value", "spelled"),
    [(1.0, "1"), (1.5, "1.5"), (0.1, "0.1"), (1e6, "1e+06"), (123456.0, "123456"),
     (3.14159265358979, "3.1415927"), (1e-5, "1e-05"), (1e39, ".inf")],
)  # fmt: skip
def test_float_keys_are_spelled_like_go_float32(value: float, spelled: str) -> None:
    assert scalars.go_float32_g(value) == spelled


def test_a_rendered_chart_error_names_template_line_and_shows_it() -> None:
    text = (
        "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "---\n# Source: web/templates/crd.yaml\napiVersion: v1\nkind: X\nspec:\n"
        "  ratio: .nan\n"
    )
    with pytest.raises(k8syaml.YamlError) as caught:
        k8syaml.load_all(text)
    message = rendered.describe(caught.value, text, "web")
    assert message.startswith("chart 'web', template web/templates/crd.yaml, line 4, column 10:")
    assert message.endswith("`ratio: .nan`")


# Where PyYAML's pure Python parser (the fallback without libyaml) differs from libyaml, which
# agrees with kubectl on both: one more reason the C parser is required where it exists.
PURE_PYTHON_DIFFERS = {
    "colon-before-flow-comma": "reads `[x:, y]` as [{x: null}, true]; kubectl reads 'x:'",
    "tab-after-colon": "refuses a tab after `key:`; kubectl reads it as a separator",
}


@pytest.mark.parametrize("case", sorted(set(corpus.VALUES) - set(PURE_PYTHON_DIFFERS)))
def test_the_pure_python_parser_reads_the_corpus_like_the_c_parser(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = corpus.wrapped("p", corpus.VALUES[case])
    with_c = _outcome(text)
    monkeypatch.setattr(reader, "_Parser", reader.PurePythonParser)
    assert _outcome(text) == with_c


def _outcome(text: str) -> object:
    try:
        return k8syaml.load_all(text)
    except k8syaml.YamlError:
        return "refused"
