"""The aws CLI's options of every generated command besides the operation's own: ``--cli-input-json`` /
``--cli-input-yaml`` (the whole input as a document, the command line's values winning), ``--generate-cli-skeleton
[input|output|yaml-input]`` (a skeleton of the input, or a sample of the output, printed without calling anything)
and the word ``help`` (``iamledger iam create-user help``); and the aws CLI's client-side check of the input:
required members present, no unknown member."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from iamledger.cli.arguments import HIDDEN_PAGING_MEMBERS, ArgumentError, parameters, read_value
from iamledger.cli.refusals import InputError

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

SKELETON_KINDS: Final = ("input", "output", "yaml-input")
# The options with which the operation's required members may be left out of the command line.
_INPUT_OPTIONS: Final = ("--cli-input-json", "--cli-input-yaml", "--generate-cli-skeleton")
_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - botocore's skeleton timestamp, printed without a zone


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--cli-input-json``, ``--cli-input-yaml`` and ``--generate-cli-skeleton`` to ``parser`` (and
    ``--no-paginate`` where it is not paginated: the aws CLI's is a global option, which a command that makes one
    call anyway takes too)."""
    if "--no-paginate" not in parser._option_string_actions:  # noqa: SLF001 - argparse has no public lookup
        parser.add_argument("--no-paginate", dest="cli_no_paginate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--cli-input-json",
        dest="cli_input_json",
        metavar="JSON",
        help="The operation's input as a JSON document (or file://path), in the form --generate-cli-skeleton prints; "
        "values given on the command line override it.",
    )
    parser.add_argument(
        "--cli-input-yaml",
        dest="cli_input_yaml",
        metavar="YAML",
        help="The operation's input as a YAML document (or file://path), as --cli-input-json.",
    )
    parser.add_argument(
        "--generate-cli-skeleton",
        dest="cli_skeleton",
        nargs="?",
        const="input",
        choices=SKELETON_KINDS,
        help="Print a skeleton of the input (input, the default: JSON for --cli-input-json; yaml-input: YAML for "
        "--cli-input-yaml) or, once the command's input checks out, a sample of its output (output), and do nothing "
        "else.",
    )


def relax_required(parser: argparse.ArgumentParser, args: Sequence[str]) -> None:
    """Make every option of ``parser`` optional when ``args`` give the input another way (``--cli-input-json``,
    ``--cli-input-yaml``) or ask for the input skeleton, as the aws CLI does (``--generate-cli-skeleton output``
    checks the input, so it keeps them required)."""
    for index, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if name not in _INPUT_OPTIONS:
            continue
        value = arg.split("=", 1)[1] if "=" in arg else (args[index + 1] if index + 1 < len(args) else None)
        if name == "--generate-cli-skeleton" and value == "output":
            continue
        for action in parser._actions:  # noqa: SLF001 - argparse has no public list
            action.required = False
        for group in parser._mutually_exclusive_groups:  # noqa: SLF001
            group.required = False
        return


def wants_help(parser: argparse.ArgumentParser, args: Sequence[str]) -> bool:
    """Whether ``args`` ask for the command's help: ``-h``, ``--help``, or the word ``help`` where a positional
    argument would be (not as an option's value: ``--user-name help`` names a user), as the aws CLI reads it."""
    takes: dict[str, int | str | None] = {
        option: action.nargs
        for action in parser._actions  # noqa: SLF001 - argparse has no public list
        for option in action.option_strings
    }
    greedy = False
    skip = 0
    for arg in args:
        if arg in {"-h", "--help"}:
            return True
        if arg.startswith("--"):
            nargs = takes.get(arg.split("=", 1)[0])
            greedy = "=" not in arg and nargs in {"+", "*"}
            skip = 1 if "=" not in arg and nargs in {None, "?"} and arg in takes else 0
            continue
        if skip or greedy:
            skip = 0
            continue
        return arg == "help"
    return False


def load_input(namespace: argparse.Namespace) -> dict[str, Any] | None:
    """The document of ``--cli-input-json`` or ``--cli-input-yaml`` (a value, or ``file://``), ``None`` without
    them; a usage error names the option when it is not an object of the operation's input."""
    for option, text, language in (
        ("--cli-input-json", namespace.cli_input_json, "JSON"),
        ("--cli-input-yaml", namespace.cli_input_yaml, "YAML"),
    ):
        if text is None:
            continue
        try:
            document = read_value(text)
        except ArgumentError as error:
            raise InputError(f"Error parsing parameter '{option}': {error}") from None
        data = _parse(document, language, option)
        if not isinstance(data, dict):
            msg = f"Error parsing parameter '{option}': the {language} must be an object of the operation's input."
            raise InputError(msg)
        return data
    return None


def _parse(document: str, language: str, option: str) -> Any:
    if language == "JSON":
        try:
            return json.loads(document)
        except ValueError as error:
            msg = f"Error parsing parameter '{option}': Invalid JSON: {error}\nJSON received: {document}"
            raise InputError(msg) from None
    import yaml  # only --cli-input-yaml needs it

    try:
        return yaml.safe_load(document)
    except yaml.YAMLError as error:
        msg = f"Error parsing parameter '{option}': Invalid YAML: {error}"
        raise InputError(msg) from None


def operation_parameters(
    parser: argparse.ArgumentParser, op: OperationModel, namespace: argparse.Namespace, *, paginated: bool
) -> dict[str, Any]:
    """The operation's input: the command line's parameters (a value that cannot be read is refused naming its option,
    exit 255 as the aws CLI), with what ``--cli-input-json``/``--cli-input-yaml`` give besides, checked as the aws
    CLI checks it.

    A paginated command takes the aws CLI's paging options: ``--no-paginate`` makes one call, refused with
    ``--starting-token`` or ``--page-size``, and passes ``--max-items`` (and ``--marker``, which implies it) to the
    operation as its own ``MaxItems`` (``Marker``); an auto-paginated call ignores the document's paging members."""
    del parser  # a value it could not read is refused as the aws CLI refuses it, without the usage
    try:
        params = parameters(op, namespace)
    except ArgumentError as error:
        raise InputError(str(error)) from None
    document = load_input(namespace)
    if paginated:
        if namespace.cli_marker is not None:
            namespace.cli_no_paginate = True  # as the aws CLI: a paging member of the service's own, one call
        if namespace.cli_no_paginate:
            _check_no_paginate(namespace)
            params.update(
                {k: v for k, v in (("Marker", namespace.cli_marker), ("MaxItems", namespace.cli_max_items)) if v}
            )
    auto = paginated and not namespace.cli_no_paginate
    merge_input(params, document, ignored=sorted(HIDDEN_PAGING_MEMBERS) if auto else ())
    check_input(op.input_shape, params)
    return params


def _check_no_paginate(namespace: argparse.Namespace) -> None:
    used = [
        option
        for option, value in (
            ("--starting-token", namespace.cli_starting_token),
            ("--page-size", namespace.cli_page_size),
        )
        if value
    ]
    if used:
        msg = (
            f"Error during pagination: Cannot specify --no-paginate along with pagination arguments: {', '.join(used)}"
        )
        raise InputError(msg)


def merge_input(params: dict[str, Any], document: dict[str, Any] | None, ignored: Sequence[str] = ()) -> None:
    """Add to ``params`` (the command line's) the members of ``document`` it does not give, but ``ignored`` ones (the
    paging members of an auto-paginated command, which the aws CLI ignores there)."""
    for key, value in (document or {}).items():
        if key not in params and key not in ignored:
            params[key] = value


def check_input(shape: Shape | None, params: dict[str, Any]) -> None:
    """The aws CLI's (botocore's) check of an operation's input before it is sent: every required member there, no
    member the model does not know, at every level; a usage error (``Parameter validation failed:``) listing them."""
    problems: list[str] = []
    if shape is not None:
        _check(shape, params, "input", problems)
    elif params:
        problems.append(f'Unknown parameter in input: "{next(iter(params))}", must be one of: ')
    if problems:
        raise InputError("Parameter validation failed:\n" + "\n".join(problems))


def _check(shape: Shape, value: Any, name: str, problems: list[str]) -> None:
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        problems.extend(
            f'Missing required parameter in {name}: "{required}"'
            for required in shape.required_members
            if required not in value
        )
        for key, item in value.items():
            if key not in members:
                problems.append(f'Unknown parameter in {name}: "{key}", must be one of: {", ".join(members)}')
            else:
                _check(members[key], item, key if name == "input" else f"{name}.{key}", problems)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _check(shape.member, item, f"{name}[{index}]", problems)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check(shape.value, item, f"{name}.{key}", problems)


def skeleton(shape: Shape | None, *, member_names: bool = False) -> Any:
    """A sample of ``shape`` as botocore's ``ArgumentGenerator`` makes it for the aws CLI: ``""`` for a string (its
    member's name with ``member_names``, as the output skeleton), ``0``, ``false``, one element per list, the first
    value of an enumeration (botocore picks one at random)."""
    return {} if shape is None else _sample(shape, [], "", member_names=member_names)


_SCALAR_SAMPLES: Final[dict[str, Any]] = {
    "integer": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "boolean": False,
    "timestamp": _EPOCH,
}


def _sample(shape: Shape, stack: list[str], name: str, *, member_names: bool) -> Any:
    if shape.name in stack:  # a recursive shape: botocore stops there too
        return {}
    stack.append(shape.name)
    try:
        kind = shape.type_name
        sample: Any
        if kind == "structure":
            sample = {key: _sample(m, stack, key, member_names=member_names) for key, m in shape.members.items()}
        elif kind == "list":
            sample = [_sample(shape.member, stack, name, member_names=member_names)]
        elif kind == "map":
            sample = {"KeyName": _sample(shape.value, stack, name, member_names=member_names)}
        elif kind == "string":
            enum = getattr(shape, "enum", None)
            sample = enum[0] if enum else (name if member_names else "")
        else:
            sample = _SCALAR_SAMPLES.get(kind, "")
        return sample
    finally:
        stack.pop()


def input_skeleton_text(op: OperationModel, kind: str) -> str:
    """What ``--generate-cli-skeleton input`` (JSON, as the aws CLI prints it) or ``yaml-input`` prints."""
    data = skeleton(op.input_shape)
    if kind == "yaml-input":
        import yaml  # only yaml-input needs it

        text: str = yaml.safe_dump(
            json.loads(json.dumps(data, default=_iso)), sort_keys=False, default_flow_style=False
        )
        return text
    return json.dumps(data, indent=4, default=_iso) + "\n"


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    msg = f"cannot render {type(value).__name__}"
    raise TypeError(msg)
