"""Imports every view module, so that their handlers are registered before the projector runs."""

from __future__ import annotations

import iamledger.projections.views.access_keys
import iamledger.projections.views.accounts
import iamledger.projections.views.credential_material
import iamledger.projections.views.federation
import iamledger.projections.views.groups
import iamledger.projections.views.instance_profiles
import iamledger.projections.views.policies
import iamledger.projections.views.principals
import iamledger.projections.views.role_usage
import iamledger.projections.views.roles
import iamledger.projections.views.service_credentials
import iamledger.projections.views.sessions
import iamledger.projections.views.users  # noqa: F401
