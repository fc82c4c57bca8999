"""``iamledger audit ...``: questions about the store's history (who did what, who could do what, and when).

The commands live in their own modules, each registering on :data:`audit_group`; :mod:`iamledger.cli.main` imports
them.
"""

from __future__ import annotations

import click

from iamledger.cli.group import Group


@click.group("audit", cls=Group)
def audit_group() -> None:
    """Audit the store's history: event lookup, permissions as of any moment, reverse queries, diffs, tamper
    evidence."""
