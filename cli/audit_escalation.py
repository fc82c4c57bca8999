"""``iamledger audit escalation-paths|who-can-escalate``: privilege escalation paths as of a moment.

JSON is the default output (``--query`` applies to it); ``--output table`` or ``text`` prints each path in a line,
``alice -[iam:AttachUserPolicy]-> admin``, with the events that enabled each hop.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Final

from iamledger.cli.audit_analysis import WHEN_HELP, _command, _parser, _show, _who
from iamledger.cli.output import plain
from iamledger.cli.session import acting_in_account

PATHS_HELP: Final = (
    "List every privilege escalation path of a user or role at --at (default now) to admin (or to --to ARN): all "
    "paths without cycles, shortest first, each hop with its technique, the statements and trust policy that allow "
    "it, whether it depends on a condition, and the events that enabled it."
)
WHO_HELP: Final = (
    "List every user and role with a privilege escalation path to admin (or to --to ARN) at --at (default now), "
    "grouped by the first technique of the path, with the shortest path of each."
)


def _depth(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer value: {text!r}") from None


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--to", default="admin", metavar="admin|ARN", help="Where paths lead: admin (default) or ARN.")
    parser.add_argument("--max-depth", type=_depth, metavar="N", help="The longest path, in hops (default 5, max 10).")
    parser.add_argument("--at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    return parser


def render_paths(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """An escalation-paths answer as lines: each path, then the events behind each hop."""
    data = plain(result)
    moment = data["AsOf"]
    title = f"Escalation paths of {data['PrincipalArn']} to {data['To']}"
    lines: list[tuple[str, str | None]] = [(f"{title} at position {moment['Position']} ({moment['Time']})", None)]
    if data["IsAdmin"]:
        lines.append(("  admin-equivalent itself", "red"))
    if not data["Paths"] and not data["IsAdmin"]:
        lines.append(("  (no path)", None))
    for number, path in enumerate(data["Paths"], start=1):
        lines.append((f"[{number}] {path['Text']}", "red"))
        for hop in path["Hops"]:
            condition = f" (conditional: {', '.join(hop['ConditionKeys'])})" if hop["Conditional"] else ""
            lines.append((f"    {hop['Technique']}: {hop['From']} -> {hop['To']}{condition}", None))
            lines.extend((f"      {_who(event)}", None) for event in hop["EnabledBy"])
    return lines


def render_who(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """A who-can-escalate answer as lines, technique by technique."""
    data = plain(result)
    moment = data["AsOf"]
    lines: list[tuple[str, str | None]] = [
        (f"Who can escalate to {data['To']} at position {moment['Position']} ({moment['Time']})", None)
    ]
    if data.get("Admins"):
        lines.append(("admin-equivalent: " + ", ".join(data["Admins"]), None))
    if not data["Techniques"]:
        lines.append(("  (nobody)", None))
    for group in data["Techniques"]:
        lines.append((f"{group['Technique']}:", None))
        lines.extend((f"  {p['ShortestPath']}", "red") for p in group["Principals"])
    return lines


def _paths_parser() -> argparse.ArgumentParser:
    parser = _parser("escalation-paths", PATHS_HELP)
    parser.add_argument("--principal-arn", required=True, help="The user or role ARN the paths start from.")
    return _common(parser)


def _paths(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser  # the command's parser; its values are in namespace
    with acting_in_account() as (store, _):
        result = store.escalation_paths(
            PrincipalArn=namespace.principal_arn, To=namespace.to, MaxDepth=namespace.max_depth, At=namespace.at
        )
    _show(result, "EscalationPaths", render_paths)


def _who_parser() -> argparse.ArgumentParser:
    return _common(_parser("who-can-escalate", WHO_HELP))


def _who_can_escalate(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser
    with acting_in_account() as (store, _):
        result = store.who_can_escalate(To=namespace.to, MaxDepth=namespace.max_depth, At=namespace.at)
    _show(result, "WhoCanEscalate", render_who)


_command("escalation-paths", PATHS_HELP, _paths_parser, _paths)
_command("who-can-escalate", WHO_HELP, _who_parser, _who_can_escalate)
