"""The aws CLI's shorthand syntax: ``Key=a,Value=b``, ``Name=v1,v2``, ``Name=[v1,v2]``, ``Name={A=x,B=[y,z]}``,
quoted values (``'a,b'``, ``"a,b"``), ``\\,`` for a comma in a value; then the values given the parameter's types
(a single value where a list is expected becomes a list of one, integers, floats and booleans converted).

A port of ``awscli/shorthand.py`` (``ShorthandParser`` and ``BackCompatVisitor``; AWS CLI v1, Copyright Amazon.com,
Inc. or its affiliates, Apache-2.0), but for its ``key@=file://...`` values, which the aws CLI v1 documents nowhere.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from botocore.model import Shape

_START_WORD: Final = r"\!\#-&\(-\+\--\<\>-Z\\\\-z\u007c-\uffff"
_FIRST_FOLLOW_CHARS: Final = r"\s\!\#-&\(-\+\--\\\\\^-\|~-\uffff"
_SECOND_FOLLOW_CHARS: Final = r"\s\!\#-&\(-\+\--\<\>-\uffff"
_ESCAPED_COMMA: Final = "(\\\\,)"
_FIRST_VALUE: Final = re.compile(f"({_ESCAPED_COMMA}|[{_START_WORD}])({_ESCAPED_COMMA}|[{_FIRST_FOLLOW_CHARS}])*")
_SECOND_VALUE: Final = re.compile(f"({_ESCAPED_COMMA}|[{_START_WORD}])({_ESCAPED_COMMA}|[{_SECOND_FOLLOW_CHARS}])*")
_SINGLE_QUOTED: Final = re.compile(r"'(?:\\'|[^'])*'")
_DOUBLE_QUOTED: Final = re.compile(r'"(?:\\"|[^"])*"')
_KEY_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-_.#/:")
_EOF: Final = ""


class ShorthandError(ValueError):
    """A value that is not the shorthand syntax, with the aws CLI's message (where, with a caret)."""


def _location(value: str, index: int) -> str:
    consumed, remaining, spaces = value, "", index
    if "\n" in value[:index]:
        spaces = index - value[:index].rindex("\n") - 1
    if "\n" in value[index:]:
        following = index + value[index:].index("\n")
        consumed, remaining = value[:following], value[following:]
    return f"{consumed}\n{' ' * spaces}^{remaining}"


class _Parser:
    def __init__(self, value: str) -> None:
        self.value = value
        self.index = 0

    def error(self, expected: str, actual: str) -> ShorthandError:
        where = _location(self.value, self.index)
        return ShorthandError(f"Expected: '{expected}', received: '{actual}' for input:\n{where}")

    def parameter(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        key, value = self.keyval()
        params[key] = value
        last = self.index
        while self.index < len(self.value):
            self.expect(",", whitespace=True)
            key, value = self.keyval()
            if key in params:
                where = _location(self.value, last + 1)
                msg = (
                    f'Second instance of key "{key}" encountered for input:\n{where}\n'
                    'This is often because there is a preceding "," instead of a space.'
                )
                raise ShorthandError(msg)
            params[key] = value
            last = self.index
        return params

    def keyval(self) -> tuple[str, Any]:
        key = self.key()
        self.expect("=", whitespace=True)
        return key, self.values()

    def key(self) -> str:
        start = self.index
        while not self.at_eof() and self.current() in _KEY_CHARS:
            self.index += 1
        return self.value[start : self.index]

    def values(self) -> Any:
        if self.at_eof():
            return ""
        if self.current() == "[":
            return self.explicit_list()
        if self.current() == "{":
            return self.hash_literal()
        return self.csv_value()

    def csv_value(self) -> Any:
        first = self.first_value()
        self.whitespace()
        if self.at_eof() or self.value[self.index] != ",":
            return first
        self.expect(",", whitespace=True)
        found = [first]
        while True:
            try:
                current = self.second_value()
                self.whitespace()
                if self.at_eof():
                    found.append(current)
                    break
                self.expect(",", whitespace=True)
                found.append(current)
            except ShorthandError:
                if self.at_eof():
                    raise
                self.backtrack_to(",")  # the word was the next key: the list ended before it
                break
        return first if len(found) == 1 else found

    def explicit_list(self) -> list[Any]:
        self.expect("[", whitespace=True)
        found = []
        while self.current() != "]":
            found.append(self.explicit_values())
            self.whitespace()
            if self.current() != "]":
                self.expect(",")
                self.whitespace()
        self.expect("]")
        return found

    def explicit_values(self) -> Any:
        if self.current() == "[":
            return self.explicit_list()
        if self.current() == "{":
            return self.hash_literal()
        return self.first_value()

    def hash_literal(self) -> dict[str, Any]:
        self.expect("{", whitespace=True)
        found: dict[str, Any] = {}
        while self.current() != "}":
            key = self.key()
            self.expect("=", whitespace=True)
            value = self.explicit_values()
            self.whitespace()
            if self.current() != "}":
                self.expect(",")
                self.whitespace()
            found[key] = value
        self.expect("}")
        return found

    def first_value(self) -> str:
        if self.current() in {"'", '"'}:
            return self.quoted()
        matched = _FIRST_VALUE.match(self.value[self.index :])
        if matched is None:
            return ""
        return self.consume(matched.end()).replace("\\,", ",").rstrip()

    def second_value(self) -> str:
        if self.current() in {"'", '"'}:
            return self.quoted()
        matched = _SECOND_VALUE.match(self.value[self.index :])
        if matched is None:
            raise self.error("<second>", "<none>")
        return self.consume(matched.end()).replace("\\,", ",").rstrip()

    def quoted(self) -> str:
        quote = self.current()
        matched = (_SINGLE_QUOTED if quote == "'" else _DOUBLE_QUOTED).match(self.value[self.index :])
        if matched is None:
            raise self.error("<singled quoted>" if quote == "'" else "<double quoted>", "<none>")
        text = self.consume(matched.end())[1:-1]
        return text.replace(f"\\{quote}", quote).replace("\\\\", "\\")

    def consume(self, length: int) -> str:
        text = self.value[self.index : self.index + length]
        self.index += length
        return text

    def expect(self, char: str, *, whitespace: bool = False) -> None:
        if whitespace:
            self.whitespace()
        if self.at_eof():
            raise self.error(char, "EOF")
        if self.value[self.index] != char:
            raise self.error(char, self.value[self.index])
        self.index += 1
        if whitespace:
            self.whitespace()

    def current(self) -> str:
        return self.value[self.index] if self.index < len(self.value) else _EOF

    def at_eof(self) -> bool:
        return self.index >= len(self.value)

    def backtrack_to(self, char: str) -> None:
        while self.index >= 0 and self.value[self.index] != char:
            self.index -= 1

    def whitespace(self) -> None:
        while not self.at_eof() and self.current() in string.whitespace:
            self.index += 1


def parse_shorthand(text: str, shape: Shape) -> Any:
    """``text`` in the shorthand syntax, as the value of a parameter of type ``shape`` (a structure or a map)."""
    parsed = _Parser(text).parameter()
    _typed(shape, parsed)
    return parsed


def _typed(shape: Shape, value: Any) -> None:
    """Give the values their types in place, as the aws CLI's ``BackCompatVisitor`` does."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                value[name] = _converted(member, value[name])
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            value[key] = _converted(shape.value, item)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _converted(shape.member, item)


def _converted(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "list" and not isinstance(value, list):
        value = [value]
    if kind in {"structure", "map", "list"}:
        _typed(shape, value)
        return value
    if not isinstance(value, str):
        return value
    if kind in {"integer", "long"}:
        return int(value)
    if kind in {"double", "float"}:
        return float(value)
    if kind == "boolean" and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value
