"""``iamledger audit simulate-principal-policy|who-can|what-can|diff|exposure``: permission checks as of a moment
with the events behind them, reverse queries, diffs between two moments and exposure windows.

The options follow the aws CLI's conventions (``--action-names a b``, ``--context-entries
ContextKeyName=k,ContextKeyValues=v,ContextKeyType=string`` or JSON, ``file://`` values), parsed with the same
machinery as the generated ``iamledger iam`` commands. JSON is the default output; ``--output table`` or ``text``
prints a diff as a ``+``/``-`` list and exposure as a timeline of windows.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import click

from iamledger.awsmodel import operation_model
from iamledger.cli.arguments import ArgumentError, build_parser, convert, parameters
from iamledger.cli.audit_group import audit_group
from iamledger.cli.output import plain
from iamledger.cli.parser_command import ParserCommand
from iamledger.cli.refusals import InputError
from iamledger.cli.session import acting_in_account, emit, state
from iamledger.domain.errors import InvalidInputError

WHEN_HELP: Final = (
    "an ISO 8601 time (2026-11-01T09:00:00Z), a date, a duration ago (90m, 7d), epoch seconds, or position:N"
)
_SIMULATE: Final = "SimulatePrincipalPolicy"


def _context_entries(raw: list[str] | None) -> list[dict[str, Any]] | None:
    """``--context-entries`` values as boto3's ``ContextEntries`` (shorthand or JSON, as the aws CLI reads them)."""
    if not raw:
        return None
    shape = operation_model("iam", _SIMULATE).input_shape.members["ContextEntries"]
    entries = convert(shape, raw, "--context-entries")
    for entry in entries:
        values = entry.get("ContextKeyValues")
        if isinstance(values, str):
            entry["ContextKeyValues"] = [values]
    return list(entries)


Run = Callable[[argparse.ArgumentParser, argparse.Namespace], None]


def _command(name: str, help_text: str, make_parser: Callable[[], argparse.ArgumentParser], run: Run) -> None:
    """An ``audit`` command whose arguments argparse reads (aws CLI style: ``--action-names a b``, ``--help``); its
    help, and the CLI reference, show the parser's options."""
    audit_group.add_command(ParserCommand(name, make_parser=make_parser, run=run, help=help_text))


def _parser(name: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"iamledger audit {name}", description=description, allow_abbrev=False)


def _add_context_entries(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--context-entries",
        dest="context_entries",
        nargs="+",
        metavar="ENTRY",
        help="Context keys for the evaluation: ContextKeyName=k,ContextKeyValues=v,ContextKeyType=string, or JSON.",
    )


def _entries(namespace: argparse.Namespace) -> list[dict[str, Any]] | None:
    entries: list[dict[str, Any]] | None = None
    try:
        entries = _context_entries(namespace.context_entries)
    except (ArgumentError, OSError) as error:
        raise InputError(str(error)) from None
    return entries


# -- simulate-principal-policy ------------------------------------------------------------------------------------

SIMULATE_HELP: Final = (
    "Simulate a user's, group's, role's or role session's policies as they were at --at (default now), like `aws iam "
    "simulate-principal-policy`, with the events that made each matched statement apply."
)


def _simulate_parser() -> argparse.ArgumentParser:
    parser = build_parser(
        "iamledger audit simulate-principal-policy", operation_model("iam", _SIMULATE), paginated=False
    )
    parser.description = SIMULATE_HELP
    parser.add_argument("--at", dest="cli_at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    return parser


def _simulate(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser  # the command's parser; its values are in namespace
    try:
        params = parameters(operation_model("iam", _SIMULATE), namespace)
    except (ArgumentError, OSError) as error:
        raise InputError(str(error)) from None
    if params.pop("PolicyExclusionList", None) is not None:
        raise InvalidInputError("PolicyExclusionList is not supported by the audit simulation.")
    with acting_in_account() as (store, _):
        result = store.audit_simulate_principal_policy(At=namespace.cli_at, **params)
    emit(result, title=_SIMULATE)


_command("simulate-principal-policy", SIMULATE_HELP, _simulate_parser, _simulate)


# -- who-can ------------------------------------------------------------------------------------------------------

WHO_CAN_HELP: Final = (
    "List every user and role that would have been allowed an action on a resource at --at (default now), with the "
    "paths that allow it (direct, via a group, via a role it can assume) and who can assume each role."
)


def _who_can_parser() -> argparse.ArgumentParser:
    parser = _parser("who-can", WHO_CAN_HELP)
    parser.add_argument("--action-name", required=True, help="The action, such as s3:GetObject (no wildcards).")
    parser.add_argument("--resource-arn", default="*", help="The resource's ARN (default *).")
    parser.add_argument("--at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    _add_context_entries(parser)
    return parser


def _who_can(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser  # the command's parser; its values are in namespace
    entries = _entries(namespace)
    current = state()
    with acting_in_account() as (store, _):
        parts = store.stream_who_can(
            ActionName=namespace.action_name,
            ResourceArn=namespace.resource_arn,
            At=namespace.at,
            ContextEntries=entries,
        )
        header = next(parts)
        if current.output == "jsonl" and current.query is None:
            _who_can_lines(header, parts)
        elif current.output == "json" and current.query is None:
            _who_can_json(header, parts)
        else:  # a query or a table needs the whole answer
            emit({**header, "Principals": list(parts)}, title="WhoCan")


_command("who-can", WHO_CAN_HELP, _who_can_parser, _who_can)


def _who_can_json(header: Mapping[str, Any], principals: Iterator[dict[str, Any]]) -> None:
    """The answer as ``--output json`` prints it, written a principal at a time: the same text as rendering it
    whole, without holding it (an answer about a large account runs to hundreds of megabytes)."""
    opening = json.dumps({**plain(header), "Principals": []}, indent=4, ensure_ascii=False)
    before, _, _ = opening.rpartition("[]")
    click.echo(before + "[", nl=False)
    separator = "\n"
    for principal in principals:
        text = json.dumps(plain(principal), indent=4, ensure_ascii=False)
        click.echo(separator + textwrap.indent(text, " " * 8), nl=False)
        separator = ",\n"
    click.echo("]\n}" if separator == "\n" else "\n    ]\n}")


def _who_can_lines(header: Mapping[str, Any], principals: Iterator[dict[str, Any]]) -> None:
    """``--output jsonl``: one principal per line, written as it is found; the moment of the answer on stderr."""
    moment = plain(header["AsOf"])
    click.echo(f"As of position {moment['Position']} ({moment['Time']}).", err=True)
    for principal in principals:
        click.echo(json.dumps(plain(principal), ensure_ascii=False, separators=(",", ":")))


# -- what-can -----------------------------------------------------------------------------------------------------

WHAT_CAN_HELP: Final = (
    "Summarise what a user, group, role or role session could do at --at (default now), by service: allowed action "
    "patterns with their resources and conditions, denies, and the iam and sts operations they expand to."
)


def _what_can_parser() -> argparse.ArgumentParser:
    parser = _parser("what-can", WHAT_CAN_HELP)
    parser.add_argument("--principal-arn", required=True, help="The user, group, role or role session ARN.")
    parser.add_argument("--at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    return parser


def _what_can(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser
    with acting_in_account() as (store, _):
        result = store.what_can(PrincipalArn=namespace.principal_arn, At=namespace.at)
    emit(result, title="WhatCan")


_command("what-can", WHAT_CAN_HELP, _what_can_parser, _what_can)


# -- diff ---------------------------------------------------------------------------------------------------------

DIFF_HELP: Final = (
    "List what changed between two moments (memberships, attachments, inline policies, policy versions and "
    "defaults, access keys, sessions, trust policies, entities), each with the events that changed it, and with "
    "--action-names the decisions that flipped."
)
_SIGNS: Final = {"Added": ("+", "green"), "Removed": ("-", "red"), "Changed": ("~", "yellow")}


def _who(event: Mapping[str, Any], *, with_time: bool = True) -> str:
    parts = [f"#{event['Position']}", str(event.get("EventName", "?"))]
    if with_time and event.get("EventTime"):
        parts.append(str(event["EventTime"]))
    if event.get("Actor"):
        parts.append(f"by {event['Actor']}")
    if event.get("RequestId"):
        parts.append(f"request {event['RequestId']}")
    return " ".join(parts)


_HIDDEN: Final = frozenset({"Category", "Change", "Events", "Changed", "PolicyDocument", "AssumeRolePolicyDocument"})


def _subject_text(change: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in change.items() if k not in _HIDDEN and v is not None)


def _holders_text(ids: Mapping[str, str | None] | None) -> str:
    """Who the ARN of a diff named at each moment, said only when that is not simply the same principal (an ARN is
    given to a new principal, with a new id, after its holder is deleted or renamed)."""
    if ids is None or (ids["From"] == ids["To"] and ids["From"] is not None):
        return ""
    if ids["From"] == ids["To"]:
        return ", held by no one"
    return f", held by {ids['From'] or 'no one'} then by {ids['To'] or 'no one'}"


def render_diff(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """A diff as lines of text, each with the colour it is printed in on a terminal."""
    data = plain(result)
    first, second = data["From"], data["To"]
    lines: list[tuple[str, str | None]] = [
        (
            f"Changes from position {first['Position']} ({first['Time']}) to position {second['Position']} "
            f"({second['Time']})"
            + (f" affecting {data['PrincipalArn']}" if data.get("PrincipalArn") else "")
            + _holders_text(data.get("PrincipalIds")),
            None,
        )
    ]
    if not data["Changes"]:
        lines.append(("  (no changes)", None))
    for change in data["Changes"]:
        sign, colour = _SIGNS.get(change["Change"], ("?", None))
        lines.append((f"{sign} {change['Category']} {_subject_text(change)}", colour))
        for what, values in (change.get("Changed") or {}).items():
            if what in {"PolicyDocument", "AssumeRolePolicyDocument"}:
                lines.append((f"    {what} changed", colour))
            else:
                lines.append((f"    {what}: {values['From']} -> {values['To']}", colour))
        lines.extend((f"    {_who(event)}", None) for event in change["Events"])
    if "DecisionChanges" in data:
        lines.append(("Decisions that flipped:", None))
        if not data["DecisionChanges"]:
            lines.append(("  (none)", None))
        for flip in data["DecisionChanges"]:
            colour = "green" if flip["To"] == "allowed" else "red"
            sign = "+" if flip["To"] == "allowed" else "-"
            text = f"{sign} {flip['PrincipalArn']} {flip['ActionName']} on {flip['ResourceArn']}: "
            lines.append((text + f"{flip['From']} -> {flip['To']}", colour))
    return lines


def _show(
    result: Mapping[str, Any], title: str, render: Callable[[Mapping[str, Any]], Sequence[tuple[str, str | None]]]
) -> None:
    """``result`` as is with ``--output json`` or a ``--query``; else ``render``'s lines, each in its colour (if
    any)."""
    if state().output == "json" or state().query is not None:
        emit(result, title=title)
        return
    for text, colour in render(result):
        click.echo(click.style(text, fg=colour) if colour else text)


def _diff_parser() -> argparse.ArgumentParser:
    parser = _parser("diff", DIFF_HELP)
    parser.add_argument("--from", dest="start", required=True, metavar="WHEN", help=f"The earlier moment: {WHEN_HELP}.")
    parser.add_argument("--to", dest="end", metavar="WHEN", help="The later moment (default now).")
    parser.add_argument("--principal-arn", help="Only what affects this user, group or role.")
    parser.add_argument("--action-names", nargs="+", metavar="ACTION", help="Report the decisions that flipped.")
    parser.add_argument("--resource-arns", nargs="+", metavar="ARN", help="Resources of those decisions (default *).")
    _add_context_entries(parser)
    return parser


def _diff(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser  # the command's parser; its values are in namespace
    entries = _entries(namespace)
    with acting_in_account() as (store, _):
        result = store.audit_diff(
            From=namespace.start,
            To=namespace.end,
            PrincipalArn=namespace.principal_arn,
            ActionNames=namespace.action_names,
            ResourceArns=namespace.resource_arns,
            ContextEntries=entries,
        )
    _show(result, "Diff", render_diff)


_command("diff", DIFF_HELP, _diff_parser, _diff)


# -- exposure -----------------------------------------------------------------------------------------------------

EXPOSURE_HELP: Final = (
    "Give the time windows in which a user, group or role was allowed an action on a resource, with the events "
    "that opened and closed each window."
)


def render_exposure(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Exposure windows as a timeline, one line per window edge."""
    data = plain(result)
    end = data["AsOf"]
    lines: list[tuple[str, str | None]] = [
        (
            (
                f"{data['ActionName']} on {data['ResourceArn']} for {data['PrincipalArn']}, up to position "
                f"{end['Position']} ({end['Time']})"
            ),
            None,
        )
    ]
    series = data.get("Principals") or []
    # An ARN held by several principals in turn: each one's windows under its unique id.
    shown = [(s["PrincipalId"], s["Windows"]) for s in series] if len(series) > 1 else [(None, data["Windows"])]
    number = 0
    for principal_id, windows in shown:
        if principal_id is not None:
            lines.append((f"held by {principal_id}:", None))
        if not windows:
            lines.append(("  never allowed", None))
        for window in windows:
            number += 1
            opened = window["From"]
            edge = _who(opened["Event"], with_time=False)
            lines.append((f"[{number}] allowed from {opened['Time']}  {edge}", "green"))
            closed = window["To"]
            if closed is None:
                lines.append(("    still allowed", "green"))
            else:
                lines.append((f"    until {closed['Time']}  {_who(closed['Event'], with_time=False)}", "red"))
    return lines


def _exposure_parser() -> argparse.ArgumentParser:
    parser = _parser("exposure", EXPOSURE_HELP)
    parser.add_argument("--principal-arn", required=True, help="The user, group or role ARN.")
    parser.add_argument("--action-name", required=True, help="The action, such as s3:GetObject (no wildcards).")
    parser.add_argument("--resource-arn", default="*", help="The resource's ARN (default *).")
    parser.add_argument("--from", dest="start", metavar="WHEN", help=f"Only windows that reach past: {WHEN_HELP}.")
    parser.add_argument("--to", dest="end", metavar="WHEN", help="Only history up to this moment (default now).")
    _add_context_entries(parser)
    return parser


def _exposure(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser  # the command's parser; its values are in namespace
    entries = _entries(namespace)
    with acting_in_account() as (store, _):
        result = store.exposure(
            PrincipalArn=namespace.principal_arn,
            ActionName=namespace.action_name,
            ResourceArn=namespace.resource_arn,
            From=namespace.start,
            To=namespace.end,
            ContextEntries=entries,
        )
    _show(result, "Exposure", render_exposure)


_command("exposure", EXPOSURE_HELP, _exposure_parser, _exposure)
