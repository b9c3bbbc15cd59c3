"""Build one document's JSON value from parser events, the way go-yaml v2 and the JSON step do.

Beyond the scalar rules (scalars.py), go-yaml decides three things PyYAML decides otherwise:

- Merge keys (`<<`) are applied where they stand: a merge overrides keys written before it and
  is overridden by keys after it; in a list of merged maps the earlier map wins.
- An alias is a fresh copy of its anchor's value (no sharing between the two places), and a
  document that expands aliases out of proportion (a "billion laughs") is refused.
- A repeated key: the last one wins. Two different keys that become the same JSON key (`1` and
  `"1"`, `y` and `true`) are refused: Kubernetes would keep one of them at random.

Events, not a composed node tree: PyYAML's nodes (each with two marks) take about twenty
times the text's size, the values built here about three times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from k8syaml import scalars
from k8syaml.errors import YamlError
from k8syaml.frames import Frame, MapFrame, Origins, SeqFrame

MERGE = "tag:yaml.org,2002:merge"
# go-yaml's limits on alias expansion: the allowed share of aliased nodes shrinks as documents grow.
ALIAS_RATIO_LOW = 400_000
ALIAS_RATIO_HIGH = 4_000_000


class Builder:
    """Consumes the events of one document and returns its value."""

    def __init__(self, next_event: Callable[[], Event | None], text: str = "") -> None:
        self.next_event = next_event
        self.text = text  # for the rare look at the source (a tag's last character)
        self.decoded = 0
        self.aliased = 0
        # anchor name -> ("scalar", (tag, value)) or ("value", built value, nodes it took)
        self.anchors: dict[str, tuple[Any, ...]] = {}
        self.origins = Origins()
        self.strings: dict[str, str] = {}  # one object per distinct short string: keys repeat

    def document(self) -> Any:
        """Read events up to the document's end; the document's value."""
        stack: list[Frame] = []
        result: Any = None
        while True:
            event = self.next_event()
            kind = event.__class__
            if kind is ScalarEvent:
                text = event.value  # type: ignore[union-attr]
                if _plain_string(event, text):
                    done, value = self._on_string(stack, event, text)
                else:
                    done, value = self._on_scalar(stack, event)  # type: ignore[arg-type]
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                self._open(stack, event, kind is MappingStartEvent)
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                done, value = self._close(stack)
            elif kind is AliasEvent:
                done, value = self._on_alias(stack, event)  # type: ignore[arg-type]
            elif kind is DocumentEndEvent or event is None:
                return result
            else:
                continue
            if done:
                result = value

    def _on_string(self, stack: list[Frame], event: Any, text: str) -> tuple[bool, Any]:
        """The common case, kept short: an untagged plain scalar that is a string."""
        self.decoded += 1
        if len(text) < 64:
            text = self.strings.setdefault(text, text)
        if stack:
            frame = stack[-1]
            if frame.__class__ is MapFrame and not frame.has_key:
                frame.take_key(None if text == "<<" else (text, None), event)
                return False, None
            frame.add(text)
            return False, None
        return True, text

    def _on_scalar(self, stack: list[Frame], event: ScalarEvent) -> tuple[bool, Any]:
        self.decoded += 1
        tag, value = self._resolve(event)
        if event.anchor:
            self.anchors[event.anchor] = ("scalar", (tag, value), event)
        if stack and stack[-1].wants_key():
            frame = stack[-1]
            assert isinstance(frame, MapFrame)
            merge = event.value == "<<" and _plain_or_merge(event)
            frame.take_key(None if merge else self._key(tag, value, event), event)
            return False, None
        return self._place(stack, self._json(tag, value, event))

    def _resolve(self, event: ScalarEvent) -> tuple[str, Any]:
        tag = event.tag
        if tag is None or tag == "!":
            if tag is None and event.implicit[0]:
                tag, value = scalars.resolve(event.value)
                if tag == scalars.STR and len(value) < 64:
                    value = self.strings.setdefault(value, value)
                return tag, value
            return scalars.STR, event.value
        if _tag_ends_in_comma(self.text, event):
            raise at(
                event,
                "a tag directly followed by ',' (Kubernetes reads the comma as part of "
                "the tag): put a space after the tag or quote the value",
            )
        if tag == scalars.BINARY:
            raise at(event, "!!binary values are refused: write the base64 text as a plain string")
        try:
            return scalars.resolve_tagged(tag, event.value)
        except scalars.ScalarError as exc:
            raise at(event, str(exc)) from None

    def _key(self, tag: str, value: Any, event: Event) -> tuple[str, tuple[str, Any]]:
        try:
            return scalars.json_key(tag, value), (tag, value)
        except scalars.ScalarError as exc:
            raise at(event, str(exc)) from None

    def _json(self, tag: str, value: Any, event: Event) -> Any:
        if tag == scalars.STR:
            return value
        try:
            return scalars.json_value(tag, value)
        except scalars.ScalarError as exc:
            raise at(event, str(exc)) from None

    def _open(self, stack: list[Frame], event: Any, mapping: bool) -> None:
        self.decoded += 1
        if stack and stack[-1].wants_key():
            raise at(event, "a mapping key must be a scalar, not a mapping or a list")
        frame: Frame = (
            MapFrame(event, self.decoded, self.origins)
            if mapping
            else SeqFrame(event, self.decoded)
        )
        stack.append(frame)

    def _close(self, stack: list[Frame]) -> tuple[bool, Any]:
        frame = stack.pop()
        value = frame.finish()
        if frame.anchor:
            self.anchors[frame.anchor] = ("value", value, self.decoded - frame.first + 1)
        return self._place(stack, value)

    def _on_alias(self, stack: list[Frame], event: AliasEvent) -> tuple[bool, Any]:
        anchor = self.anchors.get(event.anchor or "")
        if anchor is None:
            open_anchor = any(frame.anchor == event.anchor for frame in stack)
            problem = "contains itself" if open_anchor else "is not defined before it is used"
            raise at(event, f"the anchor &{event.anchor} {problem}")
        if anchor[0] == "scalar":
            self.decoded += 1
            tag, value = anchor[1]
            if stack and stack[-1].wants_key():
                frame = stack[-1]
                assert isinstance(frame, MapFrame)
                frame.take_key(self._key(tag, value, event), event)
                return False, None
            return self._place(stack, self._json(tag, value, event))
        self._expand(anchor[2], event)
        if stack and stack[-1].wants_key():
            raise at(event, "a mapping key must be a scalar, not a mapping or a list")
        return self._place(stack, self.origins.copy(anchor[1]))

    def _expand(self, nodes: int, event: Event) -> None:
        """Count an alias's nodes as go-yaml does and refuse excessive aliasing."""
        self.decoded += 1 + nodes
        self.aliased += nodes
        ratio = self.aliased / self.decoded
        if self.aliased > 100 and self.decoded > 1000 and ratio > _allowed(self.decoded):
            raise at(event, "the document expands aliases excessively (refused)")

    def _place(self, stack: list[Frame], value: Any) -> tuple[bool, Any]:
        """Put a finished value into the enclosing collection; (True, value) at the top."""
        if not stack:
            return True, value
        stack[-1].add(value)
        return False, None


def _plain_string(event: Any, text: str) -> bool:
    """An untagged plain scalar, without an anchor, that go-yaml reads as a string."""
    return (
        event.tag is None
        and event.anchor is None
        and event.implicit[0]
        and text not in scalars.WORDS
        and text[0] not in scalars.NUMERIC_START
    )


def _tag_ends_in_comma(text: str, event: ScalarEvent) -> bool:
    """libyaml ends a tag at a flow ',' ; go-yaml's scanner takes the comma into the tag."""
    mark = event.start_mark
    if mark is None:
        return False
    start = 0
    for _ in range(mark.line):
        start = text.find("\n", start) + 1
    line = text[start : text.find("\n", start) if "\n" in text[start:] else len(text)]
    end = mark.column
    while end < len(line) and line[end] not in " \t\r,[]{}":
        end += 1
    return line[mark.column : mark.column + 1] == "!" and line[end : end + 1] == ","


def _plain_or_merge(event: ScalarEvent) -> bool:
    return (event.tag is None and bool(event.implicit[0])) or event.tag == MERGE


def _allowed(decoded: int) -> float:
    if decoded <= ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW)


def at(event: Any, problem: str) -> YamlError:
    """An error at an event's place (1-based; the reader shifts it to the stream's line)."""
    mark = event.start_mark
    return YamlError(problem, mark.line + 1, mark.column + 1)
