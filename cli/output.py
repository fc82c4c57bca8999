"""Render command results as the aws CLI does: ``json`` (default), ``text`` (tab-separated) or ``table``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

OutputFormat = Literal["json", "text", "table"]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    msg = f"cannot render {type(value).__name__}"
    raise TypeError(msg)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def render(data: Any, fmt: OutputFormat) -> str:
    """``data`` rendered in ``fmt``, ending with a newline (empty for an empty result, like the aws CLI)."""
    if data is None or data == {}:
        return ""
    if fmt == "json":
        return json.dumps(data, indent=4, default=_default, ensure_ascii=False) + "\n"
    if fmt == "text":
        lines: list[str] = []
        _text(data, lines, identifier=None, scalar_keys=None)
        return "".join(line + "\n" for line in lines)
    return _table(data)


# -- text: one line per object, scalars tab-separated, nested lists prefixed by their key in upper case --------------


def _text(item: Any, lines: list[str], identifier: str | None, scalar_keys: list[str] | None) -> None:
    if isinstance(item, Mapping):
        _text_dict(item, lines, identifier, scalar_keys)
    elif isinstance(item, Sequence) and not isinstance(item, str):
        _text_list(item, lines, identifier)
    else:
        lines.append(_scalar(item))


def _text_list(items: Sequence[Any], lines: list[str], identifier: str | None) -> None:
    if not items:
        return
    if any(isinstance(el, Mapping) for el in items):
        keys = sorted({k for el in items if isinstance(el, Mapping) for k, v in el.items() if not _nested(v)})
        for element in items:
            _text(element, lines, identifier, keys)
        return
    scalars = [el for el in items if not _nested(el)]
    if scalars:
        if identifier is not None:
            lines.extend(f"{identifier.upper()}\t{_scalar(el)}" for el in scalars)
        else:
            lines.append("\t".join(_scalar(el) for el in scalars))
    for element in items:
        if _nested(element):
            _text(element, lines, identifier, None)


def _text_dict(item: Mapping[str, Any], lines: list[str], identifier: str | None, keys: list[str] | None) -> None:
    if keys is None:
        scalars = [_scalar(v) for k, v in sorted(item.items()) if not _nested(v)]
        nested = [(k, v) for k, v in sorted(item.items()) if _nested(v)]
    else:
        scalars = [_scalar(item.get(k, "")) for k in keys]
        nested = [(k, item[k]) for k in sorted(set(item) - set(keys))]
    if scalars:
        lines.append("\t".join(([identifier.upper()] if identifier else []) + scalars))
    for key, value in nested:
        _text(value, lines, key, None)


def _nested(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str))


# -- table: boxed sections titled by key, like `aws ... --output table` ---------------------------------------------


def _table(data: Any) -> str:
    rows: list[tuple[str, list[list[str]]]] = []
    _table_sections(data, "Result", rows)
    width = max([len(title) + 4 for title, _ in rows] + [_row_width(r) for _, r in rows] + [20])
    out: list[str] = []
    border = "-" * width
    for title, body in rows:
        out.append(border)
        out.append("|" + title.center(width - 2) + "|")
        out.append(border)
        out.extend(_format_rows(body, width))
    out.append(border)
    return "\n".join(out) + "\n"


def _table_sections(data: Any, title: str, rows: list[tuple[str, list[list[str]]]]) -> None:
    if isinstance(data, Mapping):
        scalars = [[k, _scalar(v)] for k, v in data.items() if not _nested(v)]
        if scalars:
            rows.append((title, scalars))
        for key, value in data.items():
            if _nested(value):
                _table_sections(value, key, rows)
    elif isinstance(data, Sequence) and not isinstance(data, str):
        for element in data:
            if _nested(element):
                _table_sections(element, title, rows)
            else:
                rows.append((title, [[_scalar(element)]]))
    else:
        rows.append((title, [[_scalar(data)]]))


def _row_width(body: list[list[str]]) -> int:
    ncols = max((len(r) for r in body), default=0)
    col = [max(len(r[i]) for r in body if i < len(r)) for i in range(ncols)]
    return 3 + sum(col) + 5 * max(ncols - 1, 0) + 3


def _format_rows(body: list[list[str]], width: int) -> list[str]:
    ncols = max(len(r) for r in body)
    col = [max(len(r[i]) for r in body if i < len(r)) for i in range(ncols)]
    lines = []
    for row in body:
        cells = [row[i].ljust(col[i]) if i < len(row) else "" for i in range(ncols)]
        line = "|  " + "  |  ".join(cells)
        lines.append(line.ljust(width - 1) + "|")
    return lines
