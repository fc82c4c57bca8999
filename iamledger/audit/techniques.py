"""The catalogue of privilege escalation techniques (``iamledger/data/escalation_techniques.json``) as typed data.

Each technique names the actions it needs and on which resource (``target``: the principal the edge leads to;
``self``; ``group``: a group; ``policy``: a customer managed policy; ``*``), what it yields (``target``: the
target's permissions, or ``admin``: the power to grant oneself anything), the kind of target it applies to, the
services a role is passed to (``passrole``), and where it comes from. Adding a technique is adding an entry.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

CATALOGUE_VERSION: Final = 1
FAMILIES: Final = ("become", "grant", "passrole")
RESOURCES: Final = ("target", "self", "group", "policy", "*")
YIELDS: Final = ("target", "admin")
TARGETS: Final = (
    "user",
    "role",
    "self-user",
    "self-role",
    "own-group",
    "admin-group",
    "held-policy",
    "held-policy-version",
    "self-user-bounded",
    "self-role-bounded",
)
ACTION: Final = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One action a technique needs, and the resource it is asked on."""

    action: str
    on: str


@dataclass(frozen=True, slots=True)
class Technique:
    """One escalation technique of the catalogue."""

    id: str
    family: str
    title: str
    requires: tuple[Requirement, ...]
    yields: str
    target: str
    services: tuple[str, ...]
    precondition: str | None
    references: tuple[str, ...]
    source: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The techniques, and Cloudsplaining's methods deliberately left out (with why)."""

    version: int
    techniques: tuple[Technique, ...]
    not_modelled: tuple[dict[str, str], ...]

    def by_id(self, technique_id: str) -> Technique:
        """The technique with this id."""
        for technique in self.techniques:
            if technique.id == technique_id:
                return technique
        raise KeyError(technique_id)


class CatalogueError(ValueError):
    """The catalogue file is not valid."""


def _technique(entry: dict[str, Any]) -> Technique:
    name = entry.get("id")
    if not isinstance(name, str) or not name:
        raise CatalogueError(f"a technique without an id: {entry!r}")
    requires = tuple(Requirement(str(r["action"]), str(r["on"])) for r in entry.get("requires", []))
    technique = Technique(
        id=name,
        family=str(entry.get("family")),
        title=str(entry.get("title", "")),
        requires=requires,
        yields=str(entry.get("yields")),
        target=str(entry.get("target")),
        services=tuple(entry.get("services", ())),
        precondition=entry.get("precondition"),
        references=tuple(entry.get("references", ())),
        source=dict(entry.get("source", {})),
    )
    _check(technique)
    return technique


def _check(technique: Technique) -> None:
    problems = []
    if technique.family not in FAMILIES:
        problems.append(f"family {technique.family!r}")
    if technique.yields not in YIELDS:
        problems.append(f"yields {technique.yields!r}")
    if technique.target not in TARGETS:
        problems.append(f"target {technique.target!r}")
    if not technique.requires:
        problems.append("no required action")
    for requirement in technique.requires:
        if ACTION.fullmatch(requirement.action) is None:
            problems.append(f"action {requirement.action!r}")
        if requirement.on not in RESOURCES:
            problems.append(f"resource {requirement.on!r}")
    if (technique.family == "passrole") != bool(technique.services):
        problems.append("services are given for, and only for, passrole techniques")
    if problems:
        raise CatalogueError(f"technique {technique.id}: " + ", ".join(problems))


def parse_catalogue(document: dict[str, Any]) -> Catalogue:
    """A catalogue from its JSON document, checked (:class:`CatalogueError` names what is wrong)."""
    if document.get("version") != CATALOGUE_VERSION:
        raise CatalogueError(f"catalogue version {document.get('version')!r}, expected {CATALOGUE_VERSION}")
    techniques = tuple(_technique(entry) for entry in document.get("techniques", []))
    ids = [t.id for t in techniques]
    if len(set(ids)) != len(ids):
        raise CatalogueError("technique ids repeat")
    not_modelled = tuple(dict(entry) for entry in document.get("not_modelled", []))
    return Catalogue(CATALOGUE_VERSION, techniques, not_modelled)


@functools.lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue shipped with iamledger."""
    text = resources.files("iamledger").joinpath("data/escalation_techniques.json").read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))
