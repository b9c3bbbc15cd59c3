"""`.helmignore` rules, read and applied the way `helm package` applies them.

Pure: the file's text and chart-relative paths in, a yes/no out. The rules are Helm's, not git's:
a pattern without `/` matches the file's base name, one with `/` matches the whole relative path,
a leading `/` anchors it at the chart root, a trailing `/` matches directories only, `!` negates,
`**` is refused, and `*`/`?` never cross a `/` (Go's `path.Match`). Helm also always leaves out
hidden files under `templates/`. Helm's negation has an odd edge that we keep on purpose, since
`helm package` is the oracle: a `!pattern` rule ignores every path it does NOT match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bundle.errors import BundleError

DEFAULT_RULES = ("templates/.?*",)


@dataclass(frozen=True)
class Rule:
    """One parsed line: the compiled pattern and how it applies."""

    raw: str
    match: Callable[[str], bool]
    negate: bool = False
    dir_only: bool = False


def parse_rules(text: str) -> tuple[Rule, ...]:
    """The rules of a `.helmignore` (plus Helm's defaults), in order.

    Raises:
        BundleError: a line uses `**` or is not a valid pattern.
    """
    rules = [_rule(line) for line in (*text.splitlines(), *DEFAULT_RULES)]
    return tuple(rule for rule in rules if rule is not None)


def _rule(line: str) -> Rule | None:
    raw = line.strip()
    if not raw or raw.startswith("#"):
        return None
    if "**" in raw:
        raise BundleError(f".helmignore: '{raw}': '**' is not supported by Helm; use one '*'")
    pattern, negate = (raw[1:], True) if raw.startswith("!") else (raw, False)
    pattern, dir_only = (pattern[:-1], True) if pattern.endswith("/") else (pattern, False)
    regex = _translate(pattern.removeprefix("/"), raw)
    if pattern.startswith("/") or "/" in pattern:
        return Rule(raw, lambda path: regex.fullmatch(path) is not None, negate, dir_only)
    base = lambda path: regex.fullmatch(path.rsplit("/", 1)[-1]) is not None  # noqa: E731
    return Rule(raw, base, negate, dir_only)


def _translate(pattern: str, raw: str) -> re.Pattern[str]:
    """Go's path.Match syntax as a regular expression (`*`, `?`, `[...]`, `\\` escapes)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise BundleError(f".helmignore: '{raw}' has an unclosed '['")
            body = pattern[i + 1 : end]
            body = ("^" + body[1:] if body.startswith("^") else body).replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def ignored(rules: tuple[Rule, ...], path: str, is_dir: bool) -> bool:
    """Whether Helm leaves out `path` (relative to the chart root, `/`-separated)."""
    for rule in rules:
        if rule.negate:
            if (rule.dir_only and not is_dir) or not rule.match(path):
                return True
            continue
        if rule.dir_only and not is_dir:
            continue
        if rule.match(path):
            return True
    return False
