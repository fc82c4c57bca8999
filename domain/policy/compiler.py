"""Compiling a parsed policy once into matchers, with statements indexed by action.

A :class:`CompiledPolicy` holds one :class:`CompiledStatement` per statement (wildcards compiled to matchers,
conditions to closures) and answers "which statements name this action?" through an index by exact lowercased
action and by service prefix, remembering each answer, so evaluation never scans statements that cannot apply.
:func:`compile_text` caches compiled policies by document text and kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from iamledger.domain.policy.conditions import CompiledClause, compile_conditions
from iamledger.domain.policy.document import Effect, PolicyDocument, Position, PrincipalElement, Statement
from iamledger.domain.policy.kinds import PolicyKind
from iamledger.domain.policy.parser import parse
from iamledger.domain.policy.variables import (
    Context,
    compiled,
    has_references,
    parse_template,
    resolve,
    to_arn_regex,
    variable_keys,
)
from iamledger.domain.policy.wildcards import Matcher, compile_arn_pattern, compile_glob

ResourceTest = Callable[[str, Context], bool]
"""Whether a statement's ``Resource``/``NotResource`` element covers a resource, given the request context."""

_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class CompiledPrincipal:
    """A ``Principal``/``NotPrincipal`` element as lookup sets (exact, case-sensitive values)."""

    wildcard: bool
    aws: frozenset[str]
    service: frozenset[str]
    federated: frozenset[str]
    canonical_user: frozenset[str]


@dataclass(frozen=True)
class CompiledStatement:
    """One statement, ready to match. ``resource`` is ``None`` when the statement has no resource element (trust
    policies), ``principal``/``not_principal`` when it has no such element. ``keys`` lists the context keys the
    statement's conditions read and ``resource_keys`` those its resource element's policy variables read, as
    (lowercased, as written) pairs."""

    index: int
    sid: str | None
    allow: bool
    action: Callable[[str], bool]
    resource: ResourceTest | None
    principal: CompiledPrincipal | None
    not_principal: CompiledPrincipal | None
    conditions: tuple[CompiledClause, ...]
    keys: tuple[tuple[str, str], ...]
    resource_keys: tuple[tuple[str, str], ...]
    start: Position | None
    end: Position | None

    @property
    def any_resource(self) -> bool:
        """Whether the statement covers every resource (``Resource: "*"``, or no resource element), so that what it
        decides does not depend on the resource asked about."""
        return self.resource is None or self.resource is _always


@dataclass(frozen=True)
class CompiledPolicy:
    """A compiled document of a given ``kind``. :meth:`statements_for` is the fast path of evaluation."""

    document: PolicyDocument
    kind: PolicyKind
    statements: tuple[CompiledStatement, ...]
    by_action: dict[str, tuple[int, ...]] = field(repr=False, compare=False)
    by_service: dict[str, tuple[int, ...]] = field(repr=False, compare=False)
    always: tuple[int, ...] = field(repr=False, compare=False)
    _memo: dict[str, tuple[CompiledStatement, ...]] = field(default_factory=dict, repr=False, compare=False)

    def statements_for(self, action: str) -> tuple[CompiledStatement, ...]:
        """The statements whose ``Action``/``NotAction`` element covers ``action`` (which must be lowercased), in
        document order."""
        found = self._memo.get(action)
        if found is None:
            service = action.partition(":")[0]
            indexes = sorted({*self.by_action.get(action, ()), *self.by_service.get(service, ()), *self.always})
            found = tuple(self.statements[i] for i in indexes if self.statements[i].action(action))
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            self._memo[action] = found
        return found


def _action_test(patterns: tuple[str, ...], *, negated: bool) -> Callable[[str], bool]:
    matchers: tuple[Matcher, ...] = tuple(compile_glob(pattern.lower()) for pattern in patterns)
    if negated:
        return lambda action: not any(matcher(action) for matcher in matchers)
    return lambda action: any(matcher(action) for matcher in matchers)


def _always(_resource: str, _context: Context) -> bool:
    return True


def _resource_test(patterns: tuple[str, ...], *, negated: bool, variables: bool) -> ResourceTest:
    if not negated and "*" in patterns:
        return _always
    templates = tuple(parse_template(pattern, arn=True) for pattern in patterns) if variables else ()
    if any(has_references(template) for template in templates):

        def one(template_index: int, resource: str, context: Context) -> bool:
            parts = resolve(templates[template_index], context)
            if parts is None:
                return False
            regex = to_arn_regex(parts)
            return regex is not None and compiled(regex).fullmatch(resource) is not None

        def dynamic(resource: str, context: Context) -> bool:
            hit = any(one(i, resource, context) for i in range(len(templates)))
            return not hit if negated else hit

        return dynamic
    matchers = tuple(compile_arn_pattern(pattern) for pattern in patterns)
    if negated:
        return lambda resource, _context: not any(matcher(resource) for matcher in matchers)
    if len(matchers) == 1:
        single = matchers[0]
        return lambda resource, _context: bool(single(resource))
    return lambda resource, _context: any(matcher(resource) for matcher in matchers)


def _principal(element: PrincipalElement | None) -> CompiledPrincipal | None:
    if element is None:
        return None
    values: dict[str, set[str]] = {"AWS": set(), "Service": set(), "Federated": set(), "CanonicalUser": set()}
    for principal_type, entries in element.entries:
        values.setdefault(principal_type, set()).update(entries)
    return CompiledPrincipal(
        wildcard=element.wildcard or "*" in values["AWS"],
        aws=frozenset(values["AWS"]),
        service=frozenset(values["Service"]),
        federated=frozenset(values["Federated"]),
        canonical_user=frozenset(values["CanonicalUser"]),
    )


def compile_statement(statement: Statement, index: int, *, variables: bool) -> CompiledStatement:
    """Compile one statement; ``variables`` says whether policy variables are substituted."""
    if statement.action is not None:
        action = _action_test(statement.action, negated=False)
    else:
        action = _action_test(statement.not_action or (), negated=True)
    resource: ResourceTest | None = None
    resource_keys: tuple[str, ...] = ()
    patterns = statement.resource if statement.resource is not None else statement.not_resource
    if patterns is not None:
        resource = _resource_test(patterns, negated=statement.resource is None, variables=variables)
        if variables:
            resource_keys = tuple(key for p in patterns for key in variable_keys(parse_template(p, arn=True)))
    conditions = compile_conditions(statement.condition, variables=variables)
    keys: dict[str, str] = {}
    for key in (k for clause in conditions for k in clause.keys):
        keys.setdefault(key.lower(), key)
    return CompiledStatement(
        index=index,
        sid=statement.sid,
        allow=statement.effect is Effect.ALLOW,
        action=action,
        resource=resource,
        principal=_principal(statement.principal),
        not_principal=_principal(statement.not_principal),
        conditions=conditions,
        keys=tuple(keys.items()),
        resource_keys=tuple({key.lower(): key for key in resource_keys}.items()),
        start=statement.start,
        end=statement.end,
    )


def _index(
    statements: tuple[Statement, ...],
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]], tuple[int, ...]]:
    by_action: dict[str, list[int]] = {}
    by_service: dict[str, list[int]] = {}
    always: list[int] = []
    for index, statement in enumerate(statements):
        if statement.action is None:
            always.append(index)
            continue
        for pattern in (p.lower() for p in statement.action):
            service, colon, _name = pattern.partition(":")
            if "*" not in pattern and "?" not in pattern:
                by_action.setdefault(pattern, []).append(index)
            elif colon and "*" not in service and "?" not in service:
                by_service.setdefault(service, []).append(index)
            else:
                always.append(index)
    return _freeze(by_action), _freeze(by_service), tuple(always)


def _freeze(table: dict[str, list[int]]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value) for key, value in table.items()}


def compile_policy(document: PolicyDocument, kind: PolicyKind = PolicyKind.IDENTITY) -> CompiledPolicy:
    """Compile a parsed document."""
    variables = document.variables_enabled
    statements = tuple(
        compile_statement(statement, index, variables=variables) for index, statement in enumerate(document.statements)
    )
    by_action, by_service, always = _index(document.statements)
    return CompiledPolicy(document, kind, statements, by_action, by_service, always)


@lru_cache(maxsize=_CACHE_LIMIT)
def compile_text(text: str, kind: PolicyKind = PolicyKind.IDENTITY) -> CompiledPolicy:
    """Parse (raising :class:`~iamledger.domain.policy.errors.MalformedPolicyDocument`) and compile a document,
    cached by its text and kind, so each distinct document is compiled once."""
    return compile_policy(parse(text, kind), kind)
