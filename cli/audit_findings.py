"""``iamledger audit findings``: per principal, the risky grants in Cloudsplaining's categories and PMapper's admin
detection, as of a moment; ``--since`` keeps those that appeared after an earlier moment, and ``--fail-on`` makes the
command a CI gate (exit status 1 when it matches)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Final

import click

from iamledger.cli.audit_analysis import WHEN_HELP, _command, _parser
from iamledger.cli.output import plain
from iamledger.cli.session import acting_in_account, emit, state

EXIT_FINDINGS: Final = 1

FINDINGS_HELP: Final = (
    "List, per user and role, the risky grants at --at (default now): admin (PMapper's detection), privilege "
    "escalation (Cloudsplaining's methods), data exfiltration, resource exposure, credentials exposure and "
    "infrastructure modification, each with the policies and statements that grant it. --since keeps only the "
    "findings that appeared after that moment; --fail-on new|any exits with status 1 when there are some."
)


def _findings_parser() -> argparse.ArgumentParser:
    parser = _parser("findings", FINDINGS_HELP)
    parser.add_argument("--at", metavar="WHEN", help=f"The moment to answer as of: {WHEN_HELP}.")
    parser.add_argument("--since", metavar="WHEN", help="Only the findings absent at this earlier moment.")
    parser.add_argument(
        "--fail-on",
        choices=("new", "any"),
        help="Exit with status 1 when there are findings (any) or findings absent at --since (new, which needs it).",
    )
    return parser


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per finding, for ``--output jsonl`` (a finding per line; the moment on stderr)."""
    return [
        {"Arn": principal["Arn"], "Type": principal["Type"], **finding}
        for principal in result["Principals"]
        for finding in principal["Findings"]
    ]


def _findings(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    if namespace.fail_on == "new" and namespace.since is None:
        parser.error("--fail-on new needs --since")
    with acting_in_account() as (store, _):
        result = store.audit_findings(At=namespace.at, Since=namespace.since)
    if state().output == "jsonl" and state().query is None:
        moment = plain(result["AsOf"])
        click.echo(f"As of position {moment['Position']} ({moment['Time']}).", err=True)
        for row in _rows(result):
            click.echo(json.dumps(plain(row), ensure_ascii=False, separators=(",", ":")))
    else:
        emit(result, title="Findings")
    if namespace.fail_on is not None and result["Principals"]:
        raise click.exceptions.Exit(EXIT_FINDINGS)


_command("findings", FINDINGS_HELP, _findings_parser, _findings)
