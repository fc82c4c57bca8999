"""The pieces every renderer shares: escaping, moments, the page around a body, the shipped assets, and reading the
records the store answers with (trail records, ``LookupEvents`` entries, CloudTrail dicts) in one shape."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final
from urllib.parse import unquote

ASSETS: Final = ("console.css", "console.js", "favicon.svg")
"""The static files shipped in ``iamledger/html/static/``: the one style sheet and the one script."""

# The single-file report loads nothing from anywhere, and runs only its own style sheet and script: each is allowed
# by its SHA-256, so that no other inline script, event handler or style would run even if some text were not escaped.
INLINE_CSP: Final = (
    "default-src 'none'; style-src '{style}'; script-src '{script}'; img-src data:; base-uri 'none'; form-action 'none'"
)


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def escape(value: object) -> str:
    """``value`` as HTML text, safe inside an element or a quoted attribute: ``None`` is empty, a moment is shown
    as :func:`moment_text`, anything else by ``str`` with ``& < > " '`` escaped."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return html.escape(moment_text(value), quote=True)
    return html.escape(str(value), quote=True)


def as_datetime(value: object) -> datetime | None:
    """A moment given as a ``datetime`` or an ISO 8601 string (``Z`` or an offset), in UTC; None otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def moment_text(value: object) -> str:
    """A moment for people: ``2026-12-07 21:36:27 UTC`` (seconds, UTC); anything that is not a moment as text."""
    moment = as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def time_element(value: object) -> str:
    """A ``<time>`` element with the machine-readable moment in ``datetime`` and the readable one as text."""
    moment = as_datetime(value)
    if moment is None:
        return escape(value) if value is not None else '<span class="none">unknown</span>'
    iso = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f'<time datetime="{escape(iso)}">{escape(moment_text(moment))}</time>'


def position_text(moment: Mapping[str, Any] | None) -> str:
    """An ``AsOf``/``From``/``To`` moment of the store's answers (``{"Position", "Time"}``) as readable HTML."""
    if not moment:
        return '<span class="none">not given</span>'
    parts = []
    if moment.get("Position") is not None:
        parts.append(f"position {escape(moment['Position'])}")
    if moment.get("Time") is not None:
        parts.append(time_element(moment["Time"]))
    return ", ".join(parts) if parts else '<span class="none">not given</span>'


def cloudtrail(record: object) -> Mapping[str, Any]:
    """The CloudTrail record inside whatever the store answered: a trail record (its ``record``), a dict of one,
    a ``LookupEvents`` entry (its ``CloudTrailEvent`` JSON), or the CloudTrail dict itself."""
    inner = getattr(record, "record", None)
    if isinstance(inner, Mapping):
        return inner
    if isinstance(record, Mapping):
        if isinstance(record.get("record"), Mapping):
            return record["record"]  # type: ignore[no-any-return]
        raw = record.get("CloudTrailEvent")
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw)
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return record
    return {}


def actor_of(event: Mapping[str, Any]) -> str:
    """Who made a CloudTrail request: the caller's ARN, else its user name or identity type."""
    who = event.get("userIdentity")
    if isinstance(who, Mapping):
        for key in ("arn", "userName", "principalId", "type"):
            if who.get(key):
                return str(who[key])
    return "unknown"


def position_of(event: Mapping[str, Any]) -> int | None:
    """The store's position of a CloudTrail record (``iamledgerPosition``), if it has one."""
    value = event.get("iamledgerPosition")
    return value if isinstance(value, int) else None


def parse_document(value: Any) -> Any:
    """A policy document as JSON data: a dict as is, a JSON string (URL-encoded or not) parsed; None stays None;
    text that is not JSON is returned as text, so that it can still be shown."""
    if value is None or isinstance(value, (dict, list)):
        return value
    text = str(value)
    for candidate in (text, unquote(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return text


def value_text(value: Any) -> str:
    """A value of an answer as text: a string as is, a moment readable, anything else as JSON (``true``, ``900``,
    ``null``, a list or an object on one line), as the API would show it."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return moment_text(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def pretty_json(value: Any) -> str:
    """JSON data indented for reading (the text of a policy document or a CloudTrail record)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def document(
    title: str, body: str, *, inline_assets: bool = False, asset_base: str = "/console/static", nav: str = ""
) -> str:
    """A whole HTML5 page: ``title`` (escaped here), ``nav`` and ``body`` (HTML, escaped by whoever built them) in
    a page with a skip link to ``<main id="main">``. ``inline_assets=True`` puts the style sheet and the script in
    the page itself, with a Content-Security-Policy that loads nothing from anywhere and runs no script or style but
    those two, by their SHA-256 (the single-file report);
    otherwise the page links ``{asset_base}/console.css``, ``console.js`` and the icon ``favicon.svg``."""
    if inline_assets:
        css = "\n" + asset("console.css").decode("utf-8").replace("</", "<\\/")
        js = "\n" + asset("console.js").decode("utf-8").replace("</", "<\\/")
        csp = INLINE_CSP.format(style=_csp_hash(css), script=_csp_hash(js))
        policy = f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">'
        head_assets = f"{policy}\n<style>{css}</style>"
        script = f"<script>{js}</script>"
    else:
        base = asset_base.rstrip("/")
        head_assets = (
            f'<link rel="stylesheet" href="{escape(base)}/console.css">\n'
            f'<link rel="icon" type="image/svg+xml" href="{escape(base)}/favicon.svg">'
        )
        script = f'<script src="{escape(base)}/console.js" defer></script>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head_assets}\n</head>\n<body>\n"
        '<a class="skip-link" href="#main">Skip to main content</a>\n'
        f"{nav}\n"
        f'<main id="main" tabindex="-1">\n{body}\n</main>\n{script}\n</body>\n</html>\n'
    )


def asset(name: str) -> bytes:
    """The bytes of a shipped static file, ``console.css``, ``console.js`` or ``favicon.svg`` (any other name:
    ``KeyError``)."""
    if name not in ASSETS:
        raise KeyError(name)
    return resources.files("iamledger.html").joinpath("static", name).read_bytes()


def counted(count: int, noun: str) -> str:
    """``1 window``, ``2 windows``: a count with its noun, plural (``s`` added) unless the count is one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def words(name: object) -> str:
    """An AWS-style name in words: ``PrivilegeEscalation`` -> ``Privilege escalation``."""
    text = str(name)
    out = "".join(f" {c.lower()}" if c.isupper() and i else c for i, c in enumerate(text))
    return out[:1].upper() + out[1:]


def anchor(prefix: str, value: object) -> str:
    """An id attribute's value from any text: letters, digits and ``-`` only, so that it is safe in a URL too; a
    text that had other characters gets a short digest of itself, so that two texts never share an id."""
    raw = str(value)
    text = "".join(c if c.isascii() and c.isalnum() else "-" for c in raw)
    if text == raw:
        return f"{prefix}-{text}"
    digest = hashlib.blake2s(raw.encode("utf-8"), digest_size=4).hexdigest()  # two names never share an id
    return f"{prefix}-{text.strip('-')[-60:]}-{digest}"
