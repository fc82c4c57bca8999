"""Pictures of the audit answers: exposure windows as a band chart, and who-can as a small graph."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from iamledger.html.base import anchor, as_datetime, counted, escape, moment_text, position_text, time_element, words

WIDTH: Final = 800
ROW: Final = 44
TOP: Final = 8
AXIS: Final = 44
TICKS: Final = 4


def describe_event(event: Mapping[str, Any] | None) -> str:
    """One event of an answer (``EventName``, ``Actor``, ``EventTime``, ``RequestId``, ``Position``) as a sentence."""
    if not event:
        return "no recorded event"
    who = event.get("Actor") or "unknown"
    text = f"{event.get('EventName') or 'event'} by {who} at {moment_text(event.get('EventTime'))}"
    if event.get("RequestId"):
        text += f", request {event['RequestId']}"
    if event.get("Position") is not None:
        text += f", position {event['Position']}"
    return text


def _rows(answer: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    principals = answer.get("Principals")
    if isinstance(principals, list) and principals:
        return [(str(p.get("PrincipalId") or "?"), list(p.get("Windows") or [])) for p in principals]
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for window in answer.get("Windows") or []:
        grouped.setdefault(str(window.get("PrincipalId") or "?"), []).append(window)
    return list(grouped.items())


def _bounds(
    rows: list[tuple[str, list[Mapping[str, Any]]]], answer: Mapping[str, Any], start: str | None, end: str | None
) -> tuple[datetime | None, datetime | None]:
    moments = [
        as_datetime((w.get(side) or {}).get("Time")) for _, windows in rows for w in windows for side in ("From", "To")
    ]
    known = [m for m in moments if m is not None]
    still_open = any(not w.get("To") for _, windows in rows for w in windows)
    low = as_datetime(start) or (min(known) if known else None)
    latest = as_datetime((answer.get("AsOf") or {}).get("Time")) if still_open else None
    high = as_datetime(end) or latest or (max(known) if known else None)
    if low is None or high is None:
        return low, high
    if high <= low:
        high = _shifted(low, timedelta(seconds=1))
        low = high - timedelta(seconds=1)  # (at the end of year 9999 there is no later second)
    margin = (high - low) / 20  # a window that opens or closes at an edge stays visible
    return (low if start else _shifted(low, -margin)), (high if end else _shifted(high, margin))


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, or the first or last moment a datetime can hold when that is beyond it."""
    try:
        return moment + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if delta > timedelta() else datetime.min.replace(tzinfo=UTC)


def _window_text(window: Mapping[str, Any]) -> str:
    opened = window.get("From") or {}
    closed = window.get("To")
    text = f"Allowed from {moment_text(opened.get('Time'))} (opened by {describe_event(opened.get('Event'))})"
    if closed:
        return text + f" until {moment_text(closed.get('Time'))} (closed by {describe_event(closed.get('Event'))})"
    return text + ", still allowed at the end"


def _data(window: Mapping[str, Any]) -> str:
    attributes = []
    for side, name in (("From", "from"), ("To", "to")):
        event = (window.get(side) or {}).get("Event") or {}
        for key, attr in (("Position", "position"), ("RequestId", "request-id"), ("EventName", "event")):
            if event.get(key) is not None:
                attributes.append(f'data-{name}-{attr}="{escape(event[key])}"')
    return " ".join(attributes)


def _axis(low: datetime | None, high: datetime | None, y: int) -> str:
    """The time axis under the bands: a line with five ticks, each labelled with its moment."""
    parts = [f'<line class="band-axis" x1="0" x2="{WIDTH}" y1="{y}" y2="{y}"/>']
    if low is None or high is None:
        return parts[0]
    for tick in range(TICKS + 1):
        x = WIDTH * tick / TICKS
        moment = low + (high - low) * tick / TICKS
        anchor_at = "start" if tick == 0 else "end" if tick == TICKS else "middle"
        parts.append(f'<line class="band-tick" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 5}"/>')
        # the moment on two lines, the date over the time, so that five labels fit side by side; to the
        # millisecond when the whole axis spans less than a minute (ticks a second apart would read the same)
        day, _, clock = moment_text(moment).partition(" ")
        if high - low < timedelta(minutes=1):
            clock = moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"
        parts.append(
            f'<text class="axis-label" x="{x:.1f}" y="{y + 18}" text-anchor="{anchor_at}">{escape(day)}'
            f'<tspan x="{x:.1f}" dy="14">{escape(clock)}</tspan></text>'
        )
    return "".join(parts)


def _event_html(event: Mapping[str, Any] | None, link: Callable[[Mapping[str, Any]], str] | None) -> str:
    text = escape(describe_event(event))
    if event and link is not None:
        return f'<a href="{escape(link(event))}">{text}</a>'
    return text


def _window(
    principal: str,
    number: int,
    window: Mapping[str, Any],
    place: tuple[Callable[[object, float], float], int],
    event_link: Callable[[Mapping[str, Any]], str] | None,
) -> tuple[str, str]:
    """One window: its bar in the chart (a link to its entry in the list) and that entry."""
    x, y = place
    item_id = anchor("window", f"{principal}-{number}")
    opened, closed = window.get("From") or {}, window.get("To")
    left = x(opened.get("Time"), 0.0)
    right = x(closed.get("Time"), WIDTH) if closed else WIDTH
    width = max(right - left, 4.0)
    label = f"Window {number} of {principal}: {_window_text(window)}"
    open_mark = ""
    if not closed:
        tip = left + width
        points = f"M{tip - 8:.1f},{y + 16} L{tip:.1f},{y + 25} L{tip - 8:.1f},{y + 34} Z"
        open_mark = f'<path class="band-open" d="{points}"/>'
    shape = (
        f'<a class="exposure-window{"" if closed else " open"}" href="#{item_id}" '
        f'aria-label="{escape(label)}" {_data(window)}><title>{escape(label)}</title>'
        f'<rect x="{left:.1f}" y="{y + 18}" width="{width:.1f}" height="14" rx="2"/>{open_mark}</a>'
    )
    until = (
        f"until {time_element(closed.get('Time'))}, closed by {_event_html(closed.get('Event'), event_link)}"
        if closed
        else "<strong>still allowed</strong> at the end of the chart"
    )
    item = (
        f'<li id="{item_id}" class="exposure-item"><span class="window-principal">{escape(principal)}</span>: '
        f"allowed from {time_element(opened.get('Time'))}, opened by "
        f"{_event_html(opened.get('Event'), event_link)}; {until}</li>"
    )
    return shape, item


def render_exposure_bands(
    answer: Mapping[str, Any],
    *,
    start: str | None = None,
    end: str | None = None,
    event_link: Callable[[Mapping[str, Any]], str] | None = None,
) -> str:
    """``store.exposure(...)``'s windows as an inline SVG band chart, one row per principal id, from ``start`` to
    ``end`` (default: the first window's opening and the answer's moment). Each window is a link (focusable) with a
    ``<title>`` naming its opening and closing events and ``data-`` attributes for them; below the chart, the same
    windows as a list, the chart's text alternative (``event_link`` gives each event there a URL)."""
    rows = _rows(answer)
    question = (
        f"{escape(answer.get('PrincipalArn'))} allowed {escape(answer.get('ActionName'))} on "
        f"{escape(answer.get('ResourceArn') or '*')}"
    )
    if not any(windows for _, windows in rows):
        never = f"Never allowed: {question}, as far as the log goes."
        return f'<section class="exposure"><p class="empty">{never}</p></section>'
    low, high = _bounds(rows, answer, start, end)
    span = (high - low).total_seconds() if low is not None and high is not None else 0.0

    def x(moment: object, default: float) -> float:
        when = as_datetime(moment)
        if when is None or low is None or span <= 0:
            return default
        return max(0.0, min(WIDTH, (when - low).total_seconds() / span * WIDTH))

    height = TOP + ROW * len(rows) + AXIS
    shapes: list[str] = []
    items: list[str] = []
    for row, (principal, windows) in enumerate(rows):
        y = TOP + row * ROW
        who = f"{answer['PrincipalArn']} (id {principal})" if answer.get("PrincipalArn") else principal
        shapes.append(f'<text class="band-label" x="0" y="{y + 12}">{escape(who)}</text>')
        shapes.append(f'<line class="band-track" x1="0" x2="{WIDTH}" y1="{y + 25}" y2="{y + 25}"/>')
        for number, window in enumerate(windows, start=1):
            shape, item = _window(principal, number, window, (x, y), event_link)
            shapes.append(shape)
            items.append(item)
    shapes.append(_axis(low, high, TOP + ROW * len(rows) + 4))
    title_id = anchor("exposure-title", f"{answer.get('PrincipalArn')}-{answer.get('ActionName')}")
    return (
        '<section class="exposure">'
        f'<figure class="exposure-chart"><figcaption id="{title_id}">When {question}: '
        f"{counted(sum(len(w) for _, w in rows), 'window')} between {escape(moment_text(low))} and "
        f"{escape(moment_text(high))} (a bar is a window in which the request was allowed; an arrow at its end: "
        "still allowed)</figcaption>"
        f'<svg class="band-chart" role="group" aria-labelledby="{title_id}" viewBox="-4 0 {WIDTH + 8} {height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(shapes)}</svg></figure>"
        f'<p class="exposure-list-title" id="{title_id}-list">The same windows as a list:</p>'
        f'<ol class="exposure-windows" aria-labelledby="{title_id}-list">{"".join(items)}</ol>'
        f'<p class="as-of">As of {position_text(answer.get("AsOf"))}.</p></section>'
    )


def _node(kind: str, label: object, href: str | None, *, extra: str = "") -> str:
    kind_text = f'<span class="node-kind">{escape(kind)}</span> '
    body = f'{kind_text}<span class="node-name">{escape(label)}</span>{extra}'
    css = f"node node-{'-'.join(re.findall('[a-z]+', kind.lower()))}"
    if href is not None:
        return f'<a class="{css}" href="{escape(href)}">{body}</a>'
    return f'<span class="{css}" tabindex="0">{body}</span>'


def _provenance(events: Iterable[Mapping[str, Any]]) -> str:
    shown = [f"<li>{escape(describe_event(e))}{_reason(e)}</li>" for e in events]
    if not shown:
        return ""
    return f'<details class="provenance"><summary>Events behind it</summary><ul>{"".join(shown)}</ul></details>'


def _reason(event: Mapping[str, Any]) -> str:
    return f' <span class="reason">({escape(event["Reason"])})</span>' if event.get("Reason") else ""


def _path(path: Mapping[str, Any], link: Callable[[str, str], str] | None) -> str:
    def href(kind: str, name: str) -> str | None:
        return link(kind, name) if link is not None else None

    via = path.get("Via")
    source = path.get("PolicySource") or {}
    policy_name = source.get("PolicyArn") or source.get("SourcePolicyId") or "a policy"
    policy_kind = f"Policy ({source.get('SourcePolicyType')})" if source.get("SourcePolicyType") else "Policy"
    policy = f"<li>{_node(policy_kind, policy_name, None)}{_provenance(path.get('Provenance') or [])}</li>"
    if via == "group":
        group = str(path.get("GroupName"))
        return f'<li>{_node("Group", group, href("group", group))}<ul class="graph-children">{policy}</ul></li>'
    if via == "role":
        chain = [str(arn) for arn in path.get("Chain") or [path.get("RoleArn")]]
        target = chain[-1]
        hops = "".join(
            f"<li>{_node('Assumes role', arn, href('role', arn.rsplit('/', 1)[-1]))}</li>" for arn in chain[:-1]
        )
        last = _node(
            "Assumes role", target, f"#{anchor('principal', target)}", extra=" (its own path is in this graph)"
        )
        return f"{hops}<li>{last}</li>"
    return policy


def render_who_can_graph(
    answer: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    link: Callable[[str, str], str] | None = None,
    limit: int = 50,
) -> str:
    """``store.who_can(...)``'s answer (or ``stream_who_can``'s parts) as a small graph, principal -> group or
    assumed role -> the policy whose statement allows, each node focusable and labelled with its kind in words.
    Only the question's own subgraph is drawn, at most ``limit`` principals (the rest are counted). ``link(kind,
    name)`` gives users, groups and roles a URL (kind ``user``, ``group`` or ``role``; the entity's name)."""
    header: Mapping[str, Any] = {}
    if isinstance(answer, Mapping):
        header, principals = answer, list(answer.get("Principals") or [])
    else:
        parts = list(answer)
        principals = [p for p in parts if "Arn" in p]
        header = next((p for p in parts if "Arn" not in p), {})
    question = f"{escape(header.get('ActionName') or 'the action')} on {escape(header.get('ResourceArn') or '*')}"
    if not principals:
        return f'<section class="who-can"><p class="empty">Nobody is allowed {question}.</p></section>'
    blocks = []
    for principal in principals[:limit]:
        arn = str(principal.get("Arn"))
        kind = str(principal.get("Type") or "Principal")
        name = arn.rsplit("/", 1)[-1]
        node = _node(kind, arn, link(kind.lower(), name) if link else None)
        paths = "".join(_path(p, link) for p in principal.get("Paths") or [])
        blocks.append(
            f'<li class="graph-root" id="{anchor("principal", arn)}">{node}<ul class="graph-children">{paths}</ul></li>'
        )
    more = len(principals) - limit
    rest = f'<p class="more">And {counted(more, "more principal")}, not drawn.</p>' if more > 0 else ""
    return (
        '<section class="who-can">'
        f'<p class="who-can-question">{counted(len(principals), "principal")} allowed {question} as of '
        f"{position_text(header.get('AsOf'))}. Each principal leads to the group, role or policy that allows it.</p>"
        f'<ul class="graph" aria-label="Who can {question}">{"".join(blocks)}</ul>{rest}</section>'
    )


_MARKS: Final = {
    # a shape per kind of change, so that the kind is told by shape and by the title, never by colour alone
    "Added": "M-5,0 H5 M0,-5 V5",
    "Removed": "M-5,0 H5",
    "Changed": "M0,-5 L5,0 L0,5 L-5,0 Z",
}


def render_change_timeline(answer: Mapping[str, Any], *, limit: int = 500) -> str:
    """``store.audit_diff(...)``'s changes on a line from its ``From`` to its ``To`` position, one row per category,
    each change a focusable mark shaped by its kind (``+`` added, a minus sign removed, a diamond changed) linking
    to its row ``#change-N`` of :func:`iamledger.html.tables.render_changes` (the chart's text alternative). Marks
    are spaced by log position (an import writes many events in one instant); the first ``limit`` are drawn."""
    low = int((answer.get("From") or {}).get("Position") or 0)
    high = max(int((answer.get("To") or {}).get("Position") or 0), low + 1)
    placed: list[tuple[str, int, Mapping[str, Any], Mapping[str, Any]]] = []
    for number, change in enumerate(list(answer.get("Changes") or [])[:limit], start=1):
        events = change.get("Events") or []
        if events and isinstance(events[0].get("Position"), int):
            placed.append((str(change.get("Category") or "?"), number, change, events[0]))
    if not placed:
        return ""
    categories = list(dict.fromkeys(category for category, *_ in placed))
    marks: list[str] = []
    for category, number, change, event in placed:
        y = TOP + categories.index(category) * ROW + 25
        x = max(0.0, min(WIDTH, (event["Position"] - low) / (high - low) * WIDTH))
        kind = str(change.get("Change") or "")
        label = f"Change {number}: {kind} {words(category).lower()}, {describe_event(event)}"
        marks.append(
            f'<a class="change-mark change-mark-{escape(kind.lower())}" href="#change-{number}" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f'<path transform="translate({x:.1f},{y})" d="{_MARKS.get(kind, _MARKS["Changed"])}"/></a>'
        )
    rows = "".join(
        f'<text class="band-label" x="0" y="{TOP + i * ROW + 12}">{escape(words(category))}</text>'
        f'<line class="band-track" x1="0" x2="{WIDTH}" y1="{TOP + i * ROW + 25}" y2="{TOP + i * ROW + 25}"/>'
        for i, category in enumerate(categories)
    )
    axis_y = TOP + ROW * len(categories) + 4
    axis = (
        f'<line class="band-axis" x1="0" x2="{WIDTH}" y1="{axis_y}" y2="{axis_y}"/>'
        f'<text class="axis-label" x="0" y="{axis_y + 18}">position {low}</text>'
        f'<text class="axis-label" x="{WIDTH}" y="{axis_y + 18}" text-anchor="end">position {high}</text>'
    )
    title_id = anchor("changes-chart", f"{low}-{high}")
    height = axis_y + 28
    return (
        f'<figure class="change-chart"><figcaption id="{title_id}">{counted(len(placed), "change")} from position '
        f"{low} to {high}, by what changed, spaced by log position: + added, \u2212 removed, a diamond changed; "
        "each mark leads to its row in the table of changes</figcaption>"
        f'<svg class="band-chart" role="group" aria-labelledby="{title_id}" viewBox="-4 0 {WIDTH + 8} {height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">{rows}{"".join(marks)}{axis}'
        "</svg></figure>"
    )
