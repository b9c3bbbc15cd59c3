"""The one error the reader raises: what is wrong, and where (line, column, the line itself)."""

from __future__ import annotations


class YamlError(ValueError):
    """Text that Kubernetes would not read, or would read as something we refuse.

    `line` and `column` are 1-based positions in the text given to the reader (0 when unknown);
    `snippet` is that line, so a message can show it. `problem` is the message without the place.
    """

    def __init__(self, problem: str, line: int = 0, column: int = 0, snippet: str = "") -> None:
        self.problem = problem
        self.line = line
        self.column = column
        self.snippet = snippet
        super().__init__(self.describe())

    def describe(self, where: str = "") -> str:
        """One line: `<where>line L, column C: problem` (`where` names the file or member)."""
        place = f"line {self.line}, column {self.column}: " if self.line else ""
        prefix = f"{where}: " if where else ""
        return f"{prefix}{place}{self.problem}"

    def shifted(self, lines: int, snippet: str) -> YamlError:
        """The same error with its line moved by `lines` (a document's offset in its stream)."""
        return YamlError(self.problem, self.line + lines if self.line else 0, self.column, snippet)
