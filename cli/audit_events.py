"""``iamledger audit lookup-events`` (the flags of ``aws cloudtrail lookup-events``) and ``iamledger audit history``
(the records touching one entity, as a timeline).

Besides the root ``--output`` formats (``json``, ``table``, ``text``) these two commands print ``jsonl`` (one
CloudTrail record per line) and ``csv`` (one row per record). See docs/audit-trail.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import click

from iamledger.cli.audit_group import audit_group
from iamledger.cli.output import render
from iamledger.cli.pagination import paginate
from iamledger.cli.refusals import InputError
from iamledger.cli.session import acting_in_account, check_query_output, emit, state
from iamledger.projections.trail.records import TrailRecord

CSV_COLUMNS: Final = (
    "eventTime",
    "eventName",
    "username",
    "resources",
    "sourceIPAddress",
    "errorCode",
    "requestID",
    "eventID",
)
_SHORTHAND: Final = re.compile(r"^AttributeKey=(?P<key>[^,=]*),AttributeValue=(?P<value>.*)$", re.DOTALL)
_SHORTHAND_REVERSED: Final = re.compile(r"^AttributeValue=(?P<value>.*),AttributeKey=(?P<key>[^,=]*)$", re.DOTALL)
_LONG_PARAMETERS: Final = frozenset({"policyDocument", "assumeRolePolicyDocument", "policy"})


# -- --lookup-attributes ---------------------------------------------------------------------------------------------


def parse_lookup_attributes(values: Iterable[str]) -> list[dict[str, str]]:
    """``--lookup-attributes`` values as the aws CLI reads them: the shorthand
    ``AttributeKey=Username,AttributeValue=alice``, a JSON list (or object) of ``{"AttributeKey", "AttributeValue"}``,
    or ``file://path`` holding that JSON."""
    attributes: list[dict[str, str]] = []
    for raw in values:
        value = raw
        if value.startswith("file://"):
            try:
                value = Path(value[len("file://") :]).expanduser().read_text(encoding="utf-8")
            except OSError as error:
                msg = f"Error parsing parameter '--lookup-attributes': Unable to load paramfile {raw}: {error}"
                raise InputError(msg) from None
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                data = json.loads(text)
            except ValueError as error:
                msg = f"Error parsing parameter '--lookup-attributes': Invalid JSON: {error}\nJSON received: {text}"
                raise InputError(msg) from None
            items = data if isinstance(data, list) else [data]
            for item in items:
                if not isinstance(item, dict):
                    raise InputError(
                        "Error parsing parameter '--lookup-attributes': the JSON must hold objects with AttributeKey, "
                        "AttributeValue"
                    )
                attributes.append({str(k): str(v) for k, v in item.items()})
            continue
        match = _SHORTHAND.match(text) or _SHORTHAND_REVERSED.match(text)
        if match is None:
            raise InputError(
                f"Error parsing parameter '--lookup-attributes': expected AttributeKey=KEY,AttributeValue=VALUE, "
                f"received: {raw!r}"
            )
        attributes.append({"AttributeKey": match["key"], "AttributeValue": match["value"]})
    return attributes


# -- rendering -------------------------------------------------------------------------------------------------------


def _records_of(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(e["CloudTrailEvent"]) for e in events]


def _username(record: dict[str, Any]) -> str:
    identity = record.get("userIdentity") or {}
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind == "AssumedRole":
        arn = str(identity.get("arn") or "")
        return "/".join(arn.split(":", 5)[-1].split("/")[1:]) or arn
    return str(identity.get("userName") or identity.get("arn") or "")


def _resources(resources: Sequence[dict[str, str]]) -> str:
    return "; ".join(f"{r['ResourceType']}={r['ResourceName']}" for r in resources)


def jsonl_lines(records: Iterable[dict[str, Any]]) -> str:
    """One CloudTrail record per line."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def csv_text(rows: Iterable[tuple[dict[str, Any], Sequence[dict[str, str]]]]) -> str:
    """A header and one row per record (with the ``Resources`` of its lookup entry)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record, resources in rows:
        writer.writerow(
            [
                record.get("eventTime", ""),
                record.get("eventName", ""),
                _username(record),
                _resources(resources),
                record.get("sourceIPAddress") or "",
                record.get("errorCode") or "",
                record.get("requestID") or "",
                record.get("eventID") or "",
            ]
        )
    return out.getvalue()


def summary(record: dict[str, Any]) -> str:
    """What a record did, in one line: its request parameters (documents left out) and its error, if any."""
    params = record.get("requestParameters") or {}
    parts = []
    for key, value in params.items():
        if key in _LONG_PARAMETERS:
            continue
        if key == "tags" and isinstance(value, list):
            shown = ",".join(f"{t.get('key')}={t.get('value')}" for t in value if isinstance(t, dict))
        elif isinstance(value, dict | list):
            shown = json.dumps(value, separators=(",", ":"))
        else:
            shown = str(value)
        parts.append(f"{key}={shown}")
    text = " ".join(parts)
    if record.get("errorCode") or record.get("errorMessage"):
        error = f"[{record.get('errorCode') or 'Failed'}] {record.get('errorMessage') or ''}".strip()
        text = f"{text} {error}".strip()
    return text


def _timeline_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "Time": str(r.get("eventTime", "")),
            "Who": _username(r),
            "Event": str(r.get("eventName", "")) + (" (failed)" if r.get("errorCode") or r.get("errorMessage") else ""),
            "What": summary(r),
        }
        for r in records
    ]


def timeline_text(records: Sequence[dict[str, Any]]) -> str:
    """The records as aligned lines: time, who, event, what."""
    rows = _timeline_rows(records)
    if not rows:
        return ""
    widths = {c: max(len(row[c]) for row in rows) for c in ("Time", "Who", "Event")}
    return "".join(
        f"{row['Time']:<{widths['Time']}}  {row['Who']:<{widths['Who']}}  {row['Event']:<{widths['Event']}}  "
        f"{row['What']}".rstrip()
        + "\n"
        for row in rows
    )


def _echo_token(token: str | None) -> None:
    if token:
        click.echo(f"NextToken: {token}", err=True)


# -- lookup-events ---------------------------------------------------------------------------------------------------


@audit_group.command("lookup-events", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
@click.option(
    "--lookup-attributes",
    "lookup_attributes",
    multiple=True,
    metavar="ATTRIBUTES",
    help="AttributeKey=Username|EventName|ResourceName|ResourceType|AccessKeyId|EventId|EventSource|ReadOnly,"
    "AttributeValue=VALUE (or a JSON list of them, or file://path). Repeat it or give several values: all must match.",
)
@click.option("--start-time", metavar="TIME", help="Records at or after this time (ISO 8601, date, 90m/7d ago, epoch).")
@click.option("--end-time", metavar="TIME", help="Records at or before this time (same forms).")
@click.option("--event-category", type=click.Choice(["insight"]), help="As CloudTrail's (no Insights events here).")
@click.option("--max-results", type=int, metavar="N", help="One page of at most N records (1-50), with its NextToken.")
@click.option("--next-token", metavar="TOKEN", help="The NextToken of a previous page.")
@click.option("--max-items", type=int, metavar="N", help="Auto-pagination: stop after N records (prints a NextToken).")
@click.option("--starting-token", metavar="TOKEN", help="Auto-pagination: resume from a previous NextToken.")
@click.option("--page-size", type=int, metavar="N", help="Auto-pagination: records per call (1-50).")
@click.option("--no-paginate", is_flag=True, help="Make a single call (one page), as the aws CLI's flag.")
@click.pass_context
def lookup_events_command(
    ctx: click.Context,
    lookup_attributes: tuple[str, ...],
    start_time: str | None,
    end_time: str | None,
    event_category: str | None,
    max_results: int | None,
    next_token: str | None,
    max_items: int | None,
    starting_token: str | None,
    page_size: int | None,
    no_paginate: bool,
) -> None:
    """Look up the store's audit records, newest first, as `aws cloudtrail lookup-events` does: every write, denied
    request, failed write and failed console sign-in as a CloudTrail record (reads are not recorded). Unlike
    CloudTrail, any number of --lookup-attributes may be combined (all must match). --output json gives the
    LookupEvents response, jsonl one record per line, csv one row per record, table and text a summary."""
    check_query_output()
    extra = list(ctx.args)
    if extra and not lookup_attributes:
        raise click.UsageError(f"Got unexpected extra arguments ({' '.join(extra)})")
    attributes = parse_lookup_attributes([*lookup_attributes, *extra])
    if max_items is not None and max_items < 1:
        raise click.UsageError("--max-items must be at least 1")
    params: dict[str, Any] = {
        "StartTime": start_time,
        "EndTime": end_time,
        "LookupAttributes": attributes,
        "EventCategory": event_category,
    }
    single = max_results is not None or next_token is not None or no_paginate
    with acting_in_account() as (store, _):

        def call(size: int | None, token: str | None) -> dict[str, Any]:
            return store.lookup_events(**params, MaxResults=size, NextToken=token)

        result = call(max_results, next_token) if single else _paginate(call, max_items, starting_token, page_size)
    _print_lookup(result)


def _paginate(call: Any, max_items: int | None, starting_token: str | None, page_size: int | None) -> dict[str, Any]:
    def fetch(token: str | None, wanted: int | None) -> dict[str, Any]:
        size = page_size or 50
        page: dict[str, Any] = call(size if wanted is None else min(size, wanted), token)
        return page

    found = paginate(
        fetch, ["Events"], lambda page: page.get("NextToken") or None, max_items=max_items, marker=starting_token
    )
    as_of: dict[str, Any] = next((p["AsOf"] for p in found.responses if p.get("AsOf")), {})  # the first page's
    if found.resume is None:
        return {"Events": found.items["Events"], "AsOf": as_of}
    # Never cut within a page (each asks for at most the records still wanted): the resume point is a NextToken.
    return {"Events": found.items["Events"], "NextToken": found.resume[0], "AsOf": as_of}


def _print_lookup(result: dict[str, Any]) -> None:
    if state().query is not None:  # applied to the LookupEvents response, as `--output json` prints it
        emit(result, title="LookupEvents")
        return
    fmt = state().output
    events: list[dict[str, Any]] = result["Events"]
    if fmt == "jsonl":
        click.echo(jsonl_lines(_records_of(events)), nl=False)
        _echo_token(result.get("NextToken"))
    elif fmt == "csv":
        click.echo(csv_text(zip(_records_of(events), [e["Resources"] for e in events], strict=True)), nl=False)
        _echo_token(result.get("NextToken"))
    elif fmt == "table":
        rows = []
        for event, record in zip(events, _records_of(events), strict=True):
            rows.append(
                {
                    "EventTime": record["eventTime"],
                    "EventName": event["EventName"],
                    "Username": event["Username"],
                    "Resources": _resources(event["Resources"]),
                    "ErrorCode": record.get("errorCode", ""),
                    "EventId": event["EventId"],
                }
            )
        data: dict[str, Any] = {"Events": rows}
        if result.get("NextToken"):
            data["NextToken"] = result["NextToken"]
        click.echo(render(data, "table", "LookupEvents"), nl=False)
    else:
        click.echo(render(result, fmt, "LookupEvents"), nl=False)


# -- history ---------------------------------------------------------------------------------------------------------


@audit_group.command("history")
@click.option("--user-name", metavar="NAME", help="The history of this IAM user (followed across renames).")
@click.option("--group-name", metavar="NAME", help="The history of this group.")
@click.option("--role-name", metavar="NAME", help="The history of this role (and what its sessions did).")
@click.option("--policy-arn", metavar="ARN", help="The history of this managed policy.")
@click.option("--access-key-id", metavar="ID", help="The history of this access key (what it was used for too).")
def history_command(
    user_name: str | None,
    group_name: str | None,
    role_name: str | None,
    policy_arn: str | None,
    access_key_id: str | None,
) -> None:
    """The records touching one entity, oldest first: what was done to it, and (for a user or role) what it did,
    denied and failed attempts included. table and text print a timeline (time, who, event, what); json the
    CloudTrail records under "Records"; jsonl one record per line; csv one row per record."""
    chosen = [
        (kind, value)
        for kind, value in (
            ("user", user_name),
            ("group", group_name),
            ("role", role_name),
            ("policy", policy_arn),
            ("access-key", access_key_id),
        )
        if value is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "Give exactly one of --user-name, --group-name, --role-name, --policy-arn, --access-key-id."
        )
    check_query_output()
    kind, name = chosen[0]
    with acting_in_account() as (store, _):
        found = store.entity_history(kind, name)
    _print_history(found)


def _print_history(found: Sequence[TrailRecord]) -> None:
    fmt = state().output
    records = [r.record for r in found]
    if state().query is not None:  # applied to the records as `--output json` prints them
        emit({"Records": records}, title="History")
        return
    if fmt == "jsonl":
        click.echo(jsonl_lines(records), nl=False)
    elif fmt == "csv":
        click.echo(csv_text((r.record, [x.shape() for x in r.resources]) for r in found), nl=False)
    elif fmt == "table":
        click.echo(render({"History": _timeline_rows(records)}, "table", "History"), nl=False)
    elif fmt == "text":
        click.echo(timeline_text(records), nl=False)
    else:
        click.echo(render({"Records": records}, "json", "History"), nl=False)
