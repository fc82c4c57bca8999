"""The record of an import: which file (by SHA-256), loaded by whom, into which accounts, and what it changed.

Each import's other events carry the same request id, so the record and the changes it explains are found together
(``iamledger audit lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=...``).
"""

from __future__ import annotations

from iamledger.domain.base import AuditedAggregate


class ImportRecord(AuditedAggregate):
    """One import of authorization details that changed something."""

    class Recorded(AuditedAggregate.Created):
        accounts: list[str]
        source: str
        sha256: str | None
        contents: dict[str, int]
        changes: dict[str, int]

    def __init__(
        self,
        accounts: list[str],
        source: str,
        sha256: str | None,
        contents: dict[str, int],
        changes: dict[str, int],
    ) -> None:
        self.accounts = accounts
        self.source = source
        self.sha256 = sha256
        self.contents = contents
        self.changes = changes
