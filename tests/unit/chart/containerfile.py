"""A small parser of Containerfile/Dockerfile instructions, enough to check ours statically.

Pure: text in, instructions out. Handles comments, line continuations, parser directives and
exec-form (JSON) arguments; no variable expansion beyond ARG defaults for FROM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

KNOWN = frozenset(
    {
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
        "MAINTAINER",
    }
)


class ContainerfileError(ValueError):
    """The text is not a valid Containerfile; the message names the line."""


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    def exec_form(self) -> list[str] | None:
        """The JSON array form of the arguments, or None for the shell form."""
        if not self.args.startswith("["):
            return None
        try:
            value = json.loads(self.args)
        except json.JSONDecodeError as exc:
            raise ContainerfileError(f"line {self.line}: bad exec form: {exc}") from exc
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ContainerfileError(f"line {self.line}: exec form must be a list of strings")
        return value


def parse(text: str) -> list[Instruction]:
    """Every instruction, with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(_instruction(start, pending + line))
        pending, start = "", 0
    if pending:
        raise ContainerfileError(f"line {start}: continuation runs past the end of the file")
    return out


def _instruction(line: int, text: str) -> Instruction:
    keyword, _, args = text.partition(" ")
    if keyword.upper() not in KNOWN:
        raise ContainerfileError(f"line {line}: unknown instruction {keyword!r}")
    return Instruction(line, keyword.upper(), re.sub(r"\s+", " ", args).strip())


def arg_defaults(instructions: list[Instruction]) -> dict[str, str]:
    """ARG name=default pairs (global and per stage alike)."""
    defaults = {}
    for ins in instructions:
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            defaults[name] = value
    return defaults


def expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), value)
