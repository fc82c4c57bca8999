"""docs/operations-coverage.md lists exactly the operations of botocore's IAM and STS models that the store does not
implement, each with a reason, so the page cannot drift from the code or from the model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import botocore
import botocore.session
import pytest

from iamledger.services.operations import OPERATIONS
from iamledger.store import IdentityStore

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
PAGE = ROOT / "docs" / "operations-coverage.md"
WRITTEN_FOR = (1, 44)
"""The botocore the page was written against: an older model may lack operations the page lists."""
ROW = re.compile(r"^\| `(?P<operation>[A-Za-z0-9]+)` \| (?P<why>.+) \|$")


def _documented(service: str) -> dict[str, str]:
    """The operations the page's table for ``service`` (``## IAM``, ``## STS``) lists, with their reasons."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n## {service.upper()}\n", 1)[1].split("\n## ", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines()]
    return {m["operation"]: m["why"].strip() for m in rows if m is not None}


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_the_page_lists_every_model_operation_the_store_does_not_implement(service: str):
    assert IdentityStore  # importing the store declares every operation
    model = set(botocore.session.get_session().get_service_model(service).operation_names)
    implemented = {name for (kind, name) in OPERATIONS if kind == service}
    documented = _documented(service)
    assert implemented <= model
    undocumented = model - implemented - set(documented)
    assert not undocumented, f"not implemented and not on {PAGE.name}: {sorted(undocumented)}"
    stale = implemented & set(documented)
    assert not stale, f"implemented, yet listed on {PAGE.name} as not: {sorted(stale)}"
    version = tuple(int(part) for part in botocore.__version__.split(".")[:2])
    if version >= WRITTEN_FOR:
        unknown = set(documented) - model
        assert not unknown, (
            f"listed on {PAGE.name} but not in botocore {botocore.__version__}'s model: {sorted(unknown)}"
        )
    assert all(len(why) > 20 for why in documented.values()), "each operation says why"


def test_the_operations_named_by_issue_21_item_19_are_implemented():
    assert IdentityStore
    wanted = {
        "GetContextKeysForCustomPolicy",
        "GetContextKeysForPrincipalPolicy",
        "GetMFADevice",
        "CreateServiceSpecificCredential",
        "ListServiceSpecificCredentials",
        "ResetServiceSpecificCredential",
        "UpdateServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
        "ListPoliciesGrantingServiceAccess",
        "UpdateRoleDescription",
        "SetSecurityTokenServicePreferences",
    }
    assert wanted <= {name for (kind, name) in OPERATIONS if kind == "iam"}
