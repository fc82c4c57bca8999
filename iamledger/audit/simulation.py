"""``SimulatePrincipalPolicy`` as of a moment, with the events behind each matched statement and the principal's
credentials then.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.moments import _authorize, _reading, describe_moment
from iamledger.audit.provenance import EventBook, _explain
from iamledger.audit.subjects import _SESSION_ARN, Subject, resolve_subject
from iamledger.awsmodel import validate_input
from iamledger.domain.policy import (
    AppliedPolicy,
    Decision,
    PolicyKind,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    check_simulation_input,
    evaluate,
)
from iamledger.domain.policy.simulation import _action_result, _caller, _owner, _resource_owner, simulation_context
from iamledger.projections.access import analysis
from iamledger.projections.engine.timeindex import Moment
from iamledger.services.base import ServiceBase
from iamledger.services.paging import page


def _credentials(conn: Connection, subject: Subject, moment: Moment) -> dict[str, Any]:
    """The credentials the subject had at the moment: long-term keys and their status, sessions valid then."""
    account = str(subject.row["account_id"])
    out: dict[str, Any] = {}
    if subject.kind == "user":
        keys = analysis.access_key_rows(conn, str(subject.row["entity_uuid"]))
        out["AccessKeys"] = [
            {"AccessKeyId": k["access_key_id"], "Status": k["status"]} for k in keys if k["owner_kind"] == "user"
        ]
        profiles = analysis.login_profile_rows(conn, str(subject.row["entity_uuid"]))
        out["ConsolePassword"] = bool(profiles)
        sessions = analysis.sessions_valid_at(conn, account, moment.time, owner_arn=subject.arn)
    elif subject.kind == "role":
        prefix = f"arn:aws:sts::{account}:assumed-role/{subject.row['role_name']}/"
        sessions = [
            s for s in analysis.sessions_valid_at(conn, account, moment.time) if str(s["owner_arn"]).startswith(prefix)
        ]
    elif subject.kind == "session" and subject.session_row is not None:
        sessions = [subject.session_row]
    else:
        return out
    out["ValidSessions"] = [
        {"Arn": s["owner_arn"], "AccessKeyId": s["access_key_id"], "Expiration": s["expiration"]} for s in sessions
    ]
    return out


class _CredentialBook:
    """:func:`_credentials` for many subjects of an account: the access keys and the sessions valid at the moment read
    once, then each subject's picked out (in the same order)."""

    def __init__(self, conn: Connection, store: ServiceBase, account_id: str, moment: Moment) -> None:
        self._conn = conn
        self._store = store
        self._account_id = account_id
        self._moment = moment
        self._keys: dict[str, list[dict[str, Any]]] | None = None
        self._passwords: set[str] = set()
        self._by_owner: dict[str, list[dict[str, Any]]] = {}
        self._by_role: dict[str, list[dict[str, Any]]] = {}

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if self._keys is None:
            self._keys = {}
            for key in analysis.access_key_rows(self._conn):
                self._keys.setdefault(str(key["owner_uuid"]), []).append(key)
            self._passwords = {str(row["user_uuid"]) for row in analysis.login_profile_rows(self._conn)}
            base = f"arn:aws:sts::{self._account_id}:assumed-role/"
            for session in analysis.sessions_valid_at(self._conn, self._account_id, self._moment.time):
                owner = str(session["owner_arn"])
                self._by_owner.setdefault(owner, []).append(session)
                if owner.startswith(base):
                    role, slash, _rest = owner[len(base) :].partition("/")
                    if slash:
                        self._by_role.setdefault(role, []).append(session)
        return self._keys

    def of(self, subject: Subject) -> dict[str, Any]:
        """What :func:`_credentials` answers for a user or role of the account."""
        if subject.kind not in {"user", "role"} or str(subject.row["account_id"]) != self._account_id:
            return _credentials(self._conn, subject, self._moment)
        keys = self._load()
        out: dict[str, Any] = {}
        if subject.kind == "user":
            entity = str(subject.row["entity_uuid"])
            out["AccessKeys"] = [
                {"AccessKeyId": k["access_key_id"], "Status": k["status"]}
                for k in keys.get(entity, [])
                if k["owner_kind"] == "user"
            ]
            out["ConsolePassword"] = entity in self._passwords
            sessions = self._by_owner.get(subject.arn, [])
        else:
            sessions = self._by_role.get(str(subject.row["role_name"]), [])
        out["ValidSessions"] = [
            {"Arn": s["owner_arn"], "AccessKeyId": s["access_key_id"], "Expiration": s["expiration"]} for s in sessions
        ]
        return out


@dataclass(frozen=True)
class PrincipalPolicySimulation:
    """The request members of ``SimulatePrincipalPolicy``, named and typed as boto3 names them."""

    PolicySourceArn: str
    ActionNames: list[str]
    PolicyInputList: list[str] | None = None
    PermissionsBoundaryPolicyInputList: list[str] | None = None
    ResourceArns: list[str] | None = None
    ResourcePolicy: str | None = None
    ResourceOwner: str | None = None
    CallerArn: str | None = None
    ContextEntries: list[dict[str, Any]] | None = None
    ResourceHandlingOption: str | None = None
    MaxItems: int | None = None
    Marker: str | None = None

    def present(self) -> dict[str, Any]:
        """The members given (not ``None``), as the model's validation and the authorization read them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def simulate_principal_policy_at(
    store: ServiceBase, *, At: str | int | datetime | None = None, **params: Any
) -> dict[str, Any]:
    """``SimulatePrincipalPolicy`` as of ``At`` (default now), each matched statement extended with ``Provenance``:
    the events that made its policy apply to the principal then (the membership, the attachment or inline put, the
    default version), oldest first. ``params`` are SimulatePrincipalPolicy's request members
    (:class:`PrincipalPolicySimulation`). ``PolicySourceArn`` may also be a role session
    (``arn:aws:sts::A:assumed-role/R/S``), and ``CallerArn`` too: a session counts only if it was valid at ``At``."""
    question = PrincipalPolicySimulation(**params)
    present = question.present()
    validate_input("iam", "SimulatePrincipalPolicy", present)
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", present, account_id)
    with _reading(store, At) as (conn, moment):
        check_simulation_input(
            ActionNames=question.ActionNames,
            PolicyInputList=question.PolicyInputList or [],
            PermissionsBoundaryPolicyInputList=question.PermissionsBoundaryPolicyInputList,
            ResourcePolicy=question.ResourcePolicy,
            ResourceHandlingOption=question.ResourceHandlingOption,
        )
        subject = resolve_subject(store, conn, account_id, question.PolicySourceArn, moment)
        caller, policies, default_owner = _evaluated(store, conn, account_id, moment, subject, question)
        context = simulation_context(question.ContextEntries)
        resources = list(question.ResourceArns) if question.ResourceArns else ["*"]
        book = EventBook(store, conn)
        results = []
        for action in question.ActionNames:
            decisions = [
                evaluate(Request(caller, action, resource, context, _owner(resource, default_owner)), policies)
                for resource in resources
            ]
            results.append(_explained(conn, book, subject, action, resources, decisions, policies))
        shown, more = page(results, question.Marker, question.MaxItems)
        answer: dict[str, Any] = {"EvaluationResults": shown, "IsTruncated": False, **more}
        answer["AsOf"] = describe_moment(moment)
        answer["PolicySource"] = {"Arn": subject.arn, "Type": subject.kind}
        if subject.session_row is not None:
            answer["Session"] = book.describe(int(subject.session_row["valid_from"]), "session")
        answer["Credentials"] = _credentials(conn, subject, moment)
        return answer


def _evaluated(
    store: ServiceBase,
    conn: Connection,
    account_id: str,
    moment: Moment,
    subject: Subject,
    question: PrincipalPolicySimulation,
) -> tuple[Principal, PolicySet, str | None]:
    """The simulated caller, the policies evaluated (the subject's then, plus ``PolicyInputList``; a given boundary
    replacing the subject's; the ``ResourcePolicy``) and the owner of a resource whose ARN names no account."""
    identity = list(subject.identity) + [
        AppliedPolicy.from_text(text, PolicySource(f"PolicyInputList.{number}", "IAM Policy"))
        for number, text in enumerate(question.PolicyInputList or [], start=1)
    ]
    boundary = subject.boundary
    if question.PermissionsBoundaryPolicyInputList:
        source = PolicySource("PermissionsBoundaryPolicyInputList.1", "IAM Policy")
        boundary = AppliedPolicy.from_text(question.PermissionsBoundaryPolicyInputList[0], source)
    caller = subject.principal
    if question.CallerArn is not None and _SESSION_ARN.fullmatch(question.CallerArn):
        caller = resolve_subject(store, conn, account_id, question.CallerArn, moment).principal
    elif question.CallerArn is not None:
        caller = _caller(question.CallerArn, has_resource_policy=question.ResourcePolicy is not None)
    default_owner = _resource_owner(question.ResourceOwner) or caller.account
    resource_policy = (
        AppliedPolicy.from_text(
            question.ResourcePolicy, PolicySource("ResourcePolicy", "Resource Policy"), PolicyKind.RESOURCE
        )
        if question.ResourcePolicy is not None
        else None
    )
    policies = PolicySet(
        identity=tuple(identity), boundary=boundary, session=subject.session_policies, resource=resource_policy
    )
    return caller, policies, default_owner


def _explained(
    conn: Connection,
    book: EventBook,
    subject: Subject,
    action: str,
    resources: list[str],
    decisions: list[Decision],
    policies: PolicySet,
) -> dict[str, Any]:
    """The evaluation result of ``action`` on ``resources`` (one decision each), each matched statement with the
    events behind it."""
    result = _action_result(
        action, resources, decisions, per_resource=resources != ["*"], has_boundary=policies.boundary is not None
    )
    worst = result["EvalDecision"]
    _explain(conn, book, subject, result["MatchedStatements"], [d for d in decisions if d.decision == worst])
    for resource_result, decision in zip(result.get("ResourceSpecificResults", []), decisions, strict=False):
        _explain(conn, book, subject, resource_result["MatchedStatements"], [decision])
    return result
