"""The console's account pages: the account at the chosen moment (users, groups, roles and policies, a page of each),
a whole list page by page, an entity's timeline, and the state of the hash chain.

Every read is the store's own, made under the signed-in principal's audit context (the console's app binds it), so
it is authorized with the IAM actions of the same API call: ``iam:ListUsers``, ``iam:ListGroups``, ``iam:ListRoles``,
``iam:ListPolicies`` for the lists, ``cloudtrail:LookupEvents`` for a timeline and for the chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from iamledger.domain.errors import AccessDeniedError, IdentityStoreError
from iamledger.html import counted, escape, render_timeline
from iamledger.projections.log import ledger
from iamledger.server.console.web import BadRequest, PageContext, form_field, query_form

HOME_ITEMS: Final = 25
LIST_ITEMS: Final = 100
HISTORY_KINDS: Final = ("user", "group", "role", "policy", "access-key")


def _lister(kind: str) -> tuple[str, str, dict[str, Any]]:
    """The store method listing ``kind``, the answer's key, and fixed parameters."""
    listers: dict[str, tuple[str, str, dict[str, Any]]] = {
        "users": ("list_users", "Users", {}),
        "groups": ("list_groups", "Groups", {}),
        "roles": ("list_roles", "Roles", {}),
        "policies": ("list_policies", "Policies", {"Scope": "Local"}),
        "aws-policies": ("list_policies", "Policies", {"Scope": "AWS", "OnlyAttached": True}),
    }
    return listers[kind]


LIST_TITLES: Final = {
    "users": "Users",
    "groups": "Groups",
    "roles": "Roles",
    "policies": "Customer managed policies",
    "aws-policies": "AWS managed policies in use",
}


def _reader(ctx: PageContext) -> Any:
    """What answers the list operations: the store at the page's moment, or the store now."""
    return ctx.moment if ctx.moment is not None else ctx.store


def _list(ctx: PageContext, kind: str, marker: str | None, items: int) -> tuple[list[dict[str, Any]], str | None]:
    method, key, fixed = _lister(kind)
    params: dict[str, Any] = {"MaxItems": items, **fixed}
    if marker:
        params["Marker"] = marker
    answer = getattr(_reader(ctx), method)(**params)
    return list(answer.get(key, [])), (answer.get("Marker") if answer.get("IsTruncated") else None)


def _entity_row(ctx: PageContext, kind: str, item: Mapping[str, Any]) -> str:
    if kind in {"policies", "aws-policies"}:
        name, history = str(item["PolicyName"]), {"kind": "policy", "name": item["Arn"]}
        attachments = counted(int(item.get("AttachmentCount", 0)), "attachment")
        extra = f"{attachments}, default {escape(item.get('DefaultVersionId'))}"
    else:
        singular = kind[:-1]
        name_key = {"users": "UserName", "groups": "GroupName", "roles": "RoleName"}[kind]
        name, history = str(item[name_key]), {"kind": singular, "name": item[name_key]}
        extra = f"created {escape(item.get('CreateDate'))}"
    links = f'<a href="{escape(ctx.link("timeline", history))}" title="{escape(item["Arn"])}">{escape(name)}</a>'
    if kind in {"users", "roles"}:
        access = ctx.link("access", {"principal": item["Arn"]})
        hidden = f'<span class="visually-hidden"> of {escape(name)}</span>'
        links += f' <a class="secondary" href="{escape(access)}">allowed when{hidden}</a>'
    return f'<li>{links} <span class="more">{extra}</span></li>'


def _section(ctx: PageContext, kind: str, items: list[dict[str, Any]], more: str | None, *, heading: str) -> str:
    rows = "".join(_entity_row(ctx, kind, item) for item in items) or "<li>None.</li>"
    next_link = (
        f'<p><a href="{escape(ctx.link(f"list/{kind}", {"marker": more}))}">More {escape(LIST_TITLES[kind].lower())}'
        "</a></p>"
        if more
        else ""
    )
    return (
        f'<section aria-labelledby="h-{kind}"><h2 id="h-{kind}">{escape(heading)}</h2>'
        f'<ul class="entity-list" id="list-{kind}">{rows}</ul>{next_link}</section>'
    )


def home(ctx: PageContext) -> tuple[str, str]:
    """The account at the moment: the first users, groups, roles and policies, each linking to its timeline."""
    sections = []
    for kind in ("users", "groups", "roles", "policies"):
        items, more = _list(ctx, kind, None, HOME_ITEMS)
        sections.append(_section(ctx, kind, items, more, heading=LIST_TITLES[kind]))
    aws = ctx.link("list/aws-policies")
    intro = _counts(ctx) + (
        f"<p>Account <strong>{escape(ctx.session.account_id)}</strong>. Each name opens its timeline; "
        "the time slider shows the account at any moment of its history. Also: "
        f'<a href="{escape(aws)}">the AWS managed policies in use</a>.</p>'
    )
    return "Account", intro + '<div class="account-lists">' + "".join(sections) + "</div>"


def _counts(ctx: PageContext) -> str:
    """How many users, groups, roles and customer managed policies the account had (``GetAccountSummary`` at the
    moment); a principal not allowed ``iam:GetAccountSummary`` sees the lists without the counts."""
    try:
        summary = _reader(ctx).get_account_summary()["SummaryMap"]
    except AccessDeniedError:
        return '<p class="none" id="account-counts">Counts not shown: iam:GetAccountSummary is not allowed.</p>'
    items = "".join(
        f"<li><span class='count'>{int(summary.get(key, 0)):,}</span> {label}</li>"
        for key, label in (("Users", "users"), ("Groups", "groups"), ("Roles", "roles"), ("Policies", "policies"))
    )
    return f'<ul class="report-summary" id="account-counts">{items}</ul>'


def entity_list(kind: str) -> Callable[[PageContext], tuple[str, str]]:
    """A whole list, :data:`LIST_ITEMS` at a time."""

    def page(ctx: PageContext) -> tuple[str, str]:
        marker = ctx.field("marker") or None
        items, more = _list(ctx, kind, marker, LIST_ITEMS)
        return LIST_TITLES[kind], _section(ctx, kind, items, more, heading=LIST_TITLES[kind])

    return page


def _event_link(ctx: PageContext) -> Callable[[Mapping[str, Any]], str]:
    def link(record: Mapping[str, Any]) -> str:
        return ctx.link("events", {"event_id": record.get("eventID")})

    return link


def timeline(ctx: PageContext) -> tuple[str, str]:
    """The history of one entity as a vertical timeline, up to the page's moment."""
    kind, name = ctx.field("kind", "user"), ctx.field("name")
    if kind not in HISTORY_KINDS:
        raise BadRequest(f"Unknown kind of entity {kind!r}: use one of {', '.join(HISTORY_KINDS)}.")
    options = "".join(f'<option value="{k}"{" selected" if k == kind else ""}>{k}</option>' for k in HISTORY_KINDS)
    fields = (
        f'<p class="field"><label for="f-kind">Kind</label> <select id="f-kind" name="kind">{options}</select></p>'
        + form_field("name", "Name (a policy: its ARN; an access key: its id)", name, required="required")
    )
    form = query_form(ctx, fields, "Show the timeline")
    if not name:
        return "Timeline", form + "<p>Choose an entity: its history is shown from its first event.</p>"
    records = [r.record for r in ctx.store.entity_history(kind, name)]
    later = 0
    if ctx.position is not None:
        shown = [r for r in records if _until(r, ctx)]
        later, records = len(records) - len(shown), shown
    note = f'<p class="note">{counted(later, "later event")} (after the chosen moment) not shown.</p>' if later else ""
    summary = (
        f"<p>{counted(len(records), 'event')} touching {escape(kind)} <strong>{escape(name)}</strong>, "
        "oldest first.</p>"
    )
    return f"Timeline of {kind} {name}", form + summary + note + render_timeline(records, link=_event_link(ctx))


def _until(record: Mapping[str, Any], ctx: PageContext) -> bool:
    """Whether a record is of the page's moment or before: by its log position, or, for a refusal (recorded in the
    security log, at no position), by its time."""
    assert ctx.moment is not None  # noqa: S101 - only asked with a moment
    position = record.get("iamledgerPosition")
    if position is not None:
        return int(position) <= ctx.moment.position
    when = str(record.get("eventTime") or "")
    try:
        return datetime.fromisoformat(when) <= ctx.moment.time
    except ValueError:
        return True


class VerifyMemory:
    """The last verification this process ran (a report's description), shown by the Verify page."""

    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None


def verify(ctx: PageContext, memory: VerifyMemory) -> tuple[str, str]:
    """The hash chain's state: its head (the last position it covers), the log's head, what is not covered yet, and
    the last verification; ``?run=1`` re-computes the chain now (reading only: nothing is extended)."""
    account = ctx.session.account_id
    ctx.store.authorize_operation("cloudtrail", "LookupEvents", {}, account)
    store = ctx.store
    with store.engine.connect() as conn:
        position, recorded, link = ledger.head(conn)
        log_head = ledger.log_head(conn, store.events_table())
    if ctx.field("run") == "1":
        memory.last = store.verify_log(extend=False).describe()
    rows = [
        ("Chain head (last position covered)", f"{position}"),
        ("Recorded at", str(recorded) if recorded is not None else "-"),
        ("Head link", link),
        ("Log head (newest position)", f"{log_head}"),
        ("Events not yet covered by the chain", f"{max(log_head - position, 0)}"),
    ]
    table = "".join(f"<tr><th scope='row'>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
    body = f'<table class="facts" id="chain-state"><caption>The hash chain now</caption>{table}</table>'
    last = memory.last
    if last is None:
        body += '<p id="last-verified">Not verified by this console yet.</p>'
    else:
        body += (
            f'<div id="last-verified" class="verify-{"ok" if last["Verified"] else "bad"}" role="status">'
            f"<p><strong>{escape(last['Message'])}</strong></p>"
            f"<p>Last verified position: <strong>{escape(last['Position'])}</strong> "
            f"({escape(last['Checked'])} events checked).</p></div>"
        )
    body += (
        '<form method="get" action="/console/verify"><input type="hidden" name="run" value="1">'
        '<p><button type="submit">Verify the chain now</button> <span class="hint">re-computes the hash of every '
        "event (on a large log this takes a while); `iamledger audit verify` does the same.</span></p></form>"
    )
    return "Verify", body


def describe_error(error: IdentityStoreError) -> tuple[int, str, str]:
    return int(error.http_status), str(error.code), str(error.message)
