"""What a scalar means to Kubernetes: go-yaml v2's resolution, then the YAML-to-JSON step.

kubectl, Helm and the API server read YAML with sigs.k8s.io/yaml: go-yaml v2 decodes into Go
values, which are converted to JSON. The rules, which differ from PyYAML's YAML 1.1 in many
small ways, are:

- Booleans: y Y yes Yes YES true True TRUE on On ON, and n N no ... off Off OFF.
- Null: empty, ~, null, Null, NULL.  `.inf`/`.nan` spellings are floats (JSON refuses them).
- Integers: Go's base-0 syntax after removing every `_`: 0x1F, 0o17, 017, 0b101, +12; beyond
  int64 they are uint64 or else decimal floats. `09` is not octal, so it is the float 9.
- Floats: `[-+]?(.d+|d+(.d*)?)([eE][-+]?d+)?` (so `1e3` is a number), or `.5`-style; a float
  that overflows stays a string. There are no sexagesimal numbers (`1:20` is a string).
- Timestamps are recognised but kept as the text written; `=` and `<<` are plain strings.
- Quoted and `!!str` scalars are strings; unknown tags (`!foo`, `!`) leave the text.

A value then becomes a JSON number (integral floats within int64 are integers, as the API
server stores them); a mapping key becomes a string (ints in decimal, floats in Go's shortest
float32 form, booleans as `true`/`false`); a null key cannot.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime
from decimal import Decimal
from typing import Any

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
BINARY = "tag:yaml.org,2002:binary"
RESOLVABLE = frozenset({INT, FLOAT, BOOL, NULL, TIMESTAMP})

INT64 = 1 << 63
UINT64 = 1 << 64

WORDS: dict[str, tuple[str, Any]] = {}
for _tag, _value, _spellings in (
    (BOOL, True, "y Y yes Yes YES true True TRUE on On ON"),
    (BOOL, False, "n N no No NO false False FALSE off Off OFF"),
    (NULL, None, "~ null Null NULL"),
    (FLOAT, math.nan, ".nan .NaN .NAN"),
    (FLOAT, math.inf, ".inf .Inf .INF +.inf +.Inf +.INF"),
    (FLOAT, -math.inf, "-.inf -.Inf -.INF"),
):
    for _word in _spellings.split():
        WORDS[_word] = (_tag, _value)
WORDS[""] = (NULL, None)

NUMERIC_START = frozenset("+-.0123456789")  # where numbers (and .5) may start
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_DIGITS = {
    16: re.compile(r"[0-9a-fA-F]+"),
    10: re.compile(r"[0-9]+"),
    8: re.compile(r"[0-7]+"),
    2: re.compile(r"[01]+"),
}
_PREFIX = {"x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2}
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:([Tt])|[ ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?(Z|[-+]\d{2}:\d{2})?)?"
)


class ScalarError(ValueError):
    """A scalar go-yaml or the JSON step refuses; the caller adds the place."""


def resolve(text: str) -> tuple[str, Any]:
    """go-yaml v2's (tag, Go value) for a plain scalar; ints may exceed int64 (then uint64)."""
    word = WORDS.get(text)
    if word is not None:
        return word
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.fullmatch(text):
            return FLOAT, float(text)
    elif first in NUMERIC_START:
        return _number(text)
    return STR, text


def _number(text: str) -> tuple[str, Any]:
    """Int, uint or float as go-yaml reads a scalar starting with a sign or digit."""
    plain = text.replace("_", "")
    value = go_parse_int(plain)
    # ParseInt takes int64; then ParseUint takes uint64 but no sign
    if value is not None and (-INT64 <= value < INT64 or (value < UINT64 and plain[0] not in "+-")):
        return INT, value
    if _YAML_FLOAT.fullmatch(plain):
        number = float(plain)
        if not math.isinf(number):  # Go's ParseFloat reports overflow: the text stays a string
            return FLOAT, number
    return STR, text


def go_parse_int(text: str) -> int | None:
    """Go's strconv base-0 integer syntax (sign, 0x/0o/0b or leading-0 octal); None if not."""
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    base = 10
    if len(text) > 1 and text[0] == "0":
        base = _PREFIX.get(text[1], 8)
        text = text[2:] if base != 8 or text[1] in "oO" else text[1:]
    if not text or not _DIGITS[base].fullmatch(text):
        return None
    return sign * int(text, base)


def resolve_tagged(tag: str, text: str) -> tuple[str, Any]:
    """A scalar with an explicit tag: the tag must agree with what the text resolves to."""
    if tag not in RESOLVABLE:
        return STR, text  # !!str, local and unknown tags: go-yaml keeps the text
    if tag == TIMESTAMP and _is_timestamp(text):
        return STR, text
    found, value = resolve(text) if text else (NULL, None)
    if found == tag:
        return found, value
    if tag == FLOAT and found == INT:
        return FLOAT, float(value or 0)
    raise ScalarError(f"cannot read {_short(found)} `{text}` as a {_short(tag)}")


def _is_timestamp(text: str) -> bool:
    """The four layouts go-yaml v2 accepts as timestamps (with Go's range checks)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None or (match[4] and not match[8]) or (match[5] and not match[4] and match[8]):
        return False
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    hms = (int(match[5]), int(match[6]), int(match[7])) if match[5] else (0, 0, 0)
    try:
        datetime(year, month, day, *hms)
    except ValueError:
        return False
    return True


def _short(tag: str) -> str:
    return "!!" + tag.rsplit(":", 1)[-1]


def json_value(tag: str, value: Any) -> Any:
    """The Go value as the API server stores it after the JSON step."""
    if tag == INT:
        return value if -INT64 <= value < INT64 else float(value)
    if tag == FLOAT:
        if math.isinf(value) or math.isnan(value):
            raise ScalarError(f"{value} is not a JSON number (Kubernetes refuses .inf and .nan)")
        if value.is_integer() and abs(value) < 1e21:
            # Go prints the float with its shortest digits (9.223372036854776e18 as
            # 9223372036854776000); the API server then keeps what fits an int64 as an int.
            whole = int(Decimal(repr(value)))
            if -INT64 <= whole < INT64:
                return whole
    return value


def json_key(tag: str, value: Any) -> str:
    """A mapping key as the YAML-to-JSON step spells it; null keys are refused."""
    if tag == STR:
        return str(value)
    if tag == BOOL:
        return "true" if value else "false"
    if tag == INT:
        return str(value)
    if tag == FLOAT:
        return go_float32_g(value)
    raise ScalarError("a mapping key must not be null (JSON keys are strings)")


def go_float32_g(value: float) -> str:
    """Go's FormatFloat(v, 'g', -1, 32), with go-yaml's spellings of infinities and NaN."""
    if math.isnan(value):
        return ".nan"
    single = _to_float32(value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    mantissa, exponent = _shortest32(single)
    sign = "-" if mantissa.startswith("-") else ""
    figures = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if _use_e(exponent):
        return _go_exponent(sign, figures, exponent)
    return sign + _go_fixed(figures, exponent)


def _shortest32(single: float) -> tuple[str, int]:
    """The fewest significant digits that read back as the same float32: (mantissa, exponent)."""
    for precision in range(9):
        text = f"{single:.{precision}e}"
        if _to_float32(float(text)) == single:
            break
    mantissa, exponent = text.split("e")
    return mantissa, int(exponent)


def _use_e(exponent: int) -> bool:
    """Shortest 'g' formatting switches to the exponent form below 1e-4 and from 1e6."""
    return exponent < -4 or exponent >= 6


def _go_exponent(sign: str, figures: str, exponent: int) -> str:
    mantissa = figures[0] + ("." + figures[1:] if len(figures) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _go_fixed(figures: str, exponent: int) -> str:
    if exponent < 0:
        return "0." + "0" * (-exponent - 1) + figures
    whole = figures[: exponent + 1].ljust(exponent + 1, "0")
    fraction = figures[exponent + 1 :]
    return whole + ("." + fraction if fraction else "")


def _to_float32(value: float) -> float:
    """Round to the nearest float32 (Go's float32(x) conversion), overflowing to infinity."""
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)
