"""``iamledger audit report``: one self-contained HTML file for people who cannot reach the console: the account at
a moment, the changes since an earlier one, the findings, and the charts of one question over time."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Final

from iamledger.cli.audit_analysis import WHEN_HELP, _command, _parser
from iamledger.cli.session import acting_in_account, emit

REPORT_HELP: Final = (
    "Write a single-file HTML report (styles and script inline, nothing loaded from anywhere, readable offline): the "
    "account at --at (counts and lists of users, groups, roles and customer managed policies), the changes since "
    "--since and the decisions about --action-name they flipped, the findings at --at, who could do --action-name, "
    "and, with --principal-arn, when it could, its escalation paths (--escalation-paths) and its history."
)


def _report_parser() -> argparse.ArgumentParser:
    parser = _parser("report", REPORT_HELP)
    parser.add_argument("--at", metavar="WHEN", help=f"The moment of the report (default now): {WHEN_HELP}.")
    parser.add_argument("--since", metavar="WHEN", help="Show the changes between this earlier moment and --at.")
    parser.add_argument(
        "-o", "--output-file", required=True, metavar="FILE", help="The HTML file to write (replaced if it exists)."
    )
    parser.add_argument("--principal-arn", help="A user, group or role whose history and exposure to chart.")
    parser.add_argument(
        "--action-name",
        help="An action, such as s3:GetObject: who could do it at --at, the decisions about it that flipped since "
        "--since (for --principal-arn, or every user and role), and when --principal-arn could.",
    )
    parser.add_argument("--resource-arn", default="*", help="With --action-name: the resource's ARN (default *).")
    parser.add_argument(
        "--escalation-paths",
        action="store_true",
        help="With --principal-arn: its privilege escalation paths to admin at --at (the first 20, shortest first).",
    )
    return parser


def _write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a reader never sees half a report)."""
    target = path.resolve()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        Path(temporary).chmod(0o666 & ~umask)  # as any file the user writes (mkstemp's own mode is 0600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _report(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
    from iamledger.html.report import build_report

    if namespace.escalation_paths and not namespace.principal_arn:
        parser.error("--escalation-paths needs --principal-arn")
    path = Path(namespace.output_file)
    if not path.resolve().parent.is_dir():
        parser.error(f"the folder of --output-file does not exist: {path.parent}")
    with acting_in_account() as (store, _):
        page = build_report(
            store,
            at=namespace.at,
            since=namespace.since,
            principal_arn=namespace.principal_arn,
            action_name=namespace.action_name,
            resource_arn=namespace.resource_arn,
            escalation_paths=namespace.escalation_paths,
        )
    _write(path, page)
    emit({"OutputFile": str(path.resolve()), "Bytes": len(page.encode("utf-8"))}, "Report")


_command("report", REPORT_HELP, _report_parser, _report)
