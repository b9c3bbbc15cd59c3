"""The collections being built: a mapping or a sequence, with go-yaml's merge-key rules.

A mapping frame alternates key and value. A merge key (`<<`) is remembered as key `None`;
its value is then a mapping (merged where it stands) or a list of mappings (merged last first,
so the earlier wins). Keys are checked for JSON collisions (`1` and `"1"`).
"""

from __future__ import annotations

from typing import Any

from k8syaml.errors import YamlError

STR = "tag:yaml.org,2002:str"


class Frame:
    """A collection under construction."""

    anchor: str | None
    first: int  # the builder's node count when it opened (to size anchors for alias limits)

    def wants_key(self) -> bool:
        """True when the next scalar is a mapping key."""
        return False

    def add(self, value: Any) -> None:
        """Add a finished value."""
        raise NotImplementedError

    def finish(self) -> Any:
        """The finished value."""
        raise NotImplementedError


class Origins:
    """The go-yaml identity of keys that were not strings, per built mapping.

    Needed when a mapping is merged (`<<`) into another: `y` (a boolean) merged next to a
    written `true` is the same key, next to a written `"true"` it is a collision.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # holds the dicts

    def keep(self, target: dict[str, Any], origins: dict[str, Any]) -> None:
        """Remember a finished mapping's non-string keys."""
        if origins:
            self._by_id[id(target)] = (target, origins)

    def of(self, target: dict[str, Any]) -> dict[str, Any]:
        """The non-string keys of a mapping built here ({} when all were strings)."""
        entry = self._by_id.get(id(target))
        return entry[1] if entry is not None and entry[0] is target else {}

    def copy(self, value: Any) -> Any:
        """A deep copy of a JSON value (an alias must not share its anchor's objects)."""
        if type(value) is dict:
            copied = {name: self.copy(item) for name, item in value.items()}
            self.keep(copied, self.of(value))
            return copied
        if type(value) is list:
            return [self.copy(item) for item in value]
        return value


class SeqFrame(Frame):
    """A list."""

    def __init__(self, event: Any, first: int) -> None:
        self.anchor = event.anchor
        self.first = first
        self.items: list[Any] = []

    def add(self, value: Any) -> None:
        """Append one item."""
        self.items.append(value)

    def finish(self) -> list[Any]:
        """The finished sequence."""
        return self.items


class MapFrame(Frame):
    """A dict being filled pair by pair; keys of other types than str keep their identity."""

    def __init__(self, event: Any, first: int, table: Origins) -> None:
        self.anchor = event.anchor
        self.first = first
        self.table = table
        self.target: dict[str, Any] = {}
        self.key: tuple[str, tuple[str, Any] | None] | None = None  # (name, None) for a string
        self.key_event: Any = None
        self.has_key = False
        self.origins: dict[str, tuple[str, Any]] = {}  # only keys that were not strings

    def wants_key(self) -> bool:
        """Whether the next value is a key."""
        return not self.has_key

    def take_key(self, key: tuple[str, tuple[str, Any] | None] | None, event: Any) -> None:
        """The next key (None for a merge key)."""
        self.key, self.key_event, self.has_key = key, event, True

    def add(self, value: Any) -> None:
        """Set the value of the pending key (or merge it, for a merge key)."""
        self.has_key = False
        key = self.key
        if key is None:
            self._merge(value)
        elif key[1] is None and not self.origins:
            self.target[key[0]] = value  # the common case: string keys only, nothing to check
        else:
            self._set(key[0], key[1] or (STR, key[0]), value)

    def _set(self, name: str, origin: tuple[str, Any], value: Any) -> None:
        if name in self.target and self.origins.get(name, (STR, name)) != origin:
            raise _at(self.key_event, f"two different keys both become the JSON key {name!r}")
        if origin[0] != STR:
            self.origins[name] = origin
        self.target[name] = value

    def _merge(self, value: Any) -> None:
        """`<<: map` or `<<: [map, ...]`, applied where it stands (later keys override it)."""
        sources = list(reversed(value)) if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                raise _at(self.key_event, "a merge (<<) needs a mapping or a list of mappings")
            origins = self.table.of(source)
            for name, item in source.items():
                self._set(name, origins.get(name, (STR, name)), item)

    def finish(self) -> dict[str, Any]:
        """The finished mapping."""
        self.table.keep(self.target, self.origins)
        return self.target


def _at(event: Any, problem: str) -> YamlError:
    mark = event.start_mark
    return YamlError(problem, mark.line + 1, mark.column + 1)
