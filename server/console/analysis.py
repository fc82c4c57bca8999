"""The console's audit questions: access over time (``audit exposure``), who can (``audit who-can``), the diff of two
moments (``audit diff``) and the trail's events (``audit lookup-events``). Each is the store's question, asked under
the signed-in principal's audit context and so authorized as the store authorizes it (``iam:SimulatePrincipalPolicy``
for exposure, ``iam:GetAccountAuthorizationDetails`` for who-can and diff, ``cloudtrail:LookupEvents`` for
events); each form's fields are the question's parameters, and each answer is drawn by the shared renderers of
:mod:`iamledger.html`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from iamledger.html import (
    counted,
    escape,
    render_changes,
    render_escalation_paths,
    render_events_table,
    render_exposure_bands,
    render_who_can_graph,
)
from iamledger.server.console.web import BadRequest, PageContext, form_field, query_form

EVENT_ATTRIBUTES: Final = (
    ("username", "Username", "User name"),
    ("event_name", "EventName", "Event name"),
    ("resource_name", "ResourceName", "Resource name"),
    ("resource_type", "ResourceType", "Resource type"),
    ("access_key_id", "AccessKeyId", "Access key ID"),
    ("event_id", "EventId", "Event ID"),
    ("event_source", "EventSource", "Event source"),
    ("read_only", "ReadOnly", "Read only (true or false)"),
)
DEFAULT_EVENTS: Final = 50
MAX_DEPTH: Final = 10
MAX_EVENTS: Final = 50


def access(ctx: PageContext) -> tuple[str, str]:
    """The windows in which a principal was allowed an action on a resource, as bands over time."""
    principal, action = ctx.field("principal"), ctx.field("action", "s3:GetObject")
    resource, start, end = ctx.field("resource", "*"), ctx.field("from"), ctx.field("to")
    fields = (
        form_field("principal", "Principal ARN (user or role)", principal, required="required")
        + form_field("action", "Action", action, required="required")
        + form_field("resource", "Resource ARN", resource)
        + form_field("from", "From (optional)", start, hint="ISO time or position; default: the first event")
        + form_field("to", "To (optional)", end, hint="default: the chosen moment, or now")
    )
    form = query_form(ctx, fields, "Show access over time")
    if not principal:
        return "Access over time", form + "<p>Name a principal and an action.</p>"
    answer = ctx.store.exposure(
        PrincipalArn=principal,
        ActionName=action,
        ResourceArn=resource or "*",
        From=_moment(start),
        To=_moment(end) if end else ctx.at_value,
    )
    windows = answer.get("Windows") or []
    summary = (
        f'<p id="exposure-summary">{escape(principal)} was allowed {escape(action)} on {escape(resource or "*")} '
        f"in {counted(len(windows), 'window')}.</p>"
    )
    chart = render_exposure_bands(answer, start=start or None, end=end or None)
    return "Access over time", form + summary + chart


def _moment(value: str) -> str | int | None:
    if not value:
        return None
    return int(value) if value.isdigit() else value


def who_can(ctx: PageContext) -> tuple[str, str]:
    """Who could do one action on one resource at the moment, as a small graph with each principal's way there."""
    action, resource = ctx.field("action"), ctx.field("resource", "*")
    fields = form_field("action", "Action", action, required="required", placeholder="s3:GetObject") + form_field(
        "resource", "Resource ARN", resource
    )
    form = query_form(ctx, fields, "Ask who can")
    if not action:
        return "Who can", form + "<p>Name an action (and a resource): the answer is that question's subgraph only.</p>"
    answer = ctx.store.who_can(ActionName=action, ResourceArn=resource or "*", At=ctx.at_value)
    principals = answer.get("Principals") or []
    items = "".join(_principal_item(ctx, p, action, resource) for p in principals) or "<li>Nobody.</li>"
    listing = (
        f'<section aria-labelledby="h-principals"><h2 id="h-principals">{counted(len(principals), "principal")}'
        f'</h2><ul class="principals" id="who-can-principals">{items}</ul>'
        "</section>"
    )
    graph = render_who_can_graph(answer, link=_timeline_link(ctx))
    return "Who can", form + graph + listing


def _timeline_link(ctx: PageContext) -> Callable[[str, str], str]:
    """A node of the who-can graph (a user, group or role, by name) -> its console timeline at the page's moment."""

    def link(kind: str, name: str) -> str:
        return ctx.link("timeline", {"kind": kind, "name": name})

    return link


def _principal_item(ctx: PageContext, principal: dict[str, Any], action: str, resource: str) -> str:
    arn = str(principal.get("Arn", ""))
    kind = str(principal.get("Type", "")).lower()
    name = arn.rsplit("/", 1)[-1]
    links = []
    if kind in {"user", "role"}:
        # names unlike the navigation's ("Timeline", "Access over time", "Escalation"), so each link is told apart
        of = f'<span class="visually-hidden"> of {escape(name)}</span>'
        links.append(f'<a href="{escape(ctx.link("timeline", {"kind": kind, "name": name}))}">history{of}</a>')
        access_link = ctx.link("access", {"principal": arn, "action": action, "resource": resource})
        links.append(f'<a href="{escape(access_link)}">allowed when{of}</a>')
        links.append(f'<a href="{escape(ctx.link("escalation", {"principal": arn}))}">paths to admin{of}</a>')
    vias = sorted({str(path.get("Via", "")) for path in principal.get("Paths") or []})
    return (
        f'<li><strong>{escape(arn)}</strong> <span class="meta">{escape(principal.get("Type"))}, via '
        f"{escape(', '.join(vias) or '-')}</span> {' '.join(links)}</li>"
    )


def escalation(ctx: PageContext) -> tuple[str, str]:
    """How a principal could become admin (or another principal) at the moment: ``audit escalation-paths``."""
    principal, target, depth = ctx.field("principal"), ctx.field("to", "admin"), ctx.field("max_depth")
    fields = (
        form_field("principal", "Principal ARN (user or role)", principal, required="required")
        + form_field("to", "To", target, hint="admin, or a principal's ARN")
        + form_field("max_depth", "Longest path (hops, optional)", depth, kind="number", min="1", max="10")
    )
    form = query_form(ctx, fields, "Find escalation paths")
    if not principal:
        return "Escalation paths", form + "<p>Name a principal: its ways to admin are listed, shortest first.</p>"
    if depth and not (depth.isdigit() and 1 <= int(depth) <= MAX_DEPTH):
        raise BadRequest(f"Longest path: a number of hops from 1 to {MAX_DEPTH}.")
    answer = ctx.store.escalation_paths(
        PrincipalArn=principal, To=target or "admin", MaxDepth=int(depth) if depth else None, At=ctx.at_value
    )
    return "Escalation paths", form + render_escalation_paths(answer)


def diff(ctx: PageContext) -> tuple[str, str]:
    """The changes between two moments and the decisions they flipped."""
    start, end = ctx.field("from"), ctx.field("to")
    principal, action, resource = ctx.field("principal"), ctx.field("action"), ctx.field("resource")
    fields = (
        form_field("from", "From", start, required="required", hint="ISO time, position:N or N")
        + form_field("to", "To (optional)", end, hint="default: the chosen moment, or now")
        + form_field("principal", "Principal ARN (optional)", principal)
        + form_field("action", "Action (optional)", action, hint="decisions to compare, e.g. s3:GetObject")
        + form_field("resource", "Resource ARN (optional)", resource)
    )
    form = query_form(ctx, fields, "Compare")
    if not start:
        return "Diff", form + "<p>Give the earlier moment: the changes since then are listed.</p>"
    answer = ctx.store.audit_diff(
        From=_moment(start) or start,
        To=_moment(end) if end else ctx.at_value,
        PrincipalArn=principal or None,
        ActionNames=[action] if action else None,
        ResourceArns=[resource] if resource else None,
    )
    return "Diff", form + render_changes(answer)


def events(ctx: PageContext) -> tuple[str, str]:
    """The trail's records, newest first, filtered as ``LookupEvents`` filters them, a page at a time."""
    values = {field: ctx.field(field) for field, _, _ in EVENT_ATTRIBUTES}
    start, end, token = ctx.field("start"), ctx.field("end"), ctx.field("next")
    size_text = ctx.field("max", str(DEFAULT_EVENTS))
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_EVENTS:
        raise BadRequest(f"Events per page: a number from 1 to {MAX_EVENTS}.")
    fields = "".join(form_field(field, label, values[field]) for field, _, label in EVENT_ATTRIBUTES)
    fields += form_field("start", "Start time", start, hint="ISO time") + form_field(
        "end", "End time", end, hint="default: the chosen moment, or now"
    )
    fields += form_field("max", "Events per page", size_text, kind="number", min="1", max=str(MAX_EVENTS))
    form = query_form(ctx, fields, "Look up events")
    attributes = [{"AttributeKey": key, "AttributeValue": values[f]} for f, key, _ in EVENT_ATTRIBUTES if values[f]]
    end_time: Any = end or None
    if end_time is None and ctx.moment is not None:
        end_time = ctx.moment.time
    answer = ctx.store.lookup_events(
        LookupAttributes=attributes or None,
        StartTime=start or None,
        EndTime=end_time,
        MaxResults=int(size_text),
        NextToken=token or None,
    )
    records = answer.get("Events") or []
    body = form + f'<p id="events-count">{counted(len(records), "event")} on this page.</p>'
    body += render_events_table(records)
    if answer.get("NextToken"):
        params = {**values, "start": start, "end": end, "max": size_text, "next": answer["NextToken"]}
        body += f'<p><a rel="next" href="{escape(ctx.link("events", params))}">Next page</a></p>'
    return "Events", body
