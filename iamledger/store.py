"""``IdentityStore``: the one application service of iamledger.

Every command method validates its input, acts in one account, and saves every aggregate it touched in one
``save()`` (one transaction); it returns plain data in the shape boto3 returns for the same operation, never an
aggregate. Events are stamped with the bound audit context (:mod:`iamledger.context`); a method called with none
bound acts as the account's root user under a fresh request id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from iamledger.asof import StoreAsOf
from iamledger.audit.store_methods import AuditService, TrailService
from iamledger.awsmodel import missing_members_as_null
from iamledger.client_errors import raising_client_errors
from iamledger.config import StoreURL
from iamledger.logconfig import get_logger
from iamledger.projections.engine.serving import ServingConfig
from iamledger.projections.engine.standby import READ_TIMEOUT
from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.engine.timeindex import settle
from iamledger.services.account import AccountService
from iamledger.services.authn import AuthenticationService
from iamledger.services.credentials import CredentialsService
from iamledger.services.federated_sts import FederatedStsService
from iamledger.services.federation import FederationService
from iamledger.services.groups import GroupsService
from iamledger.services.importer import ImportService
from iamledger.services.instance_profiles import InstanceProfilesService
from iamledger.services.mfa import MFAService
from iamledger.services.permissions import PermissionsService
from iamledger.services.policies import PoliciesService
from iamledger.services.policy_insights import PolicyInsightsService
from iamledger.services.roles import RolesService
from iamledger.services.server_certificates import ServerCertificatesService
from iamledger.services.service_credentials import ServiceCredentialsService
from iamledger.services.sessions import SessionsService
from iamledger.services.simulation import SimulationService
from iamledger.services.sts import StsService
from iamledger.services.sts_preferences import StsPreferencesService
from iamledger.services.user_keys import UserKeysService
from iamledger.services.users import UsersService

__all__ = ["IdentityStore"]

log = get_logger(__name__)


P = ParamSpec("P")
T = TypeVar("T")


def _on_reader(method: Callable[Concatenate[Any, P], T]) -> Callable[Concatenate[IdentityStore, P], T]:
    """``method`` run on the store's reader (:meth:`IdentityStore.reader`): its read replica when it has one."""

    @functools.wraps(method)
    def routed(self: IdentityStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return method(self.reader(), *args, **kwargs)

    return routed


@raising_client_errors  # every error leaving a method is botocore's ClientError too, naming the operation
@missing_members_as_null  # a required member left out is null, as AWS says: ValidationError, never a TypeError
class IdentityStore(
    UsersService,
    CredentialsService,
    GroupsService,
    RolesService,
    InstanceProfilesService,
    MFAService,
    UserKeysService,
    ServiceCredentialsService,
    ServerCertificatesService,
    PermissionsService,
    PoliciesService,
    AccountService,
    StsPreferencesService,
    SimulationService,
    PolicyInsightsService,
    StsService,
    FederationService,
    FederatedStsService,
    SessionsService,
    AuditService,
    TrailService,
    AuthenticationService,
    ImportService,
):
    """An event-sourced identity store on one database (SQLite file or PostgreSQL).

    Open one with :meth:`open`; close it with :meth:`close` or use it as a context manager. Its kernel (opening,
    the repository, ``save``, the audit context) is :class:`~iamledger.kernel.StoreKernel`, its accounts
    :class:`~iamledger.store_accounts.StoreAccounts`; each operation comes from one of the mixins above.
    """

    standby: IdentityStore | None = None
    """The store's read side on a hot standby of its PostgreSQL primary (``open(url, read_url=...)``), once the
    first audit or as-of read has opened it; ``None`` before, and without one."""
    _standby_url: StoreURL | None = None
    _read_timeout: float = READ_TIMEOUT

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        master_key: bytes | None = None,
        create: bool = True,
        read_url: str | None = None,
        read_timeout: float | None = None,
        serving: ServingConfig | None = None,
    ) -> IdentityStore:
        """Open the store at ``url`` (default ``$IAMLEDGER_DB``, else ``sqlite:///./iamledger.db``): see
        :meth:`StoreKernel.open <iamledger.kernel.StoreKernel.open>` for ``master_key``, ``create`` and ``serving``.

        ``read_url`` names a hot standby of the store's PostgreSQL primary for audit and as-of reads (:meth:`reader`;
        without a ``?schema=`` it reads the store's); ``read_timeout`` is how long such a read waits for a position
        the standby has not reached (default 5 seconds).
        """
        standby = None
        if read_url:
            from iamledger.standby import standby_url

            standby = standby_url(read_url, StoreURL.parse(url))  # a wrong URL is refused before anything is opened
        store = super().open(url, master_key=master_key, create=create, serving=serving)
        store._standby_url = standby  # noqa: SLF001 - this class's own attribute, set as the store opens
        store._read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout  # noqa: SLF001 - likewise
        return store

    def close(self) -> None:
        """Release the database connections (the read replica's too)."""
        if self.standby is not None:
            self.standby.close()
        super().close()

    def at(self, when: str | int | datetime) -> StoreAsOf:
        """The store as it was at ``when``: a position (int), a ``datetime``, or text such as
        ``2026-11-01T09:00:00Z``, ``2026-11-01``, ``90m``, ``7d`` or ``position:1234``. The view is read-only and
        has the store's read methods (``list_groups_for_user``, ``get_account_authorization_details``,
        ``simulate_principal_policy``, ...); its ``position`` and ``time`` say what the answers describe. With a
        read replica the view reads there, once its views have reached ``when`` (see :meth:`reader`)."""
        reader = self.reader()
        with reading_now(), reader.engine.connect() as conn:
            moment = settle(conn, when, reader.clock(), reader.projector.reach)
        return StoreAsOf(reader, moment)

    # -- audit and as-of reads: on the read replica when there is one ------------------------------------------------

    def reader(self) -> IdentityStore:
        """The store audit and as-of reads run on: its read replica (:attr:`standby`) when it has one, else itself.

        There the views and the trail are read as the primary's follower left them, never caught up (a standby is
        read-only), and each answer reports the position it was computed at; one that asks for a later position
        waits for replication to deliver it, up to the read timeout, then raises ``ReplicaBehind``. Writes, and
        every other read, stay on this store. The standby is opened by the first such read, so a command that only
        writes never needs it reachable."""
        if self.standby is None and self._standby_url is not None:
            from iamledger.standby import StandbyStore

            self.standby = StandbyStore(self, self._standby_url, timeout=self._read_timeout)
        return self.standby or self

    lookup_events = _on_reader(TrailService.lookup_events)
    entity_history = _on_reader(TrailService.entity_history)

    def audit_simulate_principal_policy(
        self,
        *,
        At: str | int | datetime | None = None,  # noqa: N803 - the audit API's parameter name
        **params: Any,
    ) -> dict[str, Any]:
        """``SimulatePrincipalPolicy`` as of ``At`` with the events behind each matched statement, on the reader;
        see :meth:`AuditService.audit_simulate_principal_policy`."""
        return AuditService.audit_simulate_principal_policy(self.reader(), At=At, **params)

    who_can = _on_reader(AuditService.who_can)
    stream_who_can = _on_reader(AuditService.stream_who_can)
    what_can = _on_reader(AuditService.what_can)
    audit_diff = _on_reader(AuditService.audit_diff)
    exposure = _on_reader(AuditService.exposure)
    escalation_paths = _on_reader(AuditService.escalation_paths)
    who_can_escalate = _on_reader(AuditService.who_can_escalate)
    audit_findings = _on_reader(AuditService.audit_findings)
    stream_findings = _on_reader(AuditService.stream_findings)
