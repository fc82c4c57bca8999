"""Privilege escalation paths (``store.escalation_paths(...)``) as chains of principals joined by techniques."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iamledger.html.base import counted, escape, position_text
from iamledger.html.charts import describe_event


def _name(arn: object) -> str:
    return str(arn).rsplit("/", 1)[-1] if arn else "?"


def _statements(hop: Mapping[str, Any]) -> str:
    items = []
    for statement in hop.get("Statements") or []:
        source = statement.get("PolicySource") or {}
        policy = source.get("PolicyArn") or source.get("SourcePolicyId") or "a policy"
        items.append(
            f"<li><code>{escape(statement.get('Action'))}</code> on <code>{escape(statement.get('Resource'))}</code>"
            f" (statement {escape(statement.get('StatementIndex'))} of <code>{escape(policy)}</code>)</li>"
        )
    events = "".join(f"<li>{escape(describe_event(e))}</li>" for e in hop.get("EnabledBy") or [])
    parts = [f"<p>Allowed by:</p><ul>{''.join(items)}</ul>" if items else ""]
    if hop.get("TrustPolicy"):
        parts.append("<p>The target's trust policy lets it be assumed.</p>")
    if events:
        parts.append(f"<p>Enabled by these events:</p><ul>{events}</ul>")
    return "".join(parts)


def _hop(hop: Mapping[str, Any]) -> str:
    technique = escape(hop.get("Technique") or "?")
    actions = sorted({str(s.get("Action")) for s in hop.get("Statements") or [] if s.get("Action")})
    via = f" via {escape(hop['Via'])}" if hop.get("Via") else ""
    conditional = ""
    if hop.get("Conditional"):
        keys = ", ".join(str(k) for k in hop.get("ConditionKeys") or [])
        conditional = f' <strong class="conditional">conditional</strong>{f" on {escape(keys)}" if keys else ""}'
    opened = hop.get("OpenedAt")
    since = f"; possible since {position_text(opened)}" if opened else ""
    return (
        f'<li class="hop"><span class="hop-arrow" aria-hidden="true">\u2192</span> '
        f'<span class="technique">{technique}</span> (<code>{escape(" + ".join(actions))}</code>{via}){conditional} '
        f"to <code>{escape(hop.get('To'))}</code>{since}"
        f'<details><summary>Why<span class="visually-hidden"> {technique} to {escape(_name(hop.get("To")))}'
        f"</span></summary>{_statements(hop)}</details></li>"
    )


def render_escalation_paths(answer: Mapping[str, Any], *, limit: int = 20) -> str:
    """``store.escalation_paths(...)``'s answer: each path, shortest first, as an ordered list of hops from the
    principal (each hop's technique and actions in words, whether it is conditional, since when it was possible,
    and on demand the statements and events behind it). The first ``limit`` paths are shown, the rest counted."""
    principal = escape(answer.get("PrincipalArn"))
    target = escape(answer.get("To") or "admin")
    moment = position_text(answer.get("AsOf"))
    if answer.get("IsAdmin"):
        return f'<section class="escalation"><p><code>{principal}</code> is already an admin at {moment}.</p></section>'
    paths = list(answer.get("Paths") or [])
    if not paths:
        return (
            f'<section class="escalation"><p class="empty">No escalation path from <code>{principal}</code> to '
            f"{target} at {moment}.</p></section>"
        )
    blocks = []
    for number, path in enumerate(paths[:limit], start=1):
        hops = "".join(_hop(hop) for hop in path.get("Hops") or [])
        length = int(path.get("Length") or len(path.get("Hops") or []))
        blocks.append(
            f'<li class="escalation-path"><p class="path-title">Path {number}, {length} hop{"s" * (length != 1)}: '
            f'from <code>{principal}</code></p><ol class="hops">{hops}</ol></li>'
        )
    more = len(paths) - limit
    rest = f'<p class="more">And {counted(more, "more path")}, longer or as long, not shown.</p>' if more > 0 else ""
    return (
        f'<section class="escalation"><p>{counted(len(paths), "escalation path")} from <code>{principal}</code> '
        f"to {target} "
        f'at {moment}, shortest first.</p><ol class="escalation-paths">{"".join(blocks)}</ol>{rest}</section>'
    )
