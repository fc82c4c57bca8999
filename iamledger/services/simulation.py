"""The policy simulator: SimulateCustomPolicy (policies given in the request) and SimulatePrincipalPolicy (the
policies that apply to a stored user, group or role, plus any given)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from iamledger.awsmodel import validate_input
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.domain.policy import (
    AppliedPolicy,
    PolicySource,
    Principal,
    check_simulation_input,
    simulate_policies,
)
from iamledger.domain.policy import simulate_custom_policy as simulate
from iamledger.projections.access.effective import EffectivePolicy, effective_policies
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.principals import find_principal_by_arn
from iamledger.services.base import ServiceBase, translated
from iamledger.services.operations import query
from iamledger.services.paging import page


def simulate_custom_policy(**params: Any) -> dict[str, Any]:
    """Evaluate the given policies for each action (and resource), as IAM's simulator does; needs no stored
    entity. Parameters (validated against AWS's model) and response as boto3's ``simulate_custom_policy``; those
    but ``MaxItems`` and ``Marker`` are :func:`iamledger.domain.policy.simulate_custom_policy`'s."""
    validate_input("iam", "SimulateCustomPolicy", {k: v for k, v in params.items() if v is not None})
    max_items, marker = params.pop("MaxItems", None), params.pop("Marker", None)
    with translated():
        result: dict[str, Any] = simulate(**params)
    results, more = page(result["EvaluationResults"], marker, max_items)
    return {**result, "EvaluationResults": results, **more}


class SimulationService(ServiceBase):
    """The simulator operations of the store."""

    @query("SimulateCustomPolicy")
    def simulate_custom_policy(self, conn: Connection, account_id: str, /, **params: Any) -> dict[str, Any]:
        """Evaluate the given policies for each action (and resource), as IAM's simulator does; needs no stored
        entity, but a caller other than the root user needs ``iam:SimulateCustomPolicy``. Parameters and response as
        boto3's ``simulate_custom_policy``."""
        del conn, account_id  # nothing stored is read
        return simulate_custom_policy(**params)

    def effective_policies(self, *, PolicySourceArn: str) -> list[EffectivePolicy]:
        """Every policy that applies to the user, group or role ``PolicySourceArn`` names: own inline and attached
        policies, a user's groups' policies, and the permissions boundary, with the documents in force."""
        account_id = self.current_account_id()
        self.projector.catch_up()
        with translated(), self.engine.connect() as conn:
            kind, row = self._principal_row(conn, account_id, PolicySourceArn)
            return effective_policies(conn, account_id, kind, row, StoreCatalogue(conn))

    def _principal_row(self, conn: Connection, account_id: str, arn: str) -> tuple[str, dict[str, Any]]:
        match = _PRINCIPAL_ARN.fullmatch(arn)
        if match is None:
            raise InvalidInputError(f"Invalid PolicySourceArn: {arn}. It must be the ARN of a user, group or role.")
        kind = match["kind"]
        row = find_principal_by_arn(conn, kind, arn)
        if row is None or match["account"] != account_id:
            raise NoSuchEntityError(f"The {kind} with name {match['name']} cannot be found.")
        return kind, dict(row)

    @query("SimulatePrincipalPolicy")
    def simulate_principal_policy(
        self,
        conn: Connection,
        account_id: str,
        *,
        PolicySourceArn: str,
        ActionNames: list[str],
        PolicyInputList: list[str] | None = None,
        PermissionsBoundaryPolicyInputList: list[str] | None = None,
        ResourceArns: list[str] | None = None,
        ResourcePolicy: str | None = None,
        ResourceOwner: str | None = None,
        CallerArn: str | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
        ResourceHandlingOption: str | None = None,
        MaxItems: int | None = None,
        Marker: str | None = None,
    ) -> dict[str, Any]:
        """Simulate the policies that apply to a stored user, group or role (a user's include its groups'), plus
        ``PolicyInputList``; a given boundary replaces the entity's own. Parameters and response as boto3's."""
        check_simulation_input(
            ActionNames=ActionNames,
            PolicyInputList=PolicyInputList or [],
            PermissionsBoundaryPolicyInputList=PermissionsBoundaryPolicyInputList,
            ResourcePolicy=ResourcePolicy,
            ResourceHandlingOption=ResourceHandlingOption,
        )
        kind, row = self._principal_row(conn, account_id, PolicySourceArn)
        stored = effective_policies(conn, account_id, kind, row, StoreCatalogue(conn))
        identity = [
            AppliedPolicy.from_text(p.document, PolicySource(p.source_id, p.source_type))
            for p in stored
            if p.role == "identity"
        ]
        identity += [
            AppliedPolicy.from_text(text, PolicySource(f"PolicyInputList.{number}", "IAM Policy"))
            for number, text in enumerate(PolicyInputList or [], start=1)
        ]
        boundary = next(
            (
                AppliedPolicy.from_text(p.document, PolicySource(p.source_id, p.source_type))
                for p in stored
                if p.role == "boundary"
            ),
            None,
        )
        if PermissionsBoundaryPolicyInputList:
            source = PolicySource("PermissionsBoundaryPolicyInputList.1", "IAM Policy")
            boundary = AppliedPolicy.from_text(PermissionsBoundaryPolicyInputList[0], source)
        result = simulate_policies(
            identity=identity,
            boundary=boundary,
            ActionNames=ActionNames,
            ResourceArns=ResourceArns,
            ResourcePolicy=ResourcePolicy,
            ResourceOwner=ResourceOwner,
            CallerArn=CallerArn,
            ContextEntries=ContextEntries,
            caller=_caller(kind, row),
        )
        results, more = page(result["EvaluationResults"], Marker, MaxItems)
        return {**result, "EvaluationResults": results, **more}


_PRINCIPAL_ARN = re.compile(r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|group|role)(?:/.*)?/(?P<name>[^/]+)")


def _caller(kind: str, row: dict[str, Any]) -> Principal:
    """The simulated principal: the user itself, a session of the role, or (for a group) a member user."""
    if kind == "role":
        return Principal.assumed_role(
            row["account_id"], row["role_name"], "simulation", role_path=row["path"], role_id=row["role_id"]
        )
    if kind == "user":
        return Principal.user(row["account_id"], row["user_name"], path=row["path"], unique_id=row["user_id"])
    return Principal.user(row["account_id"], "simulated-group-member")
