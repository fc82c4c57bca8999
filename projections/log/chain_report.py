"""The report of a check of the hash chain (:func:`iamledger.projections.log.ledger.verify_chain`): the problems found,
each naming the position where the log and its chain disagree, and what the check covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

MAX_REPORTED_PROBLEMS: Final = 100

PROBLEM_MESSAGES: Final = {
    "changed": "the event stored at position {position} was changed (its link does not match the checkpoint)",
    "removed": "the event at position {position} was removed from the log",
    "inserted": "an event at position {position} is in the log but not in the chain (inserted by hand, or its "
    "checkpoint was deleted)",
    "reordered": "the event stored at position {position} was recorded at position {other} (events were moved or "
    "swapped)",
    "checkpoint-changed": "the checkpoint of position {position} was changed (the event matches the chain, the "
    "stored link does not)",
    "checkpoint-removed": "the checkpoint of position {position} was deleted (the event matches the chain)",
    "undecodable": "the event at position {position}, not yet covered by the chain, cannot be decoded",
    "head-mismatch": "the chain does not hold the expected head {other}: the log and its checkpoints were rewritten "
    "(or the hash comes from another store)",
}


@dataclass(slots=True)
class Problem:
    """One place where the log and its chain disagree."""

    position: int | None
    kind: str
    other: int | str | None = None
    reason: str | None = None

    def message(self) -> str:
        """A sentence saying what is wrong, and where."""
        text_ = PROBLEM_MESSAGES[self.kind].format(position=self.position, other=self.other)
        return f"{text_}: {self.reason}" if self.reason else text_

    def describe(self) -> dict[str, Any]:
        """The problem as ``audit verify`` prints it."""
        shape: dict[str, Any] = {"Position": self.position, "Problem": self.kind, "Message": self.message()}
        if self.kind == "reordered":
            shape["RecordedAt"] = self.other
        return shape


@dataclass(slots=True)
class VerifyReport:
    """The result of re-computing the chain: ``verified`` when every stored event matches its checkpoint."""

    position: int
    head: str
    recorded_at: datetime | None
    log_head: int
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    unverified_tail: int = 0
    extended: int = 0
    expected_head: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """Whether the log is intact up to :attr:`position` (and holds the expected head, when one was given)."""
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        """The problem at the lowest position (a head mismatch when that is the only one)."""
        located = [p for p in self.problems if p.position is not None]
        if located:
            return min(located, key=lambda p: p.position or 0)
        return self.problems[0] if self.problems else None

    def add(self, problem: Problem) -> None:
        """Record ``problem`` (only the first :data:`MAX_REPORTED_PROBLEMS` are kept in detail)."""
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def describe(self) -> dict[str, Any]:
        """The report as ``iamledger audit verify`` prints it."""
        first = self.first_problem
        shape: dict[str, Any] = {
            "Verified": self.verified,
            "Position": self.position,
            "Head": self.head,
            "RecordedAt": self.recorded_at,
            "LogHead": self.log_head,
            "Checked": self.checked,
            "Extended": self.extended,
            "UnverifiedTail": self.unverified_tail,
            "FirstBadPosition": None if first is None else first.position,
            "Problem": None if first is None else first.kind,
            "Message": self.message(),
            "ProblemCount": self.problem_count,
            "Problems": [p.describe() for p in sorted(self.problems, key=lambda p: (p.position is None, p.position))],
        }
        if self.expected_head is not None:
            shape["ExpectedHead"] = self.expected_head
        return shape

    def message(self) -> str:
        """One line for people: intact up to where, or the first problem."""
        first = self.first_problem
        if first is not None:
            more = self.problem_count - 1
            tail = f" ({more} more problem{'s' if more != 1 else ''})" if more else ""
            return f"TAMPERED: {first.message()}{tail}."
        text_ = f"Intact: {self.checked} events verified up to position {self.position}, head {self.head}"
        if self.extended:
            text_ += f" ({self.extended} events newly covered by the chain)"
        if self.unverified_tail:
            text_ += f"; {self.unverified_tail} later events are not covered by the chain yet"
        return text_ + "."
