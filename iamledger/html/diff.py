"""A side-by-side line diff of two policy documents."""

from __future__ import annotations

import difflib
from typing import Any

from iamledger.html.base import escape, parse_document, pretty_json

_SIGNS = {"removed": "\u2212", "added": "+", "same": " "}


def _lines(document: Any) -> list[str]:
    parsed = parse_document(document)
    return [] if parsed is None else pretty_json(parsed).splitlines()


def _cell(kind: str, number: int | None, text: str | None) -> str:
    if number is None or text is None:
        return '<td class="diff-num"></td><td class="diff-line diff-empty"></td>'
    label = {"removed": "removed: ", "added": "added: ", "same": ""}[kind]
    sign = f'<span class="diff-sign" aria-hidden="true">{_SIGNS[kind]}</span>'
    hidden = f'<span class="visually-hidden">{label}</span>' if label else ""
    return (
        f'<td class="diff-num">{number}</td>'
        f'<td class="diff-line diff-{kind}">{sign}{hidden}<code>{escape(text)}</code></td>'
    )


def render_policy_diff(before: Any, after: Any) -> str:
    """Two policy documents (dicts, JSON or URL-encoded JSON strings, or None for "none") side by side, line by
    line, indented the same way: a removed line is marked with a minus sign and the class ``diff-removed``, an added
    one with ``+`` and ``diff-added`` (and, for screen readers, the words), so that colour is never the only signal."""
    old, new = _lines(before), _lines(after)
    rows: list[str] = []
    removed = added = 0
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                left = _cell("same", i1 + offset + 1, old[i1 + offset])
                right = _cell("same", j1 + offset + 1, new[j1 + offset])
                rows.append(f'<tr class="diff-row-same">{left}{right}</tr>')
            continue
        span = max(i2 - i1, j2 - j1)
        for offset in range(span):
            i, j = i1 + offset, j1 + offset
            left = _cell("removed", i + 1, old[i]) if i < i2 else _cell("removed", None, None)
            right = _cell("added", j + 1, new[j]) if j < j2 else _cell("added", None, None)
            removed += i < i2
            added += j < j2
            rows.append(f'<tr class="diff-row-changed">{left}{right}</tr>')
    if not old and not new:
        return '<p class="policy-diff-empty">No policy document on either side.</p>'
    summary = f"{removed} line{'s' * (removed != 1)} removed, {added} line{'s' * (added != 1)} added"
    if not removed and not added:
        summary = "no difference"
    before_title = "Before" if old else "Before (no document)"
    after_title = "After" if new else "After (no document)"
    return (
        '<div class="policy-diff-wrap" tabindex="0">'
        '<table class="policy-diff">'
        f"<caption>Policy document, before and after: {escape(summary)} "
        '(<span class="diff-sign">\u2212</span> removed, <span class="diff-sign">+</span> added)</caption>'
        '<thead><tr><th scope="col" class="diff-num"><span class="visually-hidden">Line</span></th>'
        f'<th scope="col">{before_title}</th>'
        '<th scope="col" class="diff-num"><span class="visually-hidden">Line</span></th>'
        f'<th scope="col">{after_title}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
