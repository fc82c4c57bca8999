"""The creations of a synthetic organisation's users, groups, customer managed policies and roles, each with its
name's claim, as the create commands record them (a new user is onboarded into its team's groups)."""

# The odds of the generator's random choices are plain numbers (as in iamledger/generate.py, which pyproject.toml
# exempts likewise).
# ruff: noqa: PLR2004

from __future__ import annotations

import uuid

from iamledger.domain.groups import Group
from iamledger.domain.ids import new_unique_id
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.users import User
from iamledger.synthetic_changes import join_group
from iamledger.synthetic_organisation import Organisation


def create_user(org: Organisation) -> None:
    entity_id = uuid.uuid4()
    name = org.new_name("user")
    index = org.claim("user", name, entity_id)
    tags = [{"Key": "team", "Value": f"t{org.rng.randrange(20)}"}] if org.rng.random() < 0.5 else []
    user = User.create_with_id(
        entity_id,
        account_id=org.spec.account_id,
        user_id=new_unique_id("AIDA"),
        user_name=name,
        path=org.rng.choice(["/", "/eng/", "/ops/"]),
        permissions_boundary=None,
        tags=tags,
    )
    org.users.append(user)
    org.touch(user, index)
    if org.groups and org.rng.random() < 0.8:  # onboarding: into one to three of the team's groups
        team = org.rng.randrange(org.teams)
        for _ in range(org.rng.randint(1, 3)):
            group = org.groups[(team * 3 + org.rng.randrange(3)) % len(org.groups)]
            join_group(org, user, group)


def create_group(org: Organisation) -> None:
    entity_id = uuid.uuid4()
    name = org.new_name("group")
    index = org.claim("group", name, entity_id)
    group = Group.create_with_id(
        entity_id, account_id=org.spec.account_id, group_id=new_unique_id("AGPA"), group_name=name, path="/"
    )
    org.groups.append(group)
    org.groups_by_id[group.id] = group
    org.touch(group, index)


def create_policy(org: Organisation) -> None:
    entity_id = uuid.uuid4()
    name = org.new_name("policy")
    index = org.claim("policy", name, entity_id)
    policy = ManagedPolicy.create_with_id(
        entity_id,
        account_id=org.spec.account_id,
        policy_id=new_unique_id("ANPA"),
        policy_name=name,
        path="/",
        description=None,
        document=org.rng.choice(org.documents),
        tags=[],
    )
    org.policies.append(policy)
    org.policies_by_arn[policy.arn] = policy
    org.touch(policy, index)


def create_role(org: Organisation) -> None:
    entity_id = uuid.uuid4()
    name = org.new_name("role")
    index = org.claim("role", name, entity_id)
    role = Role.create_with_id(
        entity_id,
        account_id=org.spec.account_id,
        role_id=new_unique_id("AROA"),
        role_name=name,
        path="/",
        assume_role_policy_document=org.rng.choice(org.trusts),
        description=None,
        max_session_duration=3600,
        permissions_boundary=None,
        tags=[],
    )
    org.roles.append(role)
    org.touch(role, index)
