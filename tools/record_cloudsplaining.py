"""Record Cloudsplaining's privilege-escalation findings per IAM principal, for tests/test_findings.py.

    cloudsplaining scan --input-file iamledger/data/example-authorization-details.json --output /tmp/cs \\
        --skip-open-report
    python tools/record_cloudsplaining.py /tmp/cs/iam-results-example-authorization-details.json \\
        > tests/data/cloudsplaining-0.9.1-example-privesc.json

Cloudsplaining reports per policy; a principal gets the findings of its inline and managed policies and of its
groups' (as its report's principal view does). Principals and policies it excludes by default are absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _methods_by_policy(results: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each policy's escalation methods, and its name, by policy id."""
    methods: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for kind in ("aws_managed_policies", "customer_managed_policies", "inline_policies"):
        for policy_id, policy in results[kind].items():
            methods[policy_id] = [f["type"] for f in policy.get("PrivilegeEscalation", {}).get("findings", [])]
            names[policy_id] = policy["PolicyName"]
    return methods, names


def _policies_of(entry: dict[str, Any]) -> list[str]:
    return [
        p
        for kind in ("inline_policies", "customer_managed_policies", "aws_managed_policies")
        for p in entry.get(kind, {})
    ]


def principal_findings(results: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """``{principal ARN: {method: [policy names]}}``."""
    methods, names = _methods_by_policy(results)
    out: dict[str, dict[str, list[str]]] = {}
    for kind in ("users", "roles"):
        for entry in results[kind].values():
            if entry.get("is_excluded"):
                continue
            ids = _policies_of(entry) + [p for group in entry.get("groups", {}).values() for p in _policies_of(group)]
            found: dict[str, set[str]] = {}
            for policy_id in ids:
                for method in methods.get(policy_id, []):
                    found.setdefault(method, set()).add(names[policy_id])
            if found:
                out[entry["arn"]] = {m: sorted(p) for m, p in sorted(found.items())}
    return dict(sorted(out.items()))


if __name__ == "__main__":
    json.dump(principal_findings(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))), sys.stdout, indent=1)
    sys.stdout.write("\n")
