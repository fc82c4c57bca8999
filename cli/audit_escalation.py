"""``iamledger audit escalation-paths|who-can-escalate|paths-opened|blast-radius``: privilege escalation paths as of
a moment, the paths that opened between two moments, and what a credential could reach while it was active.

JSON is the default output (``--query`` applies to it); ``--output table`` or ``text`` prints each path in a line,
``alice -[iam:AttachUserPolicy]-> admin``, with the events that enabled, opened or closed it.
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
OPENED_HELP: Final = (
    "List each privilege escalation path to admin (or to --target ARN) that did not hold at --from and held at some "
    "moment up to --to (default now), with the event that opened it, the event that closed it (null while open) and "
    "how long it stayed open; principals that became admin-equivalent are paths of length 0."
)
RADIUS_HELP: Final = (
    "List everything an access key (or a user or role) could reach by escalation paths while it was active: its "
    "active windows, each reachable user, role or admin with the windows and the path, and the windows in which it "
    "could act as admin."
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


def _bound(edge: Mapping[str, Any] | None) -> str:
    return "still open" if edge is None else _who(edge["Event"])


def render_opened(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """A paths-opened answer as lines: each path, the event that opened it, the one that closed it."""
    data = plain(result)
    start, end = data["From"], data["To"]
    title = f"Escalation paths to {data['Target']} opened after position {start['Position']} ({start['Time']})"
    lines: list[tuple[str, str | None]] = [(f"{title} up to position {end['Position']} ({end['Time']})", None)]
    if not data["Paths"]:
        lines.append(("  (none)", None))
    for number, path in enumerate(data["Paths"], start=1):
        lines.append((f"[{number}] {path['Text']}", "red" if path["StillOpen"] else None))
        lines.append((f"    opened: {_who(path['OpenedAt']['Event'])}", None))
        lines.append((f"    closed: {_bound(path['ClosedAt'])}", None))
        lines.append((f"    open for {path['OpenSeconds']:.0f} s", None))
    return lines


def _span(window: Mapping[str, Any]) -> str:
    end = window["To"]
    until = "still" if end is None else f"#{end['Position']} ({end['Time']})"
    return f"#{window['From']['Position']} ({window['From']['Time']}) to {until}"


def render_radius(result: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """A blast-radius answer as lines: per principal, its active windows, its admin windows, what it reached."""
    data = plain(result)
    asked = data.get("AccessKeyId") or data.get("PrincipalArn")
    lines: list[tuple[str, str | None]] = [(f"Blast radius of {asked}", None)]
    for principal in data["Principals"]:
        lines.append((f"{principal['PrincipalArn']} ({principal['PrincipalId']})", None))
        lines.extend((f"  active {_span(w)}", None) for w in principal["ActiveWindows"])
        lines.extend((f"  ADMIN {_span(w)}: {w['Via']}", "red") for w in principal["AdminWindows"])
        for node in principal["Reachable"]:
            lines.extend((f"  reaches {node['Arn']} {_span(w)}: {w['Path']}", None) for w in node["Windows"])
        if not principal["Reachable"] and not principal["AdminWindows"]:
            lines.append(("  (reaches nothing)", None))
    return lines


def _opened_parser() -> argparse.ArgumentParser:
    parser = _parser("paths-opened", OPENED_HELP)
    parser.add_argument("--from", dest="start", required=True, metavar="WHEN", help=f"The earlier moment: {WHEN_HELP}.")
    parser.add_argument("--to", dest="end", metavar="WHEN", help="The later moment (default now).")
    parser.add_argument("--target", default="admin", metavar="admin|ARN", help="Where paths lead: admin or ARN.")
    parser.add_argument("--max-depth", type=_depth, metavar="N", help="The longest path, in hops (default 5, max 10).")
    return parser


def _opened(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser
    with acting_in_account() as (store, _):
        result = store.paths_opened(
            From=namespace.start, To=namespace.end, Target=namespace.target, MaxDepth=namespace.max_depth
        )
    _show(result, "PathsOpened", render_opened)


def _radius_parser() -> argparse.ArgumentParser:
    parser = _parser("blast-radius", RADIUS_HELP)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--access-key-id", help="The access key (AKIA...), active or deleted.")
    which.add_argument("--principal-arn", help="A user or role ARN (each principal that held it).")
    parser.add_argument("--max-depth", type=_depth, metavar="N", help="The longest path, in hops (default 5, max 10).")
    return parser


def _radius(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    del parser
    with acting_in_account() as (store, _):
        result = store.blast_radius(
            AccessKeyId=namespace.access_key_id, PrincipalArn=namespace.principal_arn, MaxDepth=namespace.max_depth
        )
    _show(result, "BlastRadius", render_radius)


_command("escalation-paths", PATHS_HELP, _paths_parser, _paths)
_command("who-can-escalate", WHO_HELP, _who_parser, _who_can_escalate)
_command("paths-opened", OPENED_HELP, _opened_parser, _opened)
_command("blast-radius", RADIUS_HELP, _radius_parser, _radius)
