"""The combining algorithm alone, on hand-made facts, and against a tiny reference oracle (Hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iamledger.domain.policy import EvalDecision, Facts, Hit, PolicyRole, PrincipalMatch, PrincipalType, combine

IDENTITY_ALLOW = Hit(PolicyRole.IDENTITY, allow=True)
IDENTITY_DENY = Hit(PolicyRole.IDENTITY, allow=False)
BOUNDARY_ALLOW = Hit(PolicyRole.BOUNDARY, allow=True)
SESSION_ALLOW = Hit(PolicyRole.SESSION, allow=True)


def rbp(strength: PrincipalMatch, *, allow: bool = True) -> Hit:
    return Hit(PolicyRole.RESOURCE, allow, strength)


def decide(kind: PrincipalType, *hits: Hit, **flags: bool) -> EvalDecision:
    return combine(Facts(kind, tuple(hits), **flags)).decision


def test_no_hits_is_an_implicit_deny():
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER)


def test_identity_allow_allows_a_user():
    assert EvalDecision.ALLOWED == decide(PrincipalType.USER, IDENTITY_ALLOW)


def test_any_deny_is_an_explicit_deny():
    assert EvalDecision.EXPLICIT_DENY == decide(
        PrincipalType.USER, IDENTITY_ALLOW, rbp(PrincipalMatch.DIRECT), IDENTITY_DENY
    )


def test_boundary_without_allow_caps_the_identity_allow():
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER, IDENTITY_ALLOW, has_boundary=True)


def test_boundary_never_grants_alone():
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER, BOUNDARY_ALLOW, has_boundary=True)


def test_resource_policy_naming_the_user_is_not_capped_by_the_boundary():
    assert EvalDecision.ALLOWED == decide(
        PrincipalType.USER, rbp(PrincipalMatch.DIRECT), has_boundary=True, has_resource_policy=True
    )


def test_resource_policy_naming_the_role_is_capped_by_the_session_policy():
    facts = {"has_session_policy": True, "has_resource_policy": True}
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.ASSUMED_ROLE, rbp(PrincipalMatch.ROLE), **facts)
    assert EvalDecision.ALLOWED == decide(PrincipalType.ASSUMED_ROLE, rbp(PrincipalMatch.ROLE), SESSION_ALLOW, **facts)


def test_resource_policy_naming_the_account_needs_an_identity_allow():
    assert EvalDecision.IMPLICIT_DENY == decide(
        PrincipalType.USER, rbp(PrincipalMatch.ACCOUNT), has_resource_policy=True
    )


def test_federated_user_without_session_policy_has_no_permissions():
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.FEDERATED_USER, IDENTITY_ALLOW)


def test_role_session_without_session_policy_keeps_the_role_permissions():
    assert EvalDecision.ALLOWED == decide(PrincipalType.ASSUMED_ROLE, IDENTITY_ALLOW)


def test_cross_account_needs_both_sides():
    facts = {"same_account": False, "has_resource_policy": True}
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER, rbp(PrincipalMatch.DIRECT), **facts)
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER, IDENTITY_ALLOW, **facts)
    assert EvalDecision.ALLOWED == decide(PrincipalType.USER, IDENTITY_ALLOW, rbp(PrincipalMatch.ACCOUNT), **facts)


def test_cross_account_details_give_each_side():
    outcome = combine(Facts(PrincipalType.USER, (IDENTITY_ALLOW,), same_account=False, has_resource_policy=True))
    assert (("IAM Policy", EvalDecision.ALLOWED), ("Resource Policy", EvalDecision.IMPLICIT_DENY)) == outcome.details


def test_trust_policy_must_allow_even_with_an_identity_allow():
    assert EvalDecision.IMPLICIT_DENY == decide(
        PrincipalType.USER, IDENTITY_ALLOW, has_resource_policy=True, trust_policy=True
    )


def test_trust_policy_naming_the_user_is_capped_by_the_boundary():
    facts = {"has_resource_policy": True, "trust_policy": True, "has_boundary": True}
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.USER, rbp(PrincipalMatch.DIRECT), **facts)
    assert EvalDecision.ALLOWED == decide(PrincipalType.USER, rbp(PrincipalMatch.DIRECT), BOUNDARY_ALLOW, **facts)


def test_root_is_allowed_in_its_account_but_cannot_assume_roles():
    assert EvalDecision.ALLOWED == decide(PrincipalType.ROOT)
    assert EvalDecision.IMPLICIT_DENY == decide(
        PrincipalType.ROOT, rbp(PrincipalMatch.ACCOUNT), has_resource_policy=True, trust_policy=True
    )


def test_anonymous_needs_a_resource_policy_allow():
    assert EvalDecision.IMPLICIT_DENY == decide(PrincipalType.ANONYMOUS)
    assert EvalDecision.ALLOWED == decide(PrincipalType.ANONYMOUS, rbp(PrincipalMatch.DIRECT), has_resource_policy=True)


def test_boundary_verdict_is_reported():
    assert [None, False, True] == [
        combine(Facts(PrincipalType.USER, (IDENTITY_ALLOW,))).allowed_by_boundary,
        combine(Facts(PrincipalType.USER, (IDENTITY_ALLOW,), has_boundary=True)).allowed_by_boundary,
        combine(Facts(PrincipalType.USER, (IDENTITY_ALLOW, BOUNDARY_ALLOW), has_boundary=True)).allowed_by_boundary,
    ]


# --- against a reference oracle -------------------------------------------------------------------------------

HITS = st.builds(
    Hit,
    st.sampled_from(list(PolicyRole)),
    st.booleans(),
    st.sampled_from([PrincipalMatch.ACCOUNT, PrincipalMatch.ROLE, PrincipalMatch.DIRECT]),
)


def oracle(
    kind: PrincipalType, hits: list[Hit], *, boundary: bool, session: bool, same: bool, rbp_present: bool
) -> EvalDecision:
    """Reference section 1.9 pseudo-code, written independently for user and role-session callers."""
    if any(not hit.allow for hit in hits):
        return EvalDecision.EXPLICIT_DENY
    allowed_in = {hit.role for hit in hits}
    rbp_strengths = {hit.strength for hit in hits if hit.role is PolicyRole.RESOURCE}
    identity = PolicyRole.IDENTITY in allowed_in
    boundary_ok = not boundary or PolicyRole.BOUNDARY in allowed_in
    session_ok = not (kind is PrincipalType.ASSUMED_ROLE and session) or PolicyRole.SESSION in allowed_in
    if not same:
        ok = identity and boundary_ok and session_ok and bool(rbp_strengths) and rbp_present
        return EvalDecision.ALLOWED if ok else EvalDecision.IMPLICIT_DENY
    if rbp_present and PrincipalMatch.DIRECT in rbp_strengths:
        return EvalDecision.ALLOWED
    granted = identity or (rbp_present and PrincipalMatch.ROLE in rbp_strengths)
    return EvalDecision.ALLOWED if granted and boundary_ok and session_ok else EvalDecision.IMPLICIT_DENY


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([PrincipalType.USER, PrincipalType.ASSUMED_ROLE]),
    st.lists(HITS, max_size=5),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_combine_agrees_with_the_reference_oracle(
    kind: PrincipalType, hits: list[Hit], boundary: bool, session: bool, same: bool
):
    rbp_present = any(hit.role is PolicyRole.RESOURCE for hit in hits)
    hits = [hit for hit in hits if hit.role is not PolicyRole.SESSION or kind is PrincipalType.ASSUMED_ROLE]
    session = session and kind is PrincipalType.ASSUMED_ROLE
    facts = Facts(
        kind,
        tuple(hits),
        same_account=same,
        has_boundary=boundary,
        has_session_policy=session,
        has_resource_policy=rbp_present,
    )
    expected = oracle(kind, hits, boundary=boundary, session=session, same=same, rbp_present=rbp_present)
    assert expected == combine(facts).decision
