"""``iamledger audit findings``: per principal, the risky grants in Cloudsplaining's categories and PMapper's admin
detection, as of a moment; ``--since`` keeps those that appeared after an earlier moment, and ``--fail-on`` makes the
command a CI gate (exit status 1 when it matches)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

import click

from iamledger.audit.findings import CATEGORIES, count_findings
from iamledger.cli.audit_analysis import WHEN_HELP, _command, _parser
from iamledger.cli.output import plain, render
from iamledger.cli.session import _colour, acting_in_account, emit, state

EXIT_FINDINGS: Final = 1

FINDINGS_HELP: Final = (
    "List, per user and role, the risky grants at --at (default now): admin (PMapper's detection), privilege "
    "escalation (one finding per Cloudsplaining method), data exfiltration, resource exposure, credentials exposure "
    "and infrastructure modification (one finding per category), each with its actions and the policies and "
    "statements that grant them. --since keeps only the findings that appeared, or gained actions, after that "
    "moment; --fail-on new|any exits with status 1 when there are some."
)


def _findings_parser() -> argparse.ArgumentParser:
    parser = _parser("findings", FINDINGS_HELP)
    parser.add_argument("--at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    parser.add_argument(
        "--since", metavar="WHEN", help="Only the findings absent at this earlier moment, or with actions they lacked."
    )
    parser.add_argument(
        "--fail-on",
        choices=("new", "any"),
        help="Exit with status 1 when there are findings (any) or findings absent at --since (new, which needs it).",
    )
    return parser


SHOWN_ACTIONS: Final = 3
"""The actions a table row names (the rest counted)."""


def _lines(principal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One line per finding of a principal, for ``--output jsonl`` (the moment on stderr)."""
    return [{"Arn": principal["Arn"], "Type": principal["Type"], **finding} for finding in principal["Findings"]]


def _summary(actions: list[str]) -> str:
    shown = ", ".join(actions[:SHOWN_ACTIONS])
    more = len(actions) - SHOWN_ACTIONS
    return f"{len(actions)}: {shown}" + (f", ... (+{more})" if more > 0 else "")


def _policy_name(policy: Mapping[str, Any]) -> str:
    return str(policy["PolicyName"]) + (f" (group {policy['GroupName']})" if policy.get("GroupName") else "")


def _table_rows(principal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per finding of a principal, for ``--output table``: its actions counted and the first few named, its
    policies likewise."""
    rows = []
    for finding in principal["Findings"]:
        row: dict[str, Any] = {"Category": finding["Category"], "Method": finding.get("Method", "")}
        row["Actions"] = _summary(list(finding["Actions"]))
        if "NewActions" in finding:
            row["NewActions"] = _summary(list(finding["NewActions"]))
        row["Policies"] = _summary(sorted({_policy_name(p) for p in finding["Policies"]}))
        rows.append(row)
    return rows


def _tables(header: Mapping[str, Any], principals: Iterator[dict[str, Any]]) -> bool:
    """``--output table``: the moment, then a table per principal (titled with its ARN, a row per finding), written
    as the principals are found, then the counts; whether there was any principal."""
    colour = _colour()
    click.echo(render(plain(header), "table", "Findings", colour=colour), nl=False)
    counts = dict.fromkeys(CATEGORIES, 0)
    found = False
    for principal in principals:
        found = True
        count_findings(counts, principal)
        rows = {"Type": principal["Type"], "Admin": principal["Admin"], "Findings": _table_rows(principal)}
        click.echo(render(rows, "table", str(principal["Arn"]), colour=colour), nl=False)
    click.echo(render({"Counts": counts}, "table", "Findings", colour=colour), nl=False)
    return found


_STRING: Final = json.encoder.encode_basestring  # as json.dumps(..., ensure_ascii=False) writes a string


def pretty(value: Any, level: int = 0) -> str:
    """``json.dumps(value, indent=4, ensure_ascii=False)``, the same text, for the dicts, lists and scalars of a
    plain answer, made faster: the standard encoder is pure Python once indenting, and an admin's findings list a
    thousand actions (tests/test_findings_shape.py compares the two)."""
    if isinstance(value, str):
        return _STRING(value)
    if not isinstance(value, dict | list) or not value:
        return json.dumps(value, ensure_ascii=False)
    inner = "\n" + "    " * (level + 1)
    if isinstance(value, dict):
        items = [f"{_STRING(str(k))}: {pretty(v, level + 1)}" for k, v in value.items()]
        opening, closing = "{", "}"
    elif all(isinstance(item, str) for item in value):
        items, opening, closing = list(map(_STRING, value)), "[", "]"
    else:
        items, opening, closing = [pretty(item, level + 1) for item in value], "[", "]"
    return opening + inner + ("," + inner).join(items) + "\n" + "    " * level + closing


def _json(header: Mapping[str, Any], principals: Iterator[dict[str, Any]]) -> bool:
    """The answer as ``--output json`` prints it, written a principal at a time (the same text as rendering it
    whole, without holding it); whether there was any principal."""
    counts = dict.fromkeys(CATEGORIES, 0)
    opening = json.dumps({**plain(header), "Principals": []}, indent=4, ensure_ascii=False)
    before, _, _ = opening.rpartition("[]")
    click.echo(before + "[", nl=False)
    separator = "\n"
    for principal in principals:
        count_findings(counts, principal)
        click.echo(separator + "        " + pretty(plain(principal), 2), nl=False)
        separator = ",\n"
    click.echo(("]," if separator == "\n" else "\n    ],") + f'\n    "Counts": {pretty(counts, 1)}\n}}')
    return separator != "\n"


def _written(header: Mapping[str, Any], principals: Iterator[dict[str, Any]]) -> bool:
    """The answer in the invocation's ``--output`` format; whether there was any principal. ``jsonl`` and ``json``
    and a table (one per principal) are written as the principals are found; a query or ``text`` needs the whole
    answer."""
    current = state()
    if current.query is None and current.output == "jsonl":
        moment = plain(header["AsOf"])
        click.echo(f"As of position {moment['Position']} ({moment['Time']}).", err=True)
        found = False
        for principal in principals:
            found = True
            for line in _lines(principal):
                click.echo(json.dumps(plain(line), ensure_ascii=False, separators=(",", ":")))
        return found
    if current.query is None and current.output == "json":
        return _json(header, principals)
    if current.query is None and current.output == "table":
        return _tables(header, principals)
    counts = dict.fromkeys(CATEGORIES, 0)
    listed = []
    for principal in principals:
        count_findings(counts, principal)
        listed.append(principal)
    emit({**header, "Principals": listed, "Counts": counts}, title="Findings")
    return bool(listed)


def _findings(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    if namespace.fail_on == "new" and namespace.since is None:
        parser.error("--fail-on new needs --since")
    with acting_in_account() as (store, _):
        parts = store.stream_findings(At=namespace.at, Since=namespace.since)
        found = _written(next(parts), parts)
    if namespace.fail_on is not None and found:
        raise click.exceptions.Exit(EXIT_FINDINGS)


_command("findings", FINDINGS_HELP, _findings_parser, _findings)
