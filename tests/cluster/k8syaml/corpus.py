"""The differential corpus: small YAML texts read by Outpost's reader and by kubectl.

No expected value is written here: kubectl is the oracle (tests/cluster/k8syaml/test_corpus.py).
VALUES are placed under `spec` of an object whose CRD keeps unknown fields; STREAMS are whole
streams of such objects (NAME is replaced by a unique object name), for what only exists at
stream level: separators, empty documents, a byte-order mark, CRLF line ends.
"""

from __future__ import annotations

NAME = "@NAME@"
HEAD = f"apiVersion: yaml.outpost.test/v1\nkind: Probe\nmetadata:\n  name: {NAME}\n"
BOM = "\N{ZERO WIDTH NO-BREAK SPACE}"

VALUES: dict[str, str] = {
    # the table
    "bare-equals": "a: =\n",
    "date": "a: 2024-01-01\n",
    "timestamp-lower-t": "a: 2001-12-14t21:59:43.10-05:00\n",
    "sexagesimal-short": "a: 1:20\n",
    "y-key": "y: 2\n",
    "octal-0o": "a: 0o17\n",
    # booleans and null as go-yaml spells them
    "bool-words": "a: [on, off, On, OFF, yes, no, Yes, NO, y, n, Y, N, true, False, TRUE]\n",
    "bool-keys": "n: 1\nOn: 2\noff: 3\n",
    "null-words": "a: [~, null, Null, NULL, '']\nb:\nc: nULL\n",
    "null-key": "~: 1\n",
    # numbers
    "ints": "a: [017, 0x1F, 0X1f, 0b101, +12, -0x10, 1_000, 0, -0, +0]\n",
    "not-octal": "a: [09, 08.5, 0o8, 0b2, 0x, 0o, 12e, 1e]\n",
    "floats": "a: [1e3, .5, +.5, -.5, 1., -1.5e-3, 6.02e+23, 1.0, 0.1, -0.0, 1_000.5]\n",
    "float-overflow": "a: 1e400\n",
    "big-ints": (
        "a: [99999999999999999999, 18446744073709551615, 9223372036854775807,"
        " 9223372036854775808, -9223372036854775808, -9223372036854775809]\n"
    ),
    "infinity": "a: .inf\n",
    "minus-infinity": "a: -.Inf\n",
    "not-a-number": "a: .nan\n",
    "infinity-key": ".inf: 1\n",
    "sexagesimal-long": "a: 190:20:30\nb: -1:30\nc: 1:30.5\n",
    # keys that are not strings
    "int-float-bool-keys": "1: a\n2.5: b\ntrue: c\n0x10: d\n1e6: e\n0.1: f\n123456789: g\n",
    "sequence-key": "? [1, 2]\n: a\n",
    "mapping-key": "? {a: 1}\n: b\n",
    "timestamp-key": "2024-01-01: a\n",
    # repeated keys, anchors, aliases, merges
    "duplicate-key": "a: 1\nb: 2\na: 3\n",
    "duplicate-nested": "a: {x: 1}\na: {y: 2}\n",
    "duplicate-bool-spellings": "y: 1\ntrue: 2\n",
    "anchor-alias": "base: &b {x: 1, l: [1, 2]}\nuse: *b\n",
    "scalar-alias": "a: &v 5\nb: *v\nc: &s yes\nd: *s\n",
    "alias-as-key": "a: &k name\n*k : 2\n",
    "merge-then-override": "b: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "override-then-merge": "b: &b {x: 1, y: 2}\nm:\n  y: 3\n  <<: *b\n",
    "merge-list": "a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n  w: 0\n",
    "merge-inline": "m:\n  <<: {x: 1}\n  z: 2\n",
    "merge-scalar": "m:\n  <<: 1\n",
    "merge-quoted-key": "m:\n  '<<': {x: 1}\n",
    "merge-as-value": "a: <<\n",
    "undefined-alias": "a: *nothing\n",
    # tags
    "tag-str": "a: !!str 1\nb: !!str true\n",
    "tag-int-quoted": 'a: !!int "12"\n',
    "tag-float-on-int": "a: !!float 1\n",
    "tag-bool-yes": "a: !!bool yes\n",
    "tag-null": "a: !!null ~\n",
    "tag-null-text": "a: !!null abc\n",
    "tag-int-bad": "a: !!int abc\n",
    "tag-local": "a: !foo bar\nb: !foo {x: 1}\nc: ! 12\n",
    "tag-timestamp": "a: !!timestamp 2024-01-01\n",
    "tag-binary": "a: !!binary aGVsbG8=\n",
    "tag-set": "a: !!set {x, y}\nb:\n  ? p\n  ? q\n",
    "tag-omap": "a: !!omap [x: 1, y: 2]\n",
    "tag-glued-to-comma": "a: [!=, x]\n",
    "tag-empty-in-block": "a:\n- =\n- !=\n- =~\n- !~\n",
    "override-then-merge-plain": "b: &b {x: 1, z: 2}\nm:\n  z: 3\n  <<: *b\n",
    "key-collision": "1: a\n'1': b\n",
    "colon-before-flow-comma": "a: [x:, y]\n",
    # strings
    "block-scalars": "a: |\n  ---\n  x\nb: >-\n  y\n  z\nc: |+\n  k\n\nd: end\n",
    "block-indent-indicator": "a: |2\n    two extra\n  base\n",
    "quoted-escapes": "a: \"\\u00e9\\t\\x41\\n\"\nb: 'it''s'\nc: \"=\"\n",
    "plain-multiline": "a: one\n  two\n\n  three\n",
    "unicode": "a: \u00e9\nb: \u6f22\u5b57\nc: \U0001f642\n",
    "quoted-lookalikes": "a: 'y'\nb: \"0o17\"\nc: '1:20'\nd: '2024-01-01'\n",
    "empty-collections": "a: {}\nb: []\nc: ''\n",
    "tab-after-colon": "a:\tb\n",
    "hash-in-value": "a: b#c\nb: c # comment\n",
    "special-plain": "a: [-, ., +, '?', ':', '@x']\nb: -1-\nc: 1.2.3\n",
}

# Whole streams: what only exists between documents.
STREAMS: dict[str, str] = {
    "empty-documents": f"---\n---\n{HEAD}spec: {{a: 1}}\n---\n\n---\n# only a comment\n---\n"
    f"{HEAD}spec: {{b: 2}}\n---\n",
    "null-document": f"~\n---\nnull\n---\n{HEAD}spec: {{a: 1}}\n",
    "byte-order-mark": f"{BOM}{HEAD}spec: {{a: 1}}\n",
    "byte-order-mark-and-separator": f"{BOM}---\n{HEAD}spec: {{a: 1}}\n",
    "crlf": f"{HEAD}spec:\n  a: |\n    x\n    y\n  b: 1\n---\n{HEAD}spec: {{c: 2}}\n".replace(
        "\n", "\r\n"
    ),
    "separator-with-comment": f"--- # first\n{HEAD}spec: {{a: 1}}\n---   \n{HEAD}spec: {{b: 1}}\n",
    "separator-with-content": f"--- {{a: 1}}\n{HEAD}spec: {{a: 1}}\n",
    "separator-with-block": f"{HEAD}spec: {{a: 1}}\n--- |\n  text\n",
    "four-dashes": f"{HEAD}spec: {{a: 1}}\n----\n{HEAD}spec: {{b: 1}}\n",
    "document-end-marker": f"{HEAD}spec: {{a: 1}}\n...\n{HEAD}spec: {{b: 1}}\n",
    "yaml-directive": f"%YAML 1.1\n---\n{HEAD}spec: {{a: 1}}\n",
    "dashes-indented-in-block": f"{HEAD}spec:\n  a: |\n    ---\n    --- x\n    ...\n",
    "json-object": '{"apiVersion": "yaml.outpost.test/v1", "kind": "Probe",'
    f' "metadata": {{"name": "{NAME}"}}, "spec": {{"a": 1, "b": "y", "c": 1.0}}}}\n',
    "trailing-comment-document": f"{HEAD}spec: {{a: 1}}\n---\n# the end\n",
}

# Where Outpost's reader refuses text kubectl reads, knowingly: case -> the refusal's words.
REFUSED_ON_PURPOSE: dict[str, str] = {
    "tag-binary": "!!binary",  # kubectl decodes it into a string, mangling non-UTF-8 bytes
    "tag-glued-to-comma": "directly followed by ','",  # go-yaml takes the comma into the tag
    "key-collision": "both become the JSON key",  # kubectl keeps one of the two at random
    # libyaml (our parser) refuses a plain scalar ending in ':' right before a flow ',' or ']',
    # which go-yaml reads as text: the reader is stricter there, never different.
    "colon-before-flow-comma": "found unexpected ':'",
}


def wrapped(name: str, text: str) -> str:
    """A value text as the `spec` of a Probe object called `name`."""
    body = "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))
    return HEAD.replace(NAME, name) + "spec:\n" + body
