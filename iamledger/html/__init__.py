"""HTML for people: the renderers the console (``iamledger serve``'s ``/console/``) and the single-file report
(``iamledger audit report``) share.

Each renderer takes one of the store's answers as it is returned and gives back a fragment of HTML (a ``str``) in
which every value from the answer is escaped; :func:`document` puts fragments in a whole page. No template engine:
``html.escape`` and small functions. The style sheet and the script ship in ``static/`` (:func:`asset`)."""

from __future__ import annotations

from iamledger.html.base import asset, counted, document, escape
from iamledger.html.charts import render_change_timeline, render_exposure_bands, render_who_can_graph
from iamledger.html.diff import render_policy_diff
from iamledger.html.escalation import render_escalation_paths
from iamledger.html.tables import render_changes, render_findings
from iamledger.html.timeline import render_events_table, render_timeline

__all__ = [
    "asset",
    "counted",
    "document",
    "escape",
    "render_change_timeline",
    "render_changes",
    "render_escalation_paths",
    "render_events_table",
    "render_exposure_bands",
    "render_findings",
    "render_policy_diff",
    "render_timeline",
    "render_who_can_graph",
]
