"""The help of the generated ``iamledger iam``/``sts`` commands, laid out as the aws CLI's (``aws iam create-user
help``): NAME, DESCRIPTION, SYNOPSIS and OPTIONS, each option with its type, its whole documentation (wrapped between
words, never cut) and, for structures and lists, the aws CLI's ``Shorthand Syntax`` and ``JSON Syntax`` examples."""

from __future__ import annotations

import argparse
import html
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from botocore import xform_name

from iamledger.cli.arguments import HIDDEN_PAGING_MEMBERS, option_name

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

WIDTH: Final = 79
SCALAR_TYPES: Final = frozenset(
    {"string", "integer", "long", "float", "double", "boolean", "timestamp", "blob", "character", "byte", "short"}
)
_MAX_STACK: Final = 3


@dataclass(frozen=True)
class ExtraOption:
    """An option of the command that is not a member of the operation's input (``--max-items``, ``--at``)."""

    name: str
    type_name: str
    help: str


def doc_paragraphs(documentation: str) -> list[str]:
    """The paragraphs of a model's HTML documentation as plain text (list items as ``o item``, as the aws CLI)."""
    text = re.sub(r"<li>\s*(<p>)?\s*", "\n\no ", documentation or "")
    text = re.sub(r"</p>\s*</li>", "</li>", text)
    text = re.sub(r"</?(p|ul|ol|note|important|br)\s*/?>", "\n\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text) if part.strip()]


def _fill(paragraphs: Sequence[str], indent: int) -> list[str]:
    lines: list[str] = []
    for paragraph in paragraphs:
        hang = 2 if paragraph.startswith("o ") else 0
        lines += textwrap.wrap(
            paragraph,
            width=WIDTH,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + hang),
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append("")
    return lines


def shorthand_example(shape: Shape) -> str | None:
    """The aws CLI's shorthand syntax example of a parameter (``Key=string,Value=string ...``), ``None`` for one that
    takes no shorthand (a scalar, a list of scalars, a document) or is too deep for it."""
    if shape.type_name not in {"structure", "list", "map"}:
        return None
    if shape.type_name == "list" and shape.member.type_name not in {"structure", "list", "map"}:
        return None
    if shape.type_name == "structure" and list(shape.members) == ["Value"]:
        return None
    try:
        if shape.type_name == "list":
            return _shorthand(shape.member, []) + " ..."
        return _shorthand(shape, [])
    except RecursionError:
        return None


def _shorthand(shape: Shape, stack: list[str]) -> str:
    if len(stack) > _MAX_STACK:
        raise RecursionError
    if shape.type_name == "structure":
        parts = []
        for name, member in shape.members.items():
            if member.name in stack:
                parts.append(f"{name}=( ... recursive ... )")
                continue
            stack.append(member.name)
            try:
                parts.append(f"{name}={_shorthand(member, stack)}")
            finally:
                stack.pop()
        inner = ",".join(parts)
        return inner if not stack else "{" + inner + "}"
    if shape.type_name == "list":
        stack.append(shape.member.name)
        try:
            element = _shorthand(shape.member, stack)
        finally:
            stack.pop()
        complex_member = shape.member.type_name in {"structure", "list", "map"}
        return f"[{element},{element}]" if complex_member or len(stack) > 1 else f"{element},{element}"
    if shape.type_name == "map":
        stack.append(shape.value.name)
        try:
            value = _shorthand(shape.value, stack)
        finally:
            stack.pop()
        start = f"KeyName1={value},KeyName2={value}"
        return "{" + start + "}" if stack else start
    return str(shape.type_name)


def _value_name(shape: Shape, *, enums: bool = True) -> str:
    enum = getattr(shape, "enum", None)
    if shape.type_name == "string":
        return "|".join(f'"{value}"' for value in enum) if enum and enums else '"string"'
    if shape.type_name == "boolean":
        return "true|false"
    return str(shape.type_name)


def json_example(shape: Shape, stack: list[str] | None = None, indent: int = 0) -> list[str]:
    """The aws CLI's ``JSON Syntax`` example of a structure, list or map parameter, as lines."""
    stack = [] if stack is None else stack
    if stack.count(shape.name) > 1:
        return ["{ ... recursive ... }"] if shape.type_name == "structure" else [""]
    stack.append(shape.name)
    try:
        return _json_lines(shape, stack, indent)
    finally:
        stack.pop()


def _json_lines(shape: Shape, stack: list[str], indent: int) -> list[str]:
    pad = " " * indent
    if shape.type_name == "list":
        if shape.member.type_name in SCALAR_TYPES:
            return [f"[{_value_name(shape.member)}, ...]"]
        inner = json_example(shape.member, stack, indent + 2)
        return ["[", f"{pad}  {inner[0]}", *inner[1:], f"{pad}  ...", f"{pad}]"]
    if shape.type_name == "map":
        key = _value_name(shape.key)
        if shape.value.type_name in SCALAR_TYPES:
            return ["{" + f"{key}: {_value_name(shape.value)}", f"{pad}  ...}}"]
        inner = json_example(shape.value, stack, indent + 4)
        return ["{" + f"{key}: {inner[0]}", *inner[1:], f"{pad}  ...}}"]
    if shape.type_name != "structure":
        return [_value_name(shape)]
    return ["{...}"] if getattr(shape, "is_document_type", False) else _structure_example(shape, stack, indent)


def _structure_example(shape: Shape, stack: list[str], indent: int) -> list[str]:
    pad = " " * (indent + 2)
    lines = ["{"]
    members = list(shape.members.items())
    for index, (name, member) in enumerate(members):
        comma = "," if index < len(members) - 1 else ""
        if member.type_name in SCALAR_TYPES:
            lines.append(f'{pad}"{name}": {_value_name(member)}{comma}')
        else:
            inner = json_example(member, stack, indent + 2)
            lines += [f'{pad}"{name}": {inner[0]}', *inner[1:]]
            lines[-1] += comma
    lines.append(" " * indent + "}")
    return lines


def _option_lines(name: str, shape: Shape) -> list[str]:
    if shape.type_name == "boolean":
        head = f"{option_name(name)} | --no-{option_name(name)[2:]} (boolean)"
    else:
        head = f"{option_name(name)} ({shape.type_name})"
    lines = [f"       {head}", *_fill(doc_paragraphs(shape.documentation) or [""], 10)]
    example = shorthand_example(shape)
    if example:
        lines += ["       Shorthand Syntax:", "", *(f"          {line}" for line in example.splitlines()), ""]
    if shape.type_name == "list" and shape.member.type_name in SCALAR_TYPES:
        value = _value_name(shape.member, enums=False)
        lines += ["       Syntax:", "", f"          {value} {value} ...", ""]
        enum = getattr(shape.member, "enum", None)
        if enum:
            lines += ["          Where valid values are:", *(f"              {v}" for v in enum), ""]
    elif shape.type_name not in SCALAR_TYPES:
        lines += ["       JSON Syntax:", "", *(f"          {line}" for line in json_example(shape)), ""]
    return lines


def _output_lines(name: str, shape: Shape, indent: int, stack: list[str]) -> list[str]:
    """A member of the output as the aws CLI's help lists it: ``Name -> (type)``, its documentation, its members."""
    head = f"{name} -> ({shape.type_name})" if name else f"({shape.type_name})"
    lines = [" " * indent + head, *_fill(doc_paragraphs(shape.documentation), indent + 3)]
    if shape.name in stack or len(stack) > _MAX_STACK:
        return lines
    stack.append(shape.name)
    try:
        if shape.type_name == "structure":
            for member_name, member in shape.members.items():
                lines += _output_lines(member_name, member, indent + 3, stack)
        elif shape.type_name == "list":
            lines += _output_lines("", shape.member, indent + 3, stack)
    finally:
        stack.pop()
    return lines


def operation_help(command: str, op: OperationModel, parser: argparse.ArgumentParser, *, paginated: bool) -> str:
    """The help page of a generated command: ``command`` (``create-user``) runs ``op`` with the options of ``parser``
    (an auto-paginated command's ``Marker``/``MaxItems`` are not options: ``--starting-token`` and ``--max-items``
    stand for them)."""
    hidden = HIDDEN_PAGING_MEMBERS if paginated else frozenset()
    extras = [
        ExtraOption(
            action.option_strings[0],
            "boolean" if action.nargs == 0 else "integer" if action.type is int else "string",
            str(action.help or ""),
        )
        for action in parser._actions  # noqa: SLF001 - argparse has no public list
        if action.dest.startswith("cli_") and action.help != argparse.SUPPRESS and action.option_strings
    ]
    shape = op.input_shape
    members = [] if shape is None else [(n, m) for n, m in shape.members.items() if n not in hidden]
    required = set() if shape is None else set(shape.required_members)
    lines = ["NAME", f"       {command} -", "", "DESCRIPTION", *_fill(doc_paragraphs(op.documentation), 7)]
    if paginated:
        lines += _fill(
            [
                (
                    f"{command} is a paginated operation: the pages are called for one after the other and merged. "
                    "--no-paginate makes one call only; --max-items, --starting-token and --page-size are the aws "
                    "CLI's."
                )
            ],
            7,
        )
    lines += ["SYNOPSIS", f"            {command}"]
    for name, member in members:
        value = "" if member.type_name == "boolean" else " <value>"
        text = f"{option_name(name)}{value}"
        if member.type_name == "boolean":
            text = f"{option_name(name)} | --no-{option_name(name)[2:]}"
        lines.append(f"          {text}" if name in required else f"          [{text}]")
    lines += [f"          [{extra.name}{'' if extra.type_name == 'boolean' else ' <value>'}]" for extra in extras]
    lines += ["", "OPTIONS"]
    for name, member in members:
        lines += _option_lines(name, member)
    for extra in extras:
        lines += [f"       {extra.name} ({extra.type_name})", *_fill([extra.help], 10)]
    lines += ["OUTPUT"]
    output = op.output_shape
    for name, member in (output.members if output is not None else {}).items():
        lines += _output_lines(name, member, 7, [])
    if output is None or not output.members:
        lines += ["       None", ""]
    lines += [
        "GLOBAL OPTIONS",
        *_fill(
            [
                (
                    "The options of `iamledger --help` (--db, --output, --query, --account-id, --as, --profile, "
                    "--debug, --region, ...) may come before or after the command."
                )
            ],
            7,
        ),
    ]
    return "\n".join(lines).rstrip() + "\n"


def service_help(service: ServiceModel, commands: Sequence[str]) -> str:
    """The help of ``iamledger iam`` (``iamledger iam help``): the service's documentation and its commands."""
    name = service.service_name
    lines = ["NAME", f"       {name} -", "", "DESCRIPTION", *_fill(doc_paragraphs(service.documentation), 7)]
    lines += ["AVAILABLE COMMANDS", *(f"       o {command}" for command in commands), ""]
    lines += _fill([f"`iamledger {name} COMMAND help` prints the help of a command."], 7)
    return "\n".join(lines).rstrip() + "\n"


def command_name(operation: str) -> str:
    """``CreateUser`` -> ``create-user``."""
    return str(xform_name(operation, "-"))
