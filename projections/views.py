"""Imports every view module, so that their handlers are registered before the projector runs."""

from __future__ import annotations

import iamledger.projections.access_keys
import iamledger.projections.accounts
import iamledger.projections.credential_material
import iamledger.projections.federation
import iamledger.projections.groups
import iamledger.projections.instance_profiles
import iamledger.projections.policies
import iamledger.projections.principals
import iamledger.projections.role_usage
import iamledger.projections.roles
import iamledger.projections.sessions
import iamledger.projections.users  # noqa: F401
