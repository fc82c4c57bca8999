"""The single-file HTML report (``iamledger audit report``): the account at a moment, the changes since an earlier
one, the findings, and the charts of one question over time, in one page that loads nothing from anywhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.domain.errors import ValidationError
from iamledger.html.base import document, escape, moment_text, position_text
from iamledger.html.charts import render_change_timeline, render_exposure_bands, render_who_can_graph
from iamledger.html.escalation import render_escalation_paths
from iamledger.html.tables import render_changes, render_findings, risky_actions
from iamledger.html.timeline import render_timeline
from iamledger.store import IdentityStore

LIST_LIMIT: Final = 1000
"""The most entities of one kind listed by name (the counts are always whole)."""
ROW_LIMIT: Final = 500
"""The most rows of changes shown (the rest are counted)."""
FINDINGS_LIMIT: Final = 100
"""The most principals of the findings shown, the riskiest first (admins, then by number of findings)."""
# The kinds of the account, with the list call, its answer's key, the name field and the summary's key.
KINDS: Final = (
    ("Users", "list_users", "Users", "UserName", "Users"),
    ("Groups", "list_groups", "Groups", "GroupName", "Groups"),
    ("Roles", "list_roles", "Roles", "RoleName", "Roles"),
    ("Customer managed policies", "list_policies", "Policies", "PolicyName", "Policies"),
)


def _pinned(moment: Mapping[str, Any]) -> str:
    return f"position:{moment['Position']}"


def _account(past: Any) -> str:
    summary = past.get_account_summary()["SummaryMap"]
    cards, lists = [], []
    for title, method, key, name_key, summary_key in KINDS:
        extra = {"Scope": "Local"} if method == "list_policies" else {}
        listed = getattr(past, method)(MaxItems=LIST_LIMIT, **extra)[key]
        count = int(summary.get(summary_key, len(listed)))
        slug = key.lower()
        cards.append(f'<li><a href="#list-{slug}"><span class="count">{count}</span> {escape(title)}</a></li>')
        names = "".join(f"<li><code>{escape(item.get(name_key))}</code></li>" for item in listed)
        more = count - len(listed)
        rest = f'<p class="more">And {more} more, not listed.</p>' if more > 0 else ""
        body = f'<ul class="entity-list">{names}</ul>{rest}' if listed else '<p class="empty">None.</p>'
        lists.append(f'<section id="list-{slug}"><h3>{escape(title)} ({count})</h3>{body}</section>')
    return f'<ul class="report-summary">{"".join(cards)}</ul>{"".join(lists)}'


def _charts(
    store: IdentityStore,
    at: str,
    since: str | None,
    principal_arn: str | None,
    question: tuple[str | None, str],
    escalation: bool,
) -> str:
    action_name, resource_arn = question
    parts = []
    if action_name and principal_arn:
        exposure = store.exposure(
            PrincipalArn=principal_arn, ActionName=action_name, ResourceArn=resource_arn, From=since, To=at
        )
        parts.append(f"<h3>When it was allowed</h3>{render_exposure_bands(exposure)}")
    if action_name:
        who = store.who_can(ActionName=action_name, ResourceArn=resource_arn, At=at)
        title = "Who else could, at the report's moment" if principal_arn else "Who could, at the report's moment"
        parts.append(f"<h3>{title}</h3>{render_who_can_graph(who)}")
    if not principal_arn:
        return "".join(parts)
    if escalation:
        paths = store.escalation_paths(PrincipalArn=principal_arn, At=at)
        parts.append(f"<h3>Escalation paths to admin</h3>{render_escalation_paths(paths)}")
    kind, _, name = principal_arn.rpartition(":")[2].partition("/")
    if kind in {"user", "role", "group"} and name:
        history = [r.record for r in store.entity_history(kind, name.rsplit("/", 1)[-1]) if _up_to(r.record, at)]
        title = f"<h3>History of the {escape(kind)} <code>{escape(name)}</code></h3>"
        parts.append(title + render_timeline(history, heading_level=4))
    return "".join(parts)


def _up_to(record: Mapping[str, Any], at: str) -> bool:
    position = record.get("iamledgerPosition")
    return not isinstance(position, int) or position <= int(at.split(":", 1)[1])


def build_report(
    store: IdentityStore,
    *,
    at: str | None = None,
    since: str | None = None,
    principal_arn: str | None = None,
    action_name: str | None = None,
    resource_arn: str = "*",
    escalation_paths: bool = False,
    generated: datetime | None = None,
) -> str:
    """The report as one HTML page: the account at ``at`` (default now), the changes since ``since`` (when given;
    with ``action_name``/``resource_arn``, the decisions that flipped, for ``principal_arn`` or every user and role),
    the findings at ``at``, who could do ``action_name`` at ``at``, and, for ``principal_arn``, the windows in which
    it was allowed ``action_name``, its escalation paths to admin (with ``escalation_paths``) and its history.
    Every read runs under the caller's audit context, so the store authorizes each as the same API call would be;
    both moments are pinned to positions first, so that every section answers as of the same moments."""
    past = store.at(at or "now")
    moment = past.moment.describe()
    pinned = _pinned(moment)
    earlier = store.at(since) if since is not None else None
    since_moment = earlier.moment.describe() if earlier is not None else None
    start = _pinned(since_moment) if since_moment is not None else None
    if earlier is not None and earlier.position > past.position:
        raise ValidationError(
            f"The --since moment (position {earlier.position}) is after the --at moment (position {past.position})."
        )
    sections: list[tuple[str, str, str]] = [("account", "The account", _account(past))]
    if start is not None:
        diff = store.audit_diff(
            From=start,
            To=pinned,
            PrincipalArn=principal_arn,
            ActionNames=[action_name] if action_name else None,
            ResourceArns=[resource_arn] if action_name else None,
        )
        changes = render_change_timeline(diff, limit=ROW_LIMIT) + render_changes(diff, limit=ROW_LIMIT)
        sections.append(("changes", "Changes", changes))
    findings = store.audit_findings(At=pinned)
    riskiest = sorted(
        findings.get("Principals") or [],
        key=lambda p: (not p.get("Admin"), -sum(risky_actions(f) for f in p.get("Findings") or [])),
    )
    findings = {**findings, "Principals": riskiest}
    sections.append(("findings", "Findings", render_findings(findings, limit=FINDINGS_LIMIT)))
    if principal_arn or action_name:
        charts = _charts(store, pinned, start, principal_arn, (action_name, resource_arn), escalation_paths)
        title = f"Over time: {principal_arn}" if principal_arn else f"Who can {action_name} on {resource_arn}"
        sections.append(("charts", title, charts))
    return _page(store, moment, since_moment, sections, generated or datetime.now(UTC))


def _page(
    store: IdentityStore,
    moment: Mapping[str, Any],
    since: Mapping[str, Any] | None,
    sections: Sequence[tuple[str, str, str]],
    generated: datetime,
) -> str:
    account = escape(getattr(store, "current_account_id", lambda: None)() or "")
    nav = "".join(f'<li><a href="#{slug}">{escape(title)}</a></li>' for slug, title, _ in sections)
    since_text = f"; changes since {position_text(since)}" if since else ""
    body = "".join(
        f'<section id="{slug}" aria-labelledby="{slug}-title">'
        f'<h2 id="{slug}-title">{escape(title)}</h2>{content}</section>'
        for slug, title, content in sections
    )
    head = (
        f"<header><h1>Audit report{f' of account {account}' if account else ''}</h1>"
        f'<p class="report-moment">As of {position_text(moment)}{since_text}. '
        f"Generated {escape(moment_text(generated))} by iamledger; every answer can be asked again exactly with "
        f"<code>--at {escape(_pinned(moment))}</code>.</p></header>"
    )
    navigation = f'<nav class="site" aria-label="Sections of the report"><ul>{nav}</ul></nav>'
    title = f"iamledger audit report, as of {moment_text(moment.get('Time'))}"
    return document(title, head + body, inline_assets=True, nav=navigation)
