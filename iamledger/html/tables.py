"""The changes between two moments, and the findings, as tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from iamledger.html.base import counted, escape, parse_document, position_text, pretty_json, value_text, words
from iamledger.html.charts import describe_event
from iamledger.html.diff import render_policy_diff

_CHANGE_SIGNS: Final = {"Added": "+", "Removed": "\u2212", "Changed": "~"}
# The fields of a change that name what changed, in the order they are shown; the rest are details.
_SUBJECT_KEYS: Final = (
    "UserName",
    "GroupName",
    "RoleName",
    "PolicyName",
    "PrincipalArn",
    "PolicyArn",
    "Arn",
    "AccessKeyId",
    "VersionId",
)
_DOCUMENTS: Final = ("PolicyDocument", "AssumeRolePolicyDocument", "Document")
CATEGORIES: Final = (
    "PrivilegeEscalation",
    "DataExfiltration",
    "ResourceExposure",
    "CredentialsExposure",
    "InfrastructureModification",
)


def _subject(change: Mapping[str, Any]) -> str:
    shown = [
        f'<span class="field"><span class="field-name">{escape(key)}</span> <code>{escape(change[key])}</code></span>'
        for key in _SUBJECT_KEYS
        if change.get(key) is not None
    ]
    return "<br>".join(shown)


def _details(change: Mapping[str, Any]) -> str:
    parts = []
    changed = change.get("Changed")
    if isinstance(changed, Mapping):
        for what, values in changed.items():
            before, after = (values or {}).get("From"), (values or {}).get("To")
            if isinstance(parse_document(before), dict) or isinstance(parse_document(after), dict):
                parts.append(
                    f"<details><summary>{escape(what)}: before and after</summary>"
                    f"{render_policy_diff(before, after)}</details>"
                )
            else:
                values_text = (
                    f"<code>{escape(value_text(before))}</code> \u2192 <code>{escape(value_text(after))}</code>"
                )
                parts.append(f"<p>{escape(what)}: {values_text}</p>")
    parts.extend(
        f"<details><summary>{escape(key)}</summary>"
        f'<pre tabindex="0"><code>{escape(pretty_json(parse_document(change[key])))}</code></pre></details>'
        for key in _DOCUMENTS
        if change.get(key) is not None
    )
    skip = {"Category", "Change", "Changed", "Events", *_SUBJECT_KEYS, *_DOCUMENTS}
    for key, value in change.items():
        if key not in skip and value is not None:
            parts.append(
                f'<p><span class="field-name">{escape(key)}</span> <code>{escape(value_text(value))}</code></p>'
            )
    return "".join(parts)


def _events(change: Mapping[str, Any]) -> str:
    events = change.get("Events") or []
    if not events:
        return '<span class="none">no event in the range</span>'
    return '<ul class="change-events">' + "".join(f"<li>{escape(describe_event(e))}</li>" for e in events) + "</ul>"


def _decisions(flips: list[Mapping[str, Any]]) -> str:
    if not flips:
        return ""
    rows = []
    for flip in flips:
        before, after = str(flip.get("From")), str(flip.get("To"))
        direction = "now allowed" if after == "allowed" else ("no longer allowed" if before == "allowed" else "changed")
        rows.append(
            f'<tr><th scope="row"><code>{escape(flip.get("PrincipalArn"))}</code></th>'
            f"<td><code>{escape(flip.get('ActionName'))}"
            f"</code></td><td><code>{escape(flip.get('ResourceArn'))}</code></td>"
            f'<td class="decision decision-{escape(after)}"><strong>{escape(direction)}</strong>: '
            f"{escape(before)} \u2192 {escape(after)}</td></tr>"
        )
    return (
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Decisions that flipped">'
        '<table class="decisions"><caption>Decisions that flipped</caption>'
        '<thead><tr><th scope="col">Principal</th><th scope="col">Action</th><th scope="col">Resource</th>'
        f'<th scope="col">Decision</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def render_changes(answer: Mapping[str, Any], *, limit: int | None = None) -> str:
    """``store.audit_diff(...)``'s answer: the changes between its two moments (each with a sign, + or minus or ~,
    and the word, what it is about, and the events behind it) and the decisions that flipped. ``limit`` caps the rows
    of changes shown (the rest are counted)."""
    changes = list(answer.get("Changes") or [])
    flips = list(answer.get("DecisionChanges") or [])
    flipped = f", {counted(len(flips), 'decision')} flipped" if "DecisionChanges" in answer else ""
    heading = (
        f'<p class="diff-range">From {position_text(answer.get("From"))} to {position_text(answer.get("To"))}: '
        f"{counted(len(changes), 'change')}{flipped}.</p>"
    )
    if answer.get("PrincipalArn"):
        heading += f"<p>For <code>{escape(answer['PrincipalArn'])}</code>.</p>"
    shown = changes if limit is None else changes[:limit]
    rows = []
    for number, change in enumerate(shown, start=1):
        kind = str(change.get("Change") or "")
        rows.append(
            f'<tr id="change-{number}" class="change change-{escape(kind.lower())}">'
            f'<td><span class="change-sign" aria-hidden="true">{_CHANGE_SIGNS.get(kind, "?")}</span> '
            f"{escape(kind)}</td>"
            f"<td>{escape(words(str(change.get('Category') or '')))}</td><td>{_subject(change)}</td>"
            f"<td>{_details(change)}</td><td>{_events(change)}</td></tr>"
        )
    table = ""
    if rows:
        table = (
            '<div class="table-wrap" tabindex="0" role="region" aria-label="Table of changes">'
            '<table class="changes"><caption>Changes</caption>'
            '<thead><tr><th scope="col">Change</th><th scope="col">What</th><th scope="col">Which</th>'
            '<th scope="col">Details</th><th scope="col">Events</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
    more = len(changes) - len(shown)
    rest = f'<p class="more">And {counted(more, "more change")}, not shown.</p>' if more > 0 else ""
    empty = "" if changes or flips else '<p class="empty">Nothing changed.</p>'
    return f'<section class="changes">{heading}{empty}{table}{rest}{_decisions(flips)}</section>'


DETAIL_LINES: Final = 30
"""The most lines of one category of one principal's findings shown (an admin has a thousand; the rest counted)."""
LINE_ACTIONS: Final = 12
"""The most actions named on one line of findings (the rest counted)."""


def _actions_text(actions: list[str]) -> str:
    shown = ", ".join(actions[:LINE_ACTIONS])
    more = len(actions) - LINE_ACTIONS
    text = f"<code>{escape(shown)}</code>"
    return f'{text} <span class="more">and {more} more</span>' if more > 0 else text


def _finding_label(finding: Mapping[str, Any]) -> str:
    """What a finding grants: its escalation method with its actions, or its action."""
    actions = ", ".join(str(a) for a in finding.get("Actions") or [])
    if finding.get("Method"):
        return f"{finding['Method']} ({actions})" if actions else str(finding["Method"])
    return str(finding.get("Action") or actions or "?")


def risky_actions(finding: Mapping[str, Any]) -> int:
    """How many risky grants a finding is: one for an escalation method or admin check (or a finding of one action),
    its number of actions for a finding of a category's actions."""
    if finding.get("Method") or finding.get("Action"):
        return 1
    return len(finding.get("Actions") or []) or 1


def _policy_text(policy: Mapping[str, Any]) -> str:
    return f"{policy.get('PolicyName')} (statement {policy.get('Statement')})"


def _finding_details(findings: list[Mapping[str, Any]]) -> str:
    """The findings of one principal, by category, the actions granted by the same statements on the same
    resources on one line."""
    grouped: dict[str, dict[tuple[str, str], list[str]]] = {}
    counts: dict[str, int] = {}
    for finding in findings:
        category = str(finding.get("Category"))
        counts[category] = counts.get(category, 0) + risky_actions(finding)
        resources = ", ".join(str(r) for r in finding.get("Resources") or [])
        lines = grouped.setdefault(category, {})
        policies = list(finding.get("Policies") or [])
        if not finding.get("Method") and not finding.get("Action") and policies:
            for policy in policies:  # a category's actions: a line per statement, with the actions it grants (all
                granted = policy.get("Actions", finding.get("Actions") or [])  # of them when it names none)
                lines.setdefault((resources, _policy_text(policy)), []).extend(str(a) for a in granted)
            continue
        lines.setdefault((resources, ", ".join(_policy_text(p) for p in policies)), []).append(_finding_label(finding))
    sections = []
    for category, lines in grouped.items():
        shown = list(lines.items())[:DETAIL_LINES]
        items = "".join(
            f"<li>{_actions_text(actions)} on <code>{escape(resources)}</code>"
            + (f' <span class="from">from {escape(policies)}</span>' if policies else "")
            + "</li>"
            for (resources, policies), actions in shown
        )
        if len(lines) > len(shown):
            items += f'<li class="more">And {counted(len(lines) - len(shown), "more line")}, not shown.</li>'
        count = counts[category]
        sections.append(
            f'<p class="finding-category"><strong>{escape(words(category))}</strong> ({count})</p><ul>{items}</ul>'
        )
    return (
        f"<details><summary>{counted(len(findings), 'finding')}</summary>{''.join(sections)}</details>"
        if findings
        else ""
    )


def render_findings(answer: Mapping[str, Any], *, limit: int | None = None) -> str:
    """``store.audit_findings(...)``'s answer as a table: one row per user or role, whether it is an admin (in
    words), its number of findings per category, and the findings themselves on demand. ``limit`` caps the rows."""
    principals = list(answer.get("Principals") or [])
    counts = answer.get("Counts") or {}
    summary = "".join(f"<dt>{escape(words(str(k)))}</dt><dd>{escape(v)}</dd>" for k, v in counts.items())
    moment = position_text(answer.get("AsOf"))
    head = f'<p class="as-of">As of {moment}: {len(principals)} principal(s) with findings.</p>'
    if summary:
        head += f'<dl class="counts">{summary}</dl>'
    if not principals:
        return f'<section class="findings">{head}<p class="empty">No findings.</p></section>'
    shown = principals if limit is None else principals[:limit]
    rows = []
    for principal in shown:
        findings = list(principal.get("Findings") or [])
        per = {c: sum(risky_actions(f) for f in findings if f.get("Category") == c) for c in CATEGORIES}
        admin = principal.get("Admin")
        cells = "".join(f"<td>{per[c]}</td>" for c in CATEGORIES)
        rows.append(
            f'<tr><th scope="row"><code>{escape(principal.get("Arn"))}</code></th>'
            f"<td>{escape(principal.get('Type'))}</td>"
            f'<td class="admin-{"yes" if admin else "no"}">{"<strong>Yes</strong>" if admin else "No"}</td>'
            f"{cells}<td>{_finding_details(findings)}</td></tr>"
        )
    header_cells = "".join(f'<th scope="col">{escape(words(c))}</th>' for c in CATEGORIES)
    more = len(principals) - len(shown)
    rest = f'<p class="more">And {more} more principal(s), not shown.</p>' if more > 0 else ""
    return (
        f'<section class="findings">{head}'
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Findings per principal">'
        '<table class="findings-table">'
        "<caption>Findings per principal (numbers of risky actions by category)</caption>"
        '<thead><tr><th scope="col">Principal</th><th scope="col">Type</th><th scope="col">Admin</th>'
        f'{header_cells}<th scope="col">Findings</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        f"{rest}</section>"
    )
