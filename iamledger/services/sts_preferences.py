"""SetSecurityTokenServicePreferences: which version of session tokens STS's global endpoint issues for the account
(``v1Token``, valid only in the Regions enabled by default, or ``v2Token``, valid in all Regions).

The store records the setting as an event of the account and reports it as ``GetAccountSummary``'s
``GlobalEndpointTokenVersion`` (1 or 2), as AWS does; the tokens its own STS issues are the same whichever is set
(they are valid wherever the store answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from iamledger.services.base import ServiceBase
from iamledger.services.operations import command

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account

TOKEN_VERSIONS: Final = {"v1Token": 1, "v2Token": 2}
"""The setting's values and the number ``GetAccountSummary`` reports for each."""


def summary_token_version(account: Account) -> int:
    """``GlobalEndpointTokenVersion`` as ``GetAccountSummary`` reports it for ``account``."""
    return TOKEN_VERSIONS[account.global_endpoint_token_version]


class StsPreferencesService(ServiceBase):
    """The account's STS preferences."""

    @command("SetSecurityTokenServicePreferences")
    def set_security_token_service_preferences(
        self, account_id: str, *, GlobalEndpointTokenVersion: str
    ) -> dict[str, Any]:
        """Set the version of the tokens STS's global endpoint issues (``v1Token`` or ``v2Token``)."""
        from iamledger.domain.accounts import Account

        account: Account = self.repository.get(Account.create_id(account_id))
        if account.set_security_token_service_preferences(GlobalEndpointTokenVersion):
            self._save(account)
        return {}
