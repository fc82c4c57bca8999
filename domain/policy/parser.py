"""``parse``: policy JSON text to a validated :class:`~iamledger.domain.policy.document.PolicyDocument`.

The pipeline is: strict JSON reading (:mod:`~iamledger.domain.policy.jsontext`), the rules of the policy kind
(:mod:`~iamledger.domain.policy.validation`), the optional size quota (:mod:`~iamledger.domain.policy.limits`), and
building the AST with each statement's AWS-style source positions.
"""

from __future__ import annotations

from iamledger.domain.policy.document import (
    ConditionBlock,
    ConditionEntry,
    Effect,
    PolicyDocument,
    Position,
    PrincipalElement,
    Statement,
)
from iamledger.domain.policy.errors import MalformedPolicyDocument
from iamledger.domain.policy.jsontext import JsonNumber, JsonSyntaxError, JsonText, JsonValue, read_json
from iamledger.domain.policy.kinds import PolicyKind
from iamledger.domain.policy.limits import SizeLimit
from iamledger.domain.policy.validation import SYNTAX_ERROR, validate


def parse(
    text: str, kind: PolicyKind = PolicyKind.IDENTITY, *, max_size: SizeLimit | int | None = None
) -> PolicyDocument:
    """Parse and validate a policy document used as ``kind``.

    Raises :class:`~iamledger.domain.policy.errors.MalformedPolicyDocument` (AWS's message and a JSON pointer) for
    a document IAM would refuse, and :class:`~iamledger.domain.policy.errors.PolicySizeExceeded` when ``max_size``
    (a :class:`SizeLimit` or a number of characters) is exceeded; whitespace between JSON tokens is not counted.
    Nothing else is raised, whatever the input.
    """
    return build_document(_checked(text, kind, max_size))


def check_document(
    text: str, kind: PolicyKind = PolicyKind.IDENTITY, *, max_size: SizeLimit | int | None = None
) -> None:
    """Raise what :func:`parse` raises for ``text``, without building the document (for a caller that only needs to
    know IAM would accept it, as an import reading thousands of documents)."""
    _checked(text, kind, max_size)


def _checked(text: str, kind: PolicyKind, max_size: SizeLimit | int | None) -> JsonText:
    if not isinstance(text, str):
        raise MalformedPolicyDocument(SYNTAX_ERROR)
    try:
        source = read_json(text)
    except (JsonSyntaxError, RecursionError):
        raise MalformedPolicyDocument(SYNTAX_ERROR) from None
    issues = validate(source.value, kind)
    if issues:
        raise MalformedPolicyDocument(issues[0].message, issues[0].pointer)
    if max_size is not None:
        limit = max_size if isinstance(max_size, SizeLimit) else SizeLimit(max_size, "Policy size exceeds quota")
        limit.check(source.significant_chars)
    return source


def build_document(source: JsonText) -> PolicyDocument:
    """The AST of an already validated JSON policy."""
    raw = source.value
    assert isinstance(raw, dict)  # noqa: S101 - validated
    statements_raw = raw["Statement"]
    version = raw.get("Version")
    policy_id = raw.get("Id")
    if isinstance(statements_raw, dict):
        span = source.spans[("Statement",)]
        start = span.start + 1  # just after the `{`, as AWS reports it
        statements: tuple[Statement, ...] = (
            _statement(statements_raw, _position(source, start), _position(source, span.end)),
        )
        is_list = False
    else:
        assert isinstance(statements_raw, list)  # noqa: S101 - validated
        built: list[Statement] = []
        previous_end = source.spans[("Statement",)].start + 1  # just after the `[`
        for index, item in enumerate(statements_raw):
            assert isinstance(item, dict)  # noqa: S101 - validated
            span = source.spans[("Statement", index)]
            built.append(_statement(item, _position(source, previous_end), _position(source, span.end)))
            previous_end = span.end
        statements = tuple(built)
        is_list = True
    return PolicyDocument(
        statements,
        version=version if isinstance(version, str) else None,
        id=policy_id if isinstance(policy_id, str) else None,
        statement_is_list=is_list,
    )


def _position(source: JsonText, offset: int) -> Position:
    line, column = source.line_column(offset)
    return Position(line, column)


def _strings(value: JsonValue) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, list)  # noqa: S101 - validated
    return tuple(item for item in value if isinstance(item, str))


def _scalar_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsonNumber):
        return value.text
    assert isinstance(value, str)  # noqa: S101 - validated
    return value


def _principal(value: JsonValue) -> PrincipalElement | None:
    if value is None:
        return None
    if value == "*":
        return PrincipalElement(wildcard=True)
    assert isinstance(value, dict)  # noqa: S101 - validated
    return PrincipalElement(entries=tuple((key, _strings(entry) or ()) for key, entry in value.items()))


def _conditions(value: JsonValue) -> tuple[ConditionBlock, ...]:
    if not isinstance(value, dict):
        return ()
    blocks: list[ConditionBlock] = []
    for operator, block in value.items():
        assert isinstance(block, dict)  # noqa: S101 - validated
        entries = tuple(
            ConditionEntry(
                key, tuple(_scalar_text(item) for item in (values if isinstance(values, list) else [values]))
            )
            for key, values in block.items()
        )
        blocks.append(ConditionBlock(operator, entries))
    return tuple(blocks)


def _statement(raw: dict[str, JsonValue], start: Position, end: Position) -> Statement:
    sid = raw.get("Sid")
    effect = raw["Effect"]
    assert isinstance(effect, str)  # noqa: S101 - validated
    return Statement(
        effect=Effect(effect),
        sid=sid if isinstance(sid, str) else None,
        principal=_principal(raw.get("Principal")),
        not_principal=_principal(raw.get("NotPrincipal")),
        action=_strings(raw.get("Action")),
        not_action=_strings(raw.get("NotAction")),
        resource=_strings(raw.get("Resource")),
        not_resource=_strings(raw.get("NotResource")),
        condition=_conditions(raw.get("Condition")),
        start=start,
        end=end,
    )
