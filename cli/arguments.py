"""aws CLI arguments for one operation, built from botocore's model of its input: ``--user-name alice``,
``--tags Key=team,Value=a Key=env,Value=prod`` (shorthand) or ``--tags '[{"Key": "team", "Value": "a"}]'`` (JSON),
``--policy-document file://policy.json``, ``--set-as-default`` / ``--no-set-as-default``."""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore import xform_name

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

HIDDEN_PAGING_MEMBERS = frozenset({"Marker", "MaxItems"})


class ArgumentError(Exception):
    """A value that cannot be read as its parameter's type; reported as a usage error."""


def option_name(member: str) -> str:
    """``UserName`` -> ``--user-name``, as the aws CLI names options."""
    return "--" + str(xform_name(member, "-"))


def _strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text or "")).strip()


def short_doc(documentation: str, limit: int = 300) -> str:
    """A parameter's documentation for argparse's help: its sentences that fit in ``limit`` characters (at least the
    first; a first sentence longer than that ends at a word, with an ellipsis), never cut within a word."""
    text = _strip_html(documentation)
    if len(text) <= limit:
        return text
    end = text.rfind(". ", 0, limit)
    if end > 0:
        return text[: end + 1]
    return text[: text.rfind(" ", 0, limit)].rstrip(",;:") + " ..."


def summary(op: OperationModel) -> str:
    """The first sentence of the operation's documentation."""
    text = _strip_html(op.documentation)
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


def read_value(text: str) -> str:
    """A parameter value, read from a file for ``file://PATH`` (text) and ``fileb://PATH`` (bytes as text)."""
    prefix = "file://" if text.startswith("file://") else "fileb://" if text.startswith("fileb://") else None
    if prefix is None:
        return text
    path = Path(text[len(prefix) :]).expanduser()
    try:
        return path.read_text(encoding="utf-8") if prefix == "file://" else path.read_bytes().decode("utf-8")
    except OSError as error:
        msg = f"Unable to load paramfile {text}: {error}"
        raise ArgumentError(msg) from None
    except UnicodeDecodeError:
        msg = f"Unable to load paramfile ({path}), text contents could not be decoded."
        raise ArgumentError(msg) from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ArgumentError(f"Invalid JSON: {error}\nJSON received: {text}") from None


def _looks_like(text: str, opening: str) -> bool:
    return text.lstrip().startswith(opening)


def convert(shape: Shape, raw: Any, option: str | None = None) -> Any:
    """A command-line value (a string, or a list of strings for list parameters) as the parameter's type, as the aws
    CLI reads it: ``file://``/``fileb://`` values are read from the file first; a structure or map value that is a
    JSON object, and a list value that is one JSON array, is JSON (inline or from a file); else a structure is the
    shorthand syntax (``Key=a,Value=b``) and a list takes one value per word. ``option`` (``--tags``) names the
    parameter in the error, as the aws CLI's ``Error parsing parameter '--tags': ...``."""
    try:
        if shape.type_name != "list":
            return _scalar_or_structure(shape, read_value(raw))
        items: list[str] = raw if isinstance(raw, list) else [raw]
        texts = [read_value(item) for item in items]
        if len(texts) == 1 and _looks_like(texts[0], "["):
            return _json(texts[0])
        member: Shape = shape.member
        return [_scalar_or_structure(member, text) for text in texts]
    except ArgumentError as error:
        if option is None:
            raise
        raise ArgumentError(f"Error parsing parameter '{option}': {error}") from None


def _scalar_or_structure(shape: Shape, text: str) -> Any:
    if shape.type_name in {"structure", "map"}:
        if _looks_like(text, "{"):
            return _json(text)
        from iamledger.cli.shorthand import parse_shorthand  # its patterns cost a start-up that takes no shorthand

        try:
            return parse_shorthand(text, shape)
        except ValueError as error:  # ShorthandError, or a number that is not one
            raise ArgumentError(str(error)) from None
    if shape.type_name == "list":
        return _json(text) if _looks_like(text, "[") else [text]
    if shape.type_name in {"integer", "long"}:
        try:
            return int(text)
        except ValueError:
            raise ArgumentError(f"invalid int value: {text!r}") from None
    if shape.type_name == "timestamp":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise ArgumentError(f"invalid timestamp: {text!r}") from None
    return text


def build_parser(prog: str, op: OperationModel, *, paginated: bool) -> argparse.ArgumentParser:
    """An argparse parser for the operation's parameters, in the aws CLI's conventions."""
    parser = argparse.ArgumentParser(prog=prog, description=_strip_html(op.documentation), allow_abbrev=False)
    shape = op.input_shape
    members = shape.members if shape is not None else {}
    required = set(shape.required_members) if shape is not None else set()
    for name, member in members.items():
        if paginated and name in HIDDEN_PAGING_MEMBERS:
            continue
        option = option_name(name)
        doc = short_doc(member.documentation)
        if member.type_name == "boolean":
            group = parser.add_mutually_exclusive_group(required=name in required)
            group.add_argument(option, dest=name, action="store_true", default=None, help=doc)
            group.add_argument("--no-" + option[2:], dest=name, action="store_false", default=None)
        elif member.type_name == "list":
            parser.add_argument(option, dest=name, nargs="+", required=name in required, help=doc)
        else:
            parser.add_argument(option, dest=name, required=name in required, help=doc)
    if paginated:
        parser.add_argument(
            "--max-items",
            dest="cli_max_items",
            type=int,
            help="The total number of items to return (with --no-paginate: the operation's own MaxItems).",
        )
        parser.add_argument("--starting-token", dest="cli_starting_token", help="A NextToken from a previous call.")
        parser.add_argument("--page-size", dest="cli_page_size", type=int, help="The size of each page of the call.")
        parser.add_argument("--no-paginate", dest="cli_no_paginate", action="store_true", help="One call only.")
        # The service's own paging member, which the aws CLI takes too (and then makes one call only).
        parser.add_argument("--marker", dest="cli_marker", help=argparse.SUPPRESS)
    return parser


def parameters(op: OperationModel, namespace: argparse.Namespace) -> dict[str, Any]:
    """The operation's parameters from parsed arguments, converted to their model types."""
    shape = op.input_shape
    params: dict[str, Any] = {}
    for name, member in (shape.members if shape is not None else {}).items():
        raw = getattr(namespace, name, None)
        if raw is None:
            continue
        params[name] = raw if member.type_name == "boolean" else convert(member, raw, option_name(name))
    return params
