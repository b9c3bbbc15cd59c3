"""Redaction before anything is written: pure rules over JSON values and log text.

Three kinds of rule, each with a name that the redaction report records:
- `sensitive-key`: a mapping key (or an env var's `name`) that names a credential — password,
  token, secret, API key, private key, credentials, connection string — hides its whole value;
- value patterns, wherever text appears: PEM private keys, JWTs, `Authorization`/bearer
  tokens, passwords in URLs (`scheme://user:PASSWORD@host`), `password=…`-style assignments,
  cloud access keys;
- `custom:<n>`: a regular expression the vendor's bundle or the customer's chart values add.

A finding names the member, the location (a JSON path, or a line number) and the rule, never the
value: the report must be safe to read by anyone who may read the bundle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MASK = "***REDACTED***"

SENSITIVE_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|"
    r"access[-_]?key|auth|connection[-_]?string|dsn|cookie|session)",
    re.IGNORECASE,
)

# (rule, pattern, group to hide: 0 = the whole match)
PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("pem-private-key", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
        re.DOTALL), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), 0),
    ("bearer-token", re.compile(r"(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})"), 1),
    ("url-password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@"), 1),
    ("assigned-secret", re.compile(
        r"(?i)\b[\w.-]*(?:password|passwd|secret|token|api[-_]?key|private[-_]?key)[\w.-]*"
        r"\"?\s*[:=]\s*\"?([^\s\"',;]+)"), 1),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), 0),
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One redaction: where (member and location) and by which rule; never the value."""

    member: str
    location: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        """The finding as the redaction report lists it."""
        return {"member": self.member, "location": self.location, "rule": self.rule}


@dataclass
class Redactor:
    """Applies the rules and remembers what it hid."""

    custom: Sequence[re.Pattern[str]] = ()
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def with_patterns(cls, patterns: Iterable[str]) -> Redactor:
        """A redactor with extra patterns (each a regular expression; bad ones are refused)."""
        compiled = []
        for text in patterns:
            try:
                compiled.append(re.compile(text))
            except re.error as exc:
                message = f"redaction pattern '{text}' is not a regular expression: {exc}"
                raise ValueError(message) from exc
        return cls(tuple(compiled))

    def text(self, member: str, text: str) -> str:
        """Log-like text, line by line; a finding per line and rule.

        PEM blocks span lines, so they go first, over the whole text (reported at their first
        line); everything else is matched within a line.
        """
        text = self._pem_blocks(member, text)
        out = []
        for number, line in enumerate(text.splitlines(keepends=True), start=1):
            out.append(self._scrub(member, f"line {number}", line))
        return "".join(out)

    def _pem_blocks(self, member: str, text: str) -> str:
        rule, pattern, _ = PATTERNS[0]
        for match in reversed(list(pattern.finditer(text))):
            line = text.count("\n", 0, match.start()) + 1
            self.findings.append(Finding(member, f"line {line}", rule))
            text = text[: match.start()] + MASK + text[match.end() :]
        return text

    def value(self, member: str, value: Any, path: str = "$") -> Any:
        """A JSON value: sensitive keys hide their values, strings are scrubbed by pattern."""
        if isinstance(value, dict):
            return {k: self._entry(member, path, str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._list_item(member, f"{path}[{i}]", item) for i, item in enumerate(value)]
        if isinstance(value, str):
            nested = _embedded_json(value)
            if nested is not None:  # e.g. kubectl's last-applied-configuration annotation
                return json.dumps(self.value(member, nested, path), sort_keys=True)
            return self._scrub(member, path, value)
        return value

    def _entry(self, member: str, path: str, key: str, value: Any) -> Any:
        where = f"{path}.{key}"
        secretish = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        if SENSITIVE_KEY.search(key) and secretish and value != "":
            self.findings.append(Finding(member, where, "sensitive-key"))
            return MASK
        return self.value(member, value, where)

    def _list_item(self, member: str, path: str, item: Any) -> Any:
        # env vars and similar name/value pairs: the name says whether the value is a secret
        named = isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item
        if named and SENSITIVE_KEY.search(item["name"]) and item["value"] not in ("", None):
            self.findings.append(Finding(member, f"{path}.value", "sensitive-key"))
            return {**self.value(member, item, path), "value": MASK}
        return self.value(member, item, path)

    def _scrub(self, member: str, location: str, text: str) -> str:
        for rule, pattern, group in PATTERNS:
            text, hits = _substitute(pattern, group, text)
            if hits:
                self.findings.append(Finding(member, location, rule))
        for n, pattern in enumerate(self.custom, start=1):
            text, hits = _substitute(pattern, 0, text)
            if hits:
                self.findings.append(Finding(member, location, f"custom:{n}"))
        return text


def _embedded_json(text: str) -> Any:
    """A JSON object or array held in a string, or None."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, (dict, list)) else None


def _substitute(pattern: re.Pattern[str], group: int, text: str) -> tuple[str, int]:
    count = 0

    def hide(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        if group == 0 or match.group(group) is None:
            return MASK
        start, end = match.span(group)
        whole_start = match.start()
        return match.group(0)[: start - whole_start] + MASK + match.group(0)[end - whole_start :]

    return pattern.sub(hide, text), count
