"""Render command results as the aws CLI does: ``json`` (default), ``text`` (tab-separated) or ``table``.

``text`` and ``table`` are byte for byte the aws CLI's (``awscli/text.py``; ``table`` in :mod:`iamledger.cli.table`)
for the same response, timestamps printed as the aws CLI prints a timestamp botocore parsed (ISO 8601 with its
offset, the ``json`` output's form).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import click

from iamledger.cli.table import format_table

OutputFormat = Literal["json", "text", "table", "jsonl", "csv"]
RECORD_FORMATS: frozenset[str] = frozenset({"jsonl", "csv"})
"""Formats of records, which only ``iamledger audit lookup-events`` and ``audit history`` print (and ``audit who-can``
``jsonl``: a principal per line)."""


def check_renderable(fmt: str) -> None:
    """A usage error (exit 2) for ``--output jsonl`` or ``csv`` outside the audit trail commands."""
    if fmt in RECORD_FORMATS:
        msg = f"--output {fmt} is only available for `iamledger audit lookup-events` and `iamledger audit history`" + (
            " (and jsonl for `iamledger audit who-can` and `audit findings`)." if fmt == "jsonl" else "."
        )
        raise click.UsageError(msg)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    msg = f"cannot render {type(value).__name__}"
    raise TypeError(msg)


def plain(data: Any) -> Any:
    """``data`` as the aws CLI's formatters see a response: dicts, lists and scalars, every timestamp the ISO 8601
    string ``json`` prints (``2024-05-01T12:00:00+00:00``, as botocore's parsed timestamp's ``isoformat()``), bytes
    decoded as ``json`` decodes them."""
    if isinstance(data, Mapping):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    if isinstance(data, datetime | date):
        return data.isoformat()
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def render(
    data: Any,
    fmt: OutputFormat,
    title: str | None = None,
    *,
    width: int | None = None,
    pages: Sequence[Mapping[str, Any]] | None = None,
    colour: bool = False,
) -> str:
    """``data`` rendered in ``fmt``, ending with a newline (empty for an empty result, like the aws CLI).

    ``title`` is the table's title: the operation's name (``ListUsers``), as the aws CLI titles it. ``width`` is the
    terminal's width for ``table`` (default: as the aws CLI finds it, 80 when stdout is no terminal); ``colour`` colours
    the table as the aws CLI's ``--color on`` does.

    ``pages`` are the pages ``data`` was merged from when it is an auto-paginated result (each page's share of the
    result keys): ``text`` then prints it as the aws CLI prints a paginated response, page by page (the first with
    ``data``'s other members), then the ``NextToken`` of a cut result on a last ``NEXTTOKEN`` line.
    """
    check_renderable(fmt)
    if data is None or data == {}:
        return ""
    if fmt == "json":
        return json.dumps(data, indent=4, default=_default, ensure_ascii=False) + "\n"
    if fmt == "table":
        return format_table(plain(data), title, width, colour=colour)
    lines: list[str] = []
    if not pages:
        _format_text(plain(data), lines)
        return "".join(lines)
    paged = {key for page in pages for key in page}
    first = {key: value for key, value in data.items() if key not in paged and key != "NextToken"}
    for index, page in enumerate(pages):
        _format_text(plain({**first, **page} if index == 0 else dict(page)), lines)
    if "NextToken" in data:
        _format_text({"NextToken": {"NextToken": data["NextToken"]}}, lines)
    return "".join(lines)


# -- text: a port of awscli/text.py (AWS CLI v1, Copyright Amazon.com, Inc. or its affiliates, Apache-2.0) ------------
# One line per object, scalars tab-separated in key order, a list's elements prefixed by its key in upper case.


def _format_text(
    item: Any, out: list[str], identifier: str | None = None, scalar_keys: list[str] | None = None
) -> None:
    if isinstance(item, dict):
        _format_dict(scalar_keys, item, identifier, out)
    elif isinstance(item, list):
        _format_list(item, identifier, out)
    else:
        out.append(f"{item}\n")


def _format_list(item: list[Any], identifier: str | None, out: list[str]) -> None:
    if not item:
        return
    if any(isinstance(el, dict) for el in item):
        all_keys = _all_scalar_keys(item)
        for element in item:
            _format_text(element, out, identifier, all_keys)
    elif any(isinstance(el, list) for el in item):
        scalars = [el for el in item if not isinstance(el, list | dict)]
        if scalars:
            _format_scalar_list(scalars, identifier, out)
        for non_scalar in (el for el in item if isinstance(el, list | dict)):
            _format_text(non_scalar, out, identifier)
    else:
        _format_scalar_list(item, identifier, out)


def _format_scalar_list(elements: list[Any], identifier: str | None, out: list[str]) -> None:
    if identifier is not None:
        out.extend(f"{identifier.upper()}\t{item}\n" for item in elements)
    else:
        out.append("\t".join(str(item) for item in elements) + "\n")


def _format_dict(scalar_keys: list[str] | None, item: dict[str, Any], identifier: str | None, out: list[str]) -> None:
    scalars, non_scalars = _partition_dict(item, scalar_keys)
    if scalars:
        if identifier is not None:
            scalars.insert(0, identifier.upper())
        out.append("\t".join(scalars) + "\n")
    for new_identifier, non_scalar in non_scalars:
        _format_text(non_scalar, out, new_identifier)


def _all_scalar_keys(list_of_dicts: list[Any]) -> list[str]:
    keys_seen: set[str] = set()
    for item_dict in list_of_dicts:
        if isinstance(item_dict, dict):
            keys_seen.update(key for key, value in item_dict.items() if not isinstance(value, dict | list))
    return sorted(keys_seen)


def _partition_dict(
    item_dict: dict[str, Any], scalar_keys: list[str] | None
) -> tuple[list[str], list[tuple[str, Any]]]:
    scalar: list[str] = []
    non_scalar: list[tuple[str, Any]] = []
    if scalar_keys is None:
        for key, value in sorted(item_dict.items()):
            if isinstance(value, dict | list):
                non_scalar.append((key, value))
            else:
                scalar.append(str(value))
    else:
        scalar = [str(item_dict.get(key, "")) for key in scalar_keys]
        non_scalar = [(key, item_dict[key]) for key in sorted(set(item_dict) - set(scalar_keys))]
    return scalar, non_scalar
