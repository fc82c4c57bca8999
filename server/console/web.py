"""What every console page shares: the request's view of the store at the chosen moment (the time slider's ``at``),
links that carry that moment, the page frame (navigation, who is signed in, the time slider) and the error page.

A moment is given as ``?at=`` in every URL: an ISO time (``2026-11-01T09:00:00Z``), a position (``position:1234`` or
just ``1234``), or a relative one (``90m``, ``7d``), which is turned into the exact time it named when the page is
asked for (a redirect), so that a URL always reopens the same view."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Final
from urllib.parse import urlencode

from iamledger.asof import StoreAsOf
from iamledger.html import document, escape
from iamledger.server.console.session import ConsoleSession
from iamledger.store import IdentityStore

BASE: Final = "/console/"
SLIDER_NAME: Final = "slider.js"
MAX_FIELD: Final = 2048
RELATIVE_MOMENT: Final = re.compile(r"\d+\s*[smhdw]", re.IGNORECASE)
NAV: Final = (
    ("", "Account"),
    ("timeline", "Timeline"),
    ("access", "Access over time"),
    ("who-can", "Who can"),
    ("escalation", "Escalation"),
    ("diff", "Diff"),
    ("events", "Events"),
    ("verify", "Verify"),
)


class BadRequest(Exception):
    """Input the console cannot use: a 400 page with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def href(path: str, params: Mapping[str, object] | None = None, *, at: str | None = None) -> str:
    """A console URL: ``/console/{path}`` with ``params`` (empty ones left out) and the moment ``at``."""
    pairs = [(k, str(v)) for k, v in (params or {}).items() if v not in (None, "")]
    if at:
        pairs.append(("at", at))
    query = urlencode(pairs)
    return f"{BASE}{path}" + (f"?{query}" if query else "")


def moment_param(value: str) -> str | int:
    """``at`` as :meth:`IdentityStore.at` takes it: a bare number is a position."""
    text = value.strip()
    return int(text) if text.isdigit() else text


def is_relative(value: str) -> bool:
    return bool(RELATIVE_MOMENT.fullmatch(value.strip()))


@dataclass
class PageContext:
    """One page request: the store, the signed-in session, the query's fields and the moment it shows."""

    store: IdentityStore
    session: ConsoleSession
    path: str
    query: Mapping[str, str]
    at: str | None = None
    """The moment as the URL gives it (``None``: now)."""
    moment: StoreAsOf | None = None
    """The store at ``at`` (``None``: now)."""
    now: StoreAsOf | None = field(default=None)
    """The store now: the head of the log, for the time slider's range."""

    def field(self, name: str, default: str = "") -> str:
        """A query field, stripped; too long a value is refused with a 400 page."""
        value = self.query.get(name, default)
        if len(value) > MAX_FIELD:
            raise BadRequest(f"The field {name} is too long (at most {MAX_FIELD} characters).")
        return value.strip()

    def link(self, path: str, params: Mapping[str, object] | None = None) -> str:
        return href(path, params, at=self.at)

    @property
    def position(self) -> int | None:
        """The position the page shows (``None``: now)."""
        return None if self.moment is None else self.moment.position

    @property
    def at_value(self) -> str | int | None:
        """The moment to pass to the store's audit questions (``At``): the exact position, or ``None`` for now."""
        return None if self.moment is None else self.moment.position


def _slider(ctx: PageContext, keep: Mapping[str, str]) -> str:
    """The time slider: a moment typed in, or a position picked on a range from 0 to the log's head; both forms keep
    the page's other fields."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in keep_without(keep).items() if v
    )
    head = ctx.now.position if ctx.now is not None else 0
    shown = ctx.moment if ctx.moment is not None else ctx.now
    position = shown.position if shown is not None else head
    when = (
        f'<time datetime="{escape(shown.time.isoformat())}">'
        f"{escape(shown.time.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC'))}</time>"
        if shown is not None
        else ""
    )
    state = (
        f"Showing the account as of position {position} ({when})."
        if ctx.moment is not None
        else f"Showing the account now (position {head}, {when})."
    )
    steps = ""
    if ctx.moment is not None:
        others = keep_without(keep)
        if position > 0:
            earlier = href(ctx.path, others, at=str(position - 1))
            steps += f' <a href="{escape(earlier)}" rel="prev">One event earlier</a>'
        if position < head:
            later = href(ctx.path, others, at=str(position + 1))
            steps += f' <a href="{escape(later)}" rel="next">One event later</a>'
    back = f' <a href="{escape(href(ctx.path, keep_without(keep)))}">Back to now</a>' if ctx.moment is not None else ""
    back = steps + back
    action = escape(BASE + ctx.path)
    return (
        '<section class="time-slider" aria-labelledby="slider-title">'
        '<h2 id="slider-title" class="visually-hidden">Time slider</h2>'
        f'<p class="moment" id="moment-state" data-position="{position}" data-head="{head}">{state}{back}</p>'
        f'<form method="get" action="{action}" class="moment-form">{hidden}'
        '<label for="at-text">Moment (ISO time, position:N or 7d)</label> '
        f'<input id="at-text" name="at" type="text" value="{escape(ctx.at or "")}" '
        'placeholder="2026-11-01T09:00:00Z" autocomplete="off"> '
        '<button type="submit">Show</button></form>'
        f'<form method="get" action="{action}" class="position-form" data-autosubmit="change">{hidden}'
        f'<label for="at-position">Position (0 to {head})</label> '
        f'<input id="at-position" name="at" type="range" min="0" max="{head}" step="1" value="{position}" '
        f'aria-valuetext="position {position}"> '
        f'<output for="at-position" id="at-position-value">{position}</output> '
        '<button type="submit">Go to position</button></form>'
        "</section>"
    )


KEPT_FIELDS: Final = 16
KEPT_NAME: Final = re.compile(r"[a-z_]{1,20}")


def keep_without(query: Mapping[str, str]) -> dict[str, str]:
    """The page's own fields, which the slider's forms and its links carry to the same page at another moment: the
    query's short lower-case names (at most :data:`KEPT_FIELDS`), without the moment and a list's paging."""
    kept = {
        k: v
        for k, v in query.items()
        if k not in {"at", "marker", "next"} and KEPT_NAME.fullmatch(k) and len(v) <= MAX_FIELD
    }
    return dict(list(kept.items())[:KEPT_FIELDS])


def header(session: ConsoleSession, path: str, at: str | None) -> str:
    """The top of every signed-in page: the console's name, who is signed in (and the sign-out button), the pages."""
    current = ' aria-current="page"'
    items = "".join(
        f'<li><a href="{escape(href(p, at=at))}"{current if p == path else ""}>{escape(label)}</a></li>'
        for p, label in NAV
    )
    who = (
        f'<p class="signed-in">Signed in as <strong>{escape(session.principal_arn)}</strong> '
        f"({escape(session.method)}, until {escape(session.expires.isoformat())})</p>"
        f'<form method="post" action="{BASE}signout" class="signout"><button type="submit">Sign out</button></form>'
    )
    return (
        f'<header class="console-header"><p class="brand"><a href="{escape(href("", at=at))}">iamledger audit console'
        f'</a></p>{who}<nav class="site" aria-label="Console"><ul>{items}</ul></nav></header>'
    )


def frame(ctx: PageContext, title: str, body: str, *, slider: bool = True) -> str:
    """The whole page: navigation, the signed-in principal and sign-out, the time slider, then ``body``."""
    slider_html = _slider(ctx, ctx.query) if slider else ""
    script = f'<script src="{BASE}static/{SLIDER_NAME}" defer></script>' if slider else ""
    page = f"{slider_html}<h1>{escape(title)}</h1>\n{body}{script}"
    return document(f"{title} - iamledger console", page, nav=header(ctx.session, ctx.path, ctx.at))


def error_page(status: int, code: str, message: str, *, session: ConsoleSession | None = None, path: str = "") -> str:
    """A refusal or bad input: the status, AWS's code and message, and the way back (for a signed-in visitor, the
    console's header too, with the sign-out button)."""
    back = (
        f'<p><a href="{BASE}">Back to the console</a></p>' if session else f'<p><a href="{BASE}signin">Sign in</a></p>'
    )
    body = (
        f'<div class="error" role="alert"><p><strong>{escape(code)}</strong> (HTTP {status})</p>'
        f'<p class="error-message">{escape(message)}</p></div>{back}'
    )
    nav = header(session, path, None) if session is not None else ""
    return document(f"{code} - iamledger console", f"<h1>{escape(_heading(status))}</h1>\n{body}", nav=nav)


def _heading(status: int) -> str:
    return {
        400: "Bad request",
        401: "Not signed in",
        403: "Access denied",
        404: "Not found",
        405: "Method not allowed",
    }.get(status, "Error")


def form_field(name: str, label: str, value: str, *, kind: str = "text", hint: str = "", **attrs: Any) -> str:
    """A labelled input."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    described = f' aria-describedby="{escape(name)}-hint"' if hint else ""
    hint_html = f' <span class="hint" id="{escape(name)}-hint">{escape(hint)}</span>' if hint else ""
    return (
        f'<p class="field"><label for="f-{escape(name)}">{escape(label)}</label> '
        f'<input id="f-{escape(name)}" name="{escape(name)}" type="{kind}" value="{escape(value)}"{described}{extra}>'
        f"{hint_html}</p>"
    )


def query_form(ctx: PageContext, fields: str, submit: str) -> str:
    """A GET form on this page carrying the moment."""
    at = f'<input type="hidden" name="at" value="{escape(ctx.at)}">' if ctx.at else ""
    return (
        f'<form method="get" action="{escape(BASE + ctx.path)}" class="query-form">{fields}{at}'
        f'<p><button type="submit">{escape(submit)}</button></p></form>'
    )
