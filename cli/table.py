# Ported from the AWS CLI v1 (https://github.com/aws/aws-cli): awscli/formatter.py (TableFormatter._build_table and
# its helpers) and awscli/table.py (MultiTable, Section, center_text, align_left, convert_to_vertical_table,
# IndentedStream, determine_terminal_width; the plain Styler, `--color off`, and the ColorizedStyler's codes).
# Copyright 2012-2013 Amazon.com, Inc. or its affiliates. Licensed under the Apache License, Version 2.0. Changed:
# typed, written into a string.
"""The aws CLI's ``--output table``, byte for byte (as ``aws ... --output table --color off`` prints it, or with
``--color on`` its colours too).

A response becomes a list of sections: the outermost titled with the operation's name, every nested dict or list
a section titled with its key, indented one level deeper. A dict's scalar members make one row under a header of
their sorted keys (a single scalar member makes a ``key | value`` row); a list of dicts makes one row per element.
Every section is as wide as the widest; when that is wider than the terminal, single-row sections turn vertical
(``key | value`` rows) and the widths are computed again.
"""

from __future__ import annotations

import struct
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

DEFAULT_WIDTH = 80
_PADDING = 4


def text_length(text: str) -> int:
    """Columns ``text`` takes on a terminal: east-asian wide, full-width and ambiguous characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WFA" else 1 for char in text)


def terminal_width(stream: TextIO | None = None, default: int = DEFAULT_WIDTH) -> int:
    """The width of the terminal ``stream`` (default: ``sys.stdout``) writes to, from the ``TIOCGWINSZ`` ioctl as the
    aws CLI asks it; ``default`` when it is no terminal (a pipe, a file, a captured stream) or cannot be asked."""
    try:
        from fcntl import ioctl
        from termios import TIOCGWINSZ
    except ImportError:  # pragma: no cover - Windows
        return default
    try:
        _, width = struct.unpack("hhhh", ioctl(stream or sys.stdout, TIOCGWINSZ, b"\000" * 8))[0:2]
    except Exception:  # noqa: BLE001 - as the aws CLI: whatever fails, the default
        return default
    return int(width)


def center_text(text: str, length: int, left_edge: str = "|", right_edge: str = "|") -> str:
    """``text`` centred in ``length`` columns between the edges (the left margin rounded down)."""
    size = text_length(text)
    char_start = (length // 2) - (size // 2) - 1
    length_so_far = text_length(left_edge) + char_start + size
    right_side_spaces = length - text_length(right_edge) - length_so_far
    return left_edge + " " * char_start + text + " " * right_side_spaces + right_edge


def align_left(
    text: str, length: int, left_edge: str = "|", right_edge: str = "|", left_padding: int = 2, size: int | None = None
) -> str:
    """``text`` left-aligned in ``length`` columns between the edges, two spaces in when it fits; ``size`` is the
    columns it takes when it holds colour codes (those of the text without them)."""
    size = text_length(text) if size is None else size
    computed = size + left_padding + text_length(left_edge) + text_length(right_edge)
    padding = left_padding if length - computed >= 0 else 0
    length_so_far = len(left_edge) + padding + size
    return left_edge + " " * padding + text + " " * (length - length_so_far - len(right_edge)) + right_edge


class Section:
    """One titled box: an optional header row and rows of cells."""

    def __init__(self) -> None:
        self.title: str | None = ""
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.indent_level = 0
        self._num_cols: int | None = None
        self._max_widths: list[int] = []

    def calculate_column_widths(self, padding: int = 0, max_width: int | None = None) -> list[int]:
        """Each column's width plus ``padding``, scaled to add up to ``max_width`` when given."""
        unscaled = [w + padding for w in self._max_widths]
        if max_width is None or not unscaled:
            return unscaled
        scale_factor = max_width / float(sum(unscaled))
        scaled = [round(scale_factor * w) for w in unscaled]
        off_by = sum(scaled) - max_width
        while off_by != 0:
            order: Sequence[int] = range(len(scaled))
            if off_by < 0:
                order = list(reversed(order))
            for i in order:
                if off_by > 0:
                    scaled[i] -= 1
                    off_by -= 1
                else:
                    scaled[i] += 1
                    off_by += 1
                if off_by == 0:
                    break
        return scaled

    def total_width(self, padding: int = 0, with_border: bool = False, outer_padding: int = 0) -> int:
        """The width this section needs: its columns, padded, within borders and indentation, or its title's."""
        border_padding = 2
        total = sum(w + padding for w in self.calculate_column_widths())
        if with_border:
            total += border_padding
        total += outer_padding + outer_padding
        return max(text_length(str(self.title)) + border_padding + outer_padding + outer_padding, total)

    def add_header(self, headers: list[str]) -> None:
        """Set the header row."""
        self._update_max_widths(headers)
        if self._num_cols is None:
            self._num_cols = len(headers)
        self.headers = headers

    def add_row(self, row: Sequence[Any]) -> None:
        """Add a row of cells (rendered with ``str``); every row of a section has as many cells as the first."""
        if self._num_cols is None:
            self._num_cols = len(row)
        if len(row) != self._num_cols:
            msg = f"Row should have {self._num_cols} elements, instead it has {len(row)}"
            raise ValueError(msg)
        cells = [str(r) for r in row]
        self.rows.append(cells)
        self._update_max_widths(cells)

    def _update_max_widths(self, row: list[str]) -> None:
        if not self._max_widths:
            self._max_widths = [text_length(el) for el in row]
        else:
            for i, el in enumerate(row):
                self._max_widths[i] = max(text_length(el), self._max_widths[i])


def _convert_to_vertical_table(sections: list[Section]) -> None:
    # Any single-row section with a header becomes `header | value` rows.
    for i, section in enumerate(sections):
        if len(section.rows) == 1 and section.headers:
            vertical = Section()
            vertical.title = section.title
            vertical.indent_level = section.indent_level
            for header, element in zip(section.headers, section.rows[0], strict=False):
                vertical.add_row([header, element])
            sections[i] = vertical


# The aws CLI's ColorizedStyler (--color on, or auto on a terminal): colorama's codes, as it writes them.
_ROW_ELEMENT = "\x1b[1m\x1b[34m{}\x1b[0m"  # Style.BRIGHT + Fore.BLUE ... Style.RESET_ALL
_INDENTATION_CHAR = "\x1b[2m\x1b[33m|\x1b[0m"  # Style.DIM + Fore.YELLOW ... Style.RESET_ALL


class _IndentedLines:
    """Collects lines, each framed by one ``|`` per indentation level on either side (coloured with ``colour``)."""

    def __init__(self, out: list[str], indent_level: int, *, colour: bool = False) -> None:
        self._out = out
        self._indent = (_INDENTATION_CHAR if colour else "|") * indent_level

    def write(self, line: str) -> None:
        self._out.append(self._indent + line + self._indent + "\n")


class MultiTable:
    """The sections of one response, rendered at the width of the widest."""

    def __init__(self, terminal_width: int = DEFAULT_WIDTH, *, colour: bool = False) -> None:
        self._sections: list[Section] = []
        self._current: Section | None = None
        self._terminal_width = terminal_width
        self._colour = colour

    def new_section(self, title: str | None, indent_level: int = 0) -> None:
        """Start a section titled ``title``; the rows and headers added next go to it."""
        self._current = Section()
        self._sections.append(self._current)
        self._current.title = title
        self._current.indent_level = indent_level

    def _section(self) -> Section:
        if self._current is None:
            msg = "a table's rows go into a section: call new_section first"
            raise ValueError(msg)
        return self._current

    def add_row_header(self, headers: list[str]) -> None:
        """Set the current section's header row."""
        self._section().add_header(headers)

    def add_row(self, row: Sequence[Any]) -> None:
        """Add a row to the current section."""
        self._section().add_row(row)

    def render(self) -> str:
        """The table's text, every line ending with a newline."""
        max_width = self._calculate_max_width()
        if max_width > self._terminal_width:
            _convert_to_vertical_table(self._sections)
            max_width = self._calculate_max_width()
        out = ["-" * max_width + "\n"]
        for section in self._sections:
            self._render_section(section, max_width, _IndentedLines(out, section.indent_level, colour=self._colour))
        return "".join(out)

    def _calculate_max_width(self) -> int:
        return max(
            s.total_width(padding=_PADDING, with_border=True, outer_padding=s.indent_level) for s in self._sections
        )

    def _render_section(self, section: Section, max_width: int, stream: _IndentedLines) -> None:
        max_width -= section.indent_level * 2
        if section.title:
            stream.write(center_text(section.title, max_width, "|", "|"))
            if not section.headers and not section.rows:
                stream.write("+{}+".format("-" * (max_width - 2)))
        if section.headers:
            widths = section.calculate_column_widths(padding=_PADDING, max_width=max_width)
            stream.write(_line_break(widths))
            stream.write(
                "".join(
                    center_text(header, width, "|" if i == 0 else "", "|")
                    for i, (width, header) in enumerate(zip(widths, section.headers, strict=False))
                )
            )
        if section.rows:
            widths = section.calculate_column_widths(padding=_PADDING, max_width=max_width)
            if not widths:
                return
            stream.write(_line_break(widths))
            for row in section.rows:
                stream.write(
                    "".join(
                        align_left(self._styled(element), width, "|" if i == 0 else "", "|", size=text_length(element))
                        for i, (width, element) in enumerate(zip(widths, row, strict=False))
                    )
                )
            stream.write(_line_break(widths))

    def _styled(self, element: str) -> str:
        return _ROW_ELEMENT.format(element) if self._colour else element


def _line_break(widths: list[int]) -> str:
    # Something like +-------+---------+---------+
    return "".join(
        "+{}+".format("-" * (width - 2)) if i == 0 else "{}+".format("-" * (width - 1))
        for i, width in enumerate(widths)
    )


def _scalar_type(element: Any) -> bool:
    return not isinstance(element, list | dict)


def _group_scalar_keys(current: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    headers = sorted(k for k, v in current.items() if _scalar_type(v))
    more = sorted(k for k, v in current.items() if not _scalar_type(v))
    return headers, more


class _TableBuilder:
    """``awscli.formatter.TableFormatter``: walks a response into a :class:`MultiTable`."""

    def __init__(self, table: MultiTable) -> None:
        self.table = table

    def build(self, title: str | None, current: Any, indent_level: int = 0) -> bool:
        if not current:
            return False
        if title is not None:
            self.table.new_section(title, indent_level=indent_level)
        if isinstance(current, list):
            if isinstance(current[0], dict):
                self._sub_table_from_list(current, indent_level, title)
            else:
                for item in current:
                    if _scalar_type(item):
                        self.table.add_row([item])
                    elif all(_scalar_type(el) for el in item):
                        self.table.add_row(list(item))
                    else:
                        self.build(title=None, current=item)
        if isinstance(current, dict):
            self._sub_table_from_dict(current, indent_level)
        return True

    def _sub_table_from_dict(self, current: dict[str, Any], indent_level: int) -> None:
        headers, more = _group_scalar_keys(current)
        if len(headers) == 1:
            self.table.add_row([headers[0], current[headers[0]]])
        elif headers:
            self.table.add_row_header(headers)
            self.table.add_row([current[k] for k in headers])
        for remaining in more:
            self.build(remaining, current[remaining], indent_level=indent_level + 1)

    def _sub_table_from_list(self, current: list[Any], indent_level: int, title: str | None) -> None:
        header_set: set[str] = set()
        more_set: set[str] = set()
        for item in current:
            item_headers, item_more = _group_scalar_keys(item)
            header_set.update(item_headers)
            more_set.update(item_more)
        headers, more = sorted(header_set), sorted(more_set)
        self.table.add_row_header(headers)
        first = True
        for element in current:
            if not first and more:
                self.table.new_section(title, indent_level=indent_level)
                self.table.add_row_header(headers)
            first = False
            self.table.add_row([element.get(header, "") for header in headers])
            for remaining in more:
                if remaining in element:
                    self.build(remaining, element[remaining], indent_level=indent_level + 1)


def format_table(data: Any, title: str | None, width: int | None = None, *, colour: bool = False) -> str:
    """``data`` (JSON-like: dicts, lists, scalars rendered with ``str``) as the aws CLI's table titled ``title`` (the
    operation's name; no title line when ``None``), for a terminal ``width`` columns wide (default:
    :func:`terminal_width` of ``sys.stdout``), coloured as the aws CLI colours it with ``colour`` (``--color on``).
    Empty (``""``) for an empty result: the aws CLI prints nothing then."""
    table = MultiTable(terminal_width(sys.stdout) if width is None else width, colour=colour)
    if not _TableBuilder(table).build("" if title is None else title, data):
        return ""
    return table.render()
