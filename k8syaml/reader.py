"""Read YAML text into JSON values exactly as Kubernetes would (kubectl, Helm, the API server).

How: PyYAML's parser turns the text into events (libyaml, the C parser, where it is installed:
go-yaml is a Go port of libyaml, so both accept the same syntax, and it is about ten times faster
than the pure Python parser). build.py turns the events into values with go-yaml v2's rules and
the YAML-to-JSON step. No PyYAML resolver or constructor runs, so its YAML 1.1 types (dates,
sexagesimal numbers, the `=` value tag) never appear.

`load_all` cuts a stream like kubectl (split.py) and drops empty and null documents; `load`
reads a single file like Helm reads values.yaml or client-go a kubeconfig: the first document.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import DocumentStartEvent, StreamEndEvent
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from k8syaml.build import Builder
from k8syaml.errors import YamlError
from k8syaml.split import pieces


class PurePythonParser(Reader, Scanner, Parser):
    """PyYAML's pure Python reader, scanner and parser: about ten times slower, and it differs
    from libyaml and go-yaml on a tab after `key:` and on `[x:, y]` (see the unit tests). Used
    only where PyYAML was built without libyaml."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


try:
    from yaml._yaml import CParser as _Parser

    C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = PurePythonParser  # type: ignore[assignment,misc]
    C_PARSER = False


def load_all(text: str | bytes) -> list[Any]:
    """Every non-empty document of a stream (cut at `---` lines as kubectl cuts them)."""
    source = decode(text)
    documents = []
    for piece in pieces(source):
        try:
            value = _first_document(piece.text)
        except YamlError as exc:
            raise exc.shifted(
                piece.first_line, _line(source, exc.line + piece.first_line)
            ) from None
        if value is not None:
            documents.append(value)
    return documents


def load(text: str | bytes) -> Any:
    """The first document of a file (None when there is none), as Helm reads values.yaml."""
    source = decode(text)
    try:
        return _first_document(source)
    except YamlError as exc:
        raise exc.shifted(0, _line(source, exc.line)) from None


def decode(text: str | bytes) -> str:
    """Bytes as UTF-8 text (a byte-order mark is kept: the parser skips it like go-yaml)."""
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = text[: exc.start].count(b"\n") + 1
        raise YamlError("the text is not UTF-8", line, 0) from None


def _first_document(text: str) -> Any:
    """The first document's value (go-yaml parses no further); None when there is none."""
    parser = _Parser(text)
    try:
        event = parser.get_event()  # the stream's start
        while not isinstance(event, DocumentStartEvent | StreamEndEvent):
            event = parser.get_event()
        if isinstance(event, StreamEndEvent):
            return None
        return Builder(parser.get_event, text).document()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from None
    except RecursionError:
        raise YamlError("the document nests too deeply") from None
    finally:
        parser.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "not YAML"
    if mark is None:
        return YamlError(problem)
    return YamlError(problem, mark.line + 1, mark.column + 1)


def _line(text: str, number: int) -> str:
    """Line `number` (1-based) of `text`, without its line break; "" when out of range."""
    if number <= 0:
        return ""
    start = 0
    for _ in range(number - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)].rstrip("\r")
