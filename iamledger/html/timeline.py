"""An entity's history as a vertical timeline, and trail records as a compact table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iamledger.html.base import (
    actor_of,
    anchor,
    cloudtrail,
    escape,
    position_of,
    pretty_json,
    time_element,
    value_text,
)
from iamledger.html.diff import render_policy_diff

# Request parameters that carry a policy document, shown as a diff rather than as a value.
_DOCUMENT_KEYS = ("policyDocument", "assumeRolePolicyDocument")
_NONE = '<span class="none">-</span>'
_INLINE = {
    "PutUserPolicy": "userName",
    "PutGroupPolicy": "groupName",
    "PutRolePolicy": "roleName",
    "DeleteUserPolicy": "userName",
    "DeleteGroupPolicy": "groupName",
    "DeleteRolePolicy": "roleName",
}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class _Documents:
    """The policy documents seen so far in one history, to find the "before" of each change."""

    def __init__(self) -> None:
        self.current: dict[tuple[str, ...], Any] = {}
        self.versions: dict[tuple[str, str], Any] = {}

    def change(self, event: Mapping[str, Any]) -> tuple[Any, Any] | None:  # noqa: C901, PLR0911
        """``(before, after)`` of the policy document ``event`` changes, or None when it changes none."""
        name = str(event.get("eventName") or "")
        params, response = _mapping(event.get("requestParameters")), _mapping(event.get("responseElements"))
        if event.get("errorCode"):
            return None
        if name in _INLINE:
            key = ("inline", _INLINE[name], str(params.get(_INLINE[name])), str(params.get("policyName")))
            after = params.get("policyDocument") if name.startswith("Put") else None
            return self._swap(key, after)
        if name == "CreateRole":
            return self._swap(("trust", str(params.get("roleName"))), params.get("assumeRolePolicyDocument"))
        if name == "UpdateAssumeRolePolicy":
            return self._swap(("trust", str(params.get("roleName"))), params.get("policyDocument"))
        if name == "CreatePolicy":
            policy = _mapping(response.get("policy"))
            arn = str(policy.get("arn") or params.get("policyName"))
            self.versions[arn, "v1"] = params.get("policyDocument")
            return self._swap(("managed", arn), params.get("policyDocument"))
        if name == "CreatePolicyVersion":
            arn = str(params.get("policyArn"))
            version = _mapping(response.get("policyVersion"))
            if version.get("versionId"):
                self.versions[arn, str(version["versionId"])] = params.get("policyDocument")
            before = self.current.get(("managed", arn))
            if params.get("setAsDefault") in {True, "true"}:
                self.current["managed", arn] = params.get("policyDocument")
            return before, params.get("policyDocument")
        if name == "SetDefaultPolicyVersion":
            arn = str(params.get("policyArn"))
            after = self.versions.get((arn, str(params.get("versionId"))))
            return self._swap(("managed", arn), after) if after is not None else None
        if name == "DeletePolicyVersion":
            before = self.versions.pop((str(params.get("policyArn")), str(params.get("versionId"))), None)
            return (before, None) if before is not None else None
        if name == "DeletePolicy":
            return self._swap(("managed", str(params.get("policyArn"))), None)
        return None

    def _swap(self, key: tuple[str, ...], after: Any) -> tuple[Any, Any]:
        before = self.current.get(key)
        if after is None:
            self.current.pop(key, None)
        else:
            self.current[key] = after
        return before, after


def _parameters(params: object) -> str:
    """What a request asked for, as a definition list (policy documents are shown as a diff instead)."""
    if not isinstance(params, Mapping) or not params:
        return ""
    items = []
    for key, value in params.items():
        if key in _DOCUMENT_KEYS:
            continue
        shown = pretty_json(value) if isinstance(value, (dict, list)) else value_text(value)
        items.append(f"<dt>{escape(key)}</dt><dd><code>{escape(shown)}</code></dd>")
    return f'<dl class="event-parameters">{"".join(items)}</dl>' if items else ""


def _source(event: Mapping[str, Any]) -> str:
    address = event.get("sourceIPAddress")
    agent = event.get("userAgent")
    shown = escape(address) if address else '<span class="none">no address recorded</span>'
    return f'{shown} <span class="user-agent">({escape(agent)})</span>' if agent else shown


def _timeline_item(event: Mapping[str, Any], diff: tuple[Any, Any] | None, href: str | None, level: int) -> str:
    name = escape(event.get("eventName") or "unknown event")
    position = position_of(event)
    item_id = anchor("event", position if position is not None else event.get("eventID"))
    title = f'<a href="{escape(href)}">{name}</a>' if href else name
    failed = ""
    if event.get("errorCode"):
        failed = (
            f'<p class="event-error"><strong>Failed:</strong> {escape(event.get("errorCode"))} '
            f"{escape(event.get('errorMessage') or '')}</p>"
        )
    facts = [
        ("Who", f"<code>{escape(actor_of(event))}</code>"),
        ("When", time_element(event.get("eventTime"))),
        ("From", _source(event)),
        ("Request ID", f"<code>{escape(event.get('requestID') or '')}</code>"),
    ]
    if position is not None:
        facts.append(("Position", escape(position)))
    facts_html = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    changed = _parameters(event.get("requestParameters"))
    parts = [
        f'<li class="timeline-event{" timeline-failed" if failed else ""}" id="{item_id}">',
        '<span class="timeline-marker" aria-hidden="true"></span>',
        f'<article class="timeline-card" aria-labelledby="{item_id}-title">',
        f'<h{level} id="{item_id}-title" class="event-title">{title}</h{level}>',
        failed,
        f'<dl class="event-facts">{facts_html}</dl>',
        f'<div class="event-change"><h{level + 1}>What changed</h{level + 1}>{changed}</div>' if changed else "",
    ]
    if diff is not None:
        parts.append(
            '<details class="event-diff"><summary>Policy document: before and after</summary>'
            f"{render_policy_diff(diff[0], diff[1])}</details>"
        )
    parts.append(
        '<details class="event-json"><summary>CloudTrail record</summary>'
        f'<pre tabindex="0"><code>{escape(pretty_json(dict(event)))}</code></pre></details>'
    )
    parts.append("</article></li>")
    return "".join(parts)


def render_timeline(
    records: Sequence[Mapping[str, Any]],
    *,
    link: Callable[[Mapping[str, Any]], str] | None = None,
    heading_level: int = 2,
) -> str:
    """An entity's history (``store.entity_history(...)``'s records, or their CloudTrail dicts), oldest first, as a
    vertical timeline: each event with who, when, from where, the request id, what it asked for, and, when it
    changed a policy document, a side-by-side diff of the document before and after in a ``<details>``. ``link``
    gives each event's title a URL (for example the console at that event's position); each event's title is a
    heading of ``heading_level`` (2: the timeline is right under the page's title)."""
    if not records:
        return '<p class="empty">No events touch this entity.</p>'
    documents = _Documents()
    items = []
    for record in records:
        event = cloudtrail(record)
        diff = documents.change(event)
        items.append(_timeline_item(event, diff, link(record) if link is not None else None, heading_level))
    count = len(records)
    return (
        f'<ol class="timeline" aria-label="History, oldest first ({count} event{"s" * (count != 1)})">'
        f"{''.join(items)}</ol>"
    )


def _resources(entry: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    found = entry.get("Resources")
    if not isinstance(found, list):
        found = event.get("resources")
    names = []
    found = found if isinstance(found, list) else []
    for resource in found:
        if isinstance(resource, Mapping):
            kind = resource.get("ResourceType") or resource.get("type") or ""
            name = resource.get("ResourceName") or resource.get("ARN") or resource.get("name") or ""
            names.append(f'<li><span class="resource-type">{escape(kind)}</span> <code>{escape(name)}</code></li>')
    return f'<ul class="resources">{"".join(names)}</ul>' if names else '<span class="none">none</span>'


def render_events_table(records: Sequence[Mapping[str, Any]]) -> str:
    """Trail records (``lookup_events``' ``Events``, trail records or CloudTrail dicts) as a table, one compact row
    each (time, event name, user, source IP, resources, error code) with the CloudTrail JSON in a ``<details>``."""
    if not records:
        return '<p class="empty">No events match.</p>'
    rows = []
    for record in records:
        event = cloudtrail(record)
        entry: Mapping[str, Any] = record if isinstance(record, Mapping) else {}
        user = entry.get("Username") or actor_of(event)
        error = event.get("errorCode")
        error_cell = f'<strong class="error-code">{escape(error)}</strong>' if error else _NONE
        address = event.get("sourceIPAddress")
        rows.append(
            f'<tr id="{anchor("record", event.get("eventID") or position_of(event))}">'
            f"<td>{time_element(event.get('eventTime') or entry.get('EventTime'))}</td>"
            f"<td>{escape(event.get('eventName') or entry.get('EventName'))}</td>"
            f"<td><code>{escape(user)}</code></td>"
            f"<td>{escape(address) if address else _NONE}</td>"
            f"<td>{_resources(entry, event)}</td>"
            f"<td>{error_cell}</td>"
            '<td><details class="event-json"><summary>JSON<span class="visually-hidden"> of '
            f"{escape(event.get('eventName'))} at {escape(event.get('eventTime'))}</span></summary>"
            f'<pre tabindex="0"><code>{escape(pretty_json(dict(event)))}</code></pre></details></td></tr>'
        )
    return (
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Events"><table class="events">'
        f"<caption>{len(records)} event{'s' * (len(records) != 1)}</caption>"
        '<thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">User</th>'
        '<th scope="col">Source IP</th><th scope="col">Resources</th><th scope="col">Error</th>'
        '<th scope="col">CloudTrail record</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
