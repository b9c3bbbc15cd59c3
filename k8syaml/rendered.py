"""Where a line of a rendered chart came from: Helm's `# Source:` comments.

`helm template` (and a release's stored manifest) print every rendered document as
`---`, then `# Source: <chart>/templates/<file>`, then the template's output. A line of the
stream is thus a line of one template's output; errors are told in those terms, because the
vendor can open that template but has never seen the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8syaml.errors import YamlError

SOURCE = "# Source: "


@dataclass(frozen=True)
class Origin:
    """A template path (empty when the stream has no `# Source:`) and a 1-based line in it."""

    template: str
    line: int


def origin(text: str, line: int) -> Origin:
    """The template that stream line `line` (1-based) belongs to, and its line there."""
    lines = text.split("\n", line)[:line]
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(SOURCE):
            return Origin(lines[index][len(SOURCE) :].strip(), line - index - 1)
    return Origin("", line)


def describe(exc: YamlError, text: str, chart: str) -> str:
    """One line naming the chart, the template, the line and column there, and the line shown."""
    where = origin(text, exc.line) if exc.line else Origin("", 0)
    parts = [f"chart '{chart}'"] if chart else []
    if where.template:
        parts.append(f"template {where.template}")
    place = ", ".join(parts) or "the rendered manifest"
    if where.line:
        place += f", line {where.line}, column {exc.column}"
    shown = f": `{exc.snippet.strip()}`" if exc.snippet.strip() else ""
    return f"{place}: {exc.problem}{shown}"
