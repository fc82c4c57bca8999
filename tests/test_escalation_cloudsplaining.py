"""Every privilege escalation Cloudsplaining 0.9.1 reports for an IAM principal of the example account is a path here,
or the principal is admin-equivalent already, or the method acts on a resource IAM does not hold (the catalogue's
``not_modelled``), or docs/escalation.md's table of differences says why not (and the difference is real).

Cloudsplaining's findings are recorded in ``tests/data/cloudsplaining-0.9.1-example-privesc.json``;
``tests/test_findings.py::test_cloudsplaining_run_now_agrees_with_the_recording`` runs Cloudsplaining itself on the
same file when it is installed and checks the recording against it."""

from __future__ import annotations

import json
import re
from typing import Any

from iamledger import IdentityStore
from iamledger.audit.techniques import catalogue
from tests.test_findings import EXAMPLE, RECORDED, SOURCES

DOCS = SOURCES / "docs" / "escalation.md"
EVERY_METHOD = "every method"


def _documented() -> dict[str, tuple[set[str] | None, str]]:
    """docs/escalation.md's table: principal ARN -> (the methods without a path, or None for every method; why)."""
    section = DOCS.read_text().split("## Compared with Cloudsplaining 0.9.1", 1)[1]
    rows = re.findall(r"^\| `(arn:aws:iam::[^`]+)` \| ([^|]+) \| ([^|]+) \|", section, re.MULTILINE)
    return {
        arn: (None if EVERY_METHOD in methods else set(re.findall(r"`(\w+)`", methods)), why.strip())
        for arn, methods, why in rows
    }


def _ours(store: IdentityStore, recorded: dict[str, Any]) -> dict[str, tuple[bool, set[str]]]:
    """Per recorded principal: whether it is admin-equivalent, and the Cloudsplaining methods of the techniques of
    the hops it takes itself (``From`` it) or grants (``GrantedBy`` it) on its paths to admin."""
    methods_of = {t.id: set(t.source.get("cloudsplaining", [])) for t in catalogue().techniques}
    summary = store.import_authorization_details(json.loads(EXAMPLE.read_text()), source="example.json")
    ours: dict[str, tuple[bool, set[str]]] = {}
    for account in summary["Accounts"]:
        with store.acting(account):
            for arn in (a for a in recorded if f"::{account}:" in a):
                answer = store.escalation_paths(PrincipalArn=arn, MaxDepth=3)
                hops = [hop for path in answer["Paths"] for hop in path["Hops"]]
                taken = {m for h in hops if arn in (h["From"], h.get("GrantedBy")) for m in methods_of[h["Technique"]]}
                ours[arn] = (answer["IsAdmin"], taken)
    return ours


def test_every_cloudsplaining_escalation_on_the_example_is_a_path_or_explained(store):
    recorded: dict[str, dict[str, list[str]]] = json.loads(RECORDED.read_text())
    not_modelled = {entry["cloudsplaining"] for entry in catalogue().not_modelled}
    documented = _documented()
    ours = _ours(store, recorded)
    unexplained, paths = [], 0
    left: dict[str, set[str]] = {}
    for arn, methods in recorded.items():
        admin, taken = ours[arn]
        paths += len(set(methods) & taken)
        if admin:
            continue
        left[arn] = set(methods) - taken - not_modelled
        listed, _why = documented.get(arn, (set(), ""))
        unexplained += [(arn, m) for m in sorted(left[arn]) if listed is not None and m not in listed]
    assert not unexplained, unexplained
    assert paths >= 90  # 92 when written: the rest are admins', not modelled, or in the table
    for arn, (listed, _why) in documented.items():  # a documented difference is a real one
        assert left.get(arn), arn
        assert listed is None or listed <= left[arn], (arn, listed - left[arn])
