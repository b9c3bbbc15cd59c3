"""Cut a stream into documents the way kubectl does, before any YAML parsing.

kubectl (k8s.io/apimachinery's YAML reader) does not let the YAML parser see the stream: it
cuts the text at every line that starts with `---`, and refuses such a line when anything but
spaces or a `# comment` follows the three dashes (so `--- |` and `----` are errors, not YAML).
Each piece is then parsed alone and only its first document is used. We cut the same way so
that a stream means the same thing to us, and remember where each piece starts for errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from k8syaml.errors import YamlError

SEPARATOR = "---"


@dataclass(frozen=True)
class Piece:
    """One document's text and the 0-based line of the stream it starts on."""

    text: str
    first_line: int


def pieces(text: str) -> Iterator[Piece]:
    """The non-empty pieces between `---` lines, in order."""
    start = 0  # offset of the current piece
    first_line = 0
    line_no = 0
    pos = 0
    size = len(text)
    while pos < size:
        end = text.find("\n", pos)
        end = size if end < 0 else end + 1
        if text.startswith(SEPARATOR, pos):
            _check_separator(text[pos + 3 : end], line_no)
            if pos > start:
                yield Piece(text[start:pos], first_line)
            start, first_line = end, line_no + 1
        pos = end
        line_no += 1
    if size > start:
        yield Piece(text[start:], first_line)


def _check_separator(rest: str, line_no: int) -> None:
    """kubectl refuses a separator line followed by anything but a comment."""
    trimmed = rest.strip()
    if trimmed and not trimmed.startswith("#"):
        raise YamlError(
            f"invalid document separator: '---{rest.rstrip()}' (only a comment may follow '---')",
            line_no + 1,
            1,
            (SEPARATOR + rest).rstrip("\r\n"),
        )
