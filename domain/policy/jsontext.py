"""A strict JSON reader (RFC 8259) that also reports where every object and array sits in the text.

The standard :mod:`json` module forgets positions, but AWS reports a matched statement by its start and end
line and column, so policies are read with this small reader instead. It accepts exactly RFC 8259 JSON (no
``NaN``, no trailing commas, no comments); like AWS's parser, a repeated object key keeps its last value.
Numbers are returned as :class:`JsonNumber` holding their source text, so ``1.50`` stays ``1.50``.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Final, TypeAlias

JsonPath: TypeAlias = tuple[str | int, ...]
JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | bool | JsonNumber | None"

MAX_DEPTH: Final = 64

_TOKEN: Final = re.compile(
    r"""[ \t\n\r]*(?:
        (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
      | (?P<punct>[{}\[\]:,])
      | (?P<literal>true|false|null)
    )""",
    re.VERBOSE,
)
_TRAILING_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class JsonNumber:
    """A JSON number, kept as the text it was written with."""

    text: str


@dataclass(frozen=True, slots=True)
class Span:
    """Where a container sits: ``start`` is the offset of its ``{``/``[``, ``end`` the offset just after its last
    character."""

    start: int
    end: int


class JsonSyntaxError(ValueError):
    """The text is not JSON; ``offset`` is where reading stopped."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"invalid JSON at offset {offset}")
        self.offset = offset


@dataclass(frozen=True)
class JsonText:
    """A parsed JSON text: its ``value``, the :class:`Span` of each container by path, and the number of
    characters that are not whitespace between tokens (AWS's policy size)."""

    text: str
    value: JsonValue
    spans: dict[JsonPath, Span]
    significant_chars: int

    def line_column(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column of ``offset`` (a line break is ``\\n``, ``\\r\\n`` or ``\\r``)."""
        starts = _line_starts(self.text)
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1


def _line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in re.finditer(r"\r\n|\r|\n", text))]


def _string(token: str) -> str:
    """The value of a string token (already checked by :data:`_TOKEN`): its characters, unless it has escapes."""
    if "\\" not in token:
        return token[1:-1]
    decoded: str = json.loads(token)
    return decoded


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.whitespace = 0
        self.spans: dict[JsonPath, Span] = {}

    def token(self) -> tuple[str, str, int]:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or match.lastgroup is None:
            raise JsonSyntaxError(self.pos)
        start = match.start(match.lastgroup)
        self.whitespace += start - self.pos
        self.pos = match.end()
        return match.lastgroup, match.group(match.lastgroup), start

    def value(self, path: JsonPath, depth: int) -> JsonValue:
        kind, text, start = self.token()
        if kind == "string":
            return _string(text)
        if kind == "number":
            return JsonNumber(text)
        if kind == "literal":
            return {"true": True, "false": False, "null": None}[text]
        if depth >= MAX_DEPTH:
            raise JsonSyntaxError(start)
        if text == "{":
            return self.object(path, depth, start)
        if text == "[":
            return self.array(path, depth, start)
        raise JsonSyntaxError(start)

    def object(self, path: JsonPath, depth: int, start: int) -> dict[str, JsonValue]:
        result: dict[str, JsonValue] = {}
        kind, text, offset = self.token()
        if (kind, text) != ("punct", "}"):
            while True:
                if kind != "string":
                    raise JsonSyntaxError(offset)
                key = _string(text)
                kind, text, offset = self.token()
                if text != ":" or kind != "punct":
                    raise JsonSyntaxError(offset)
                result.pop(key, None)  # a repeated key keeps its last value, in its last place
                result[key] = self.value((*path, key), depth + 1)
                kind, text, offset = self.token()
                if kind == "punct" and text == "}":
                    break
                if kind != "punct" or text != ",":
                    raise JsonSyntaxError(offset)
                kind, text, offset = self.token()
        self.spans[path] = Span(start, self.pos)
        return result

    def array(self, path: JsonPath, depth: int, start: int) -> list[JsonValue]:
        result: list[JsonValue] = []
        match = _TOKEN.match(self.text, self.pos)
        if match is not None and match.group("punct") == "]":
            self.token()
        else:
            while True:
                result.append(self.value((*path, len(result)), depth + 1))
                kind, text, offset = self.token()
                if kind == "punct" and text == "]":
                    break
                if kind != "punct" or text != ",":
                    raise JsonSyntaxError(offset)
        self.spans[path] = Span(start, self.pos)
        return result


def read_json(text: str) -> JsonText:
    """Parse ``text`` as one JSON value, raising :class:`JsonSyntaxError` if it is not exactly that."""
    reader = _Reader(text)
    value = reader.value((), 0)
    tail = _TRAILING_WHITESPACE.match(text, reader.pos)
    end = tail.end() if tail else reader.pos
    if end != len(text):
        raise JsonSyntaxError(end)
    reader.whitespace += end - reader.pos
    return JsonText(text, value, reader.spans, len(text) - reader.whitespace)
