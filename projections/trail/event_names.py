"""Which API operation recorded each event: ``User.AddedToGroup`` -> ``AddUserToGroup``.

The one table of it: the audit answers name events by it, and the audit trail's records
(:mod:`iamledger.projections.trail.render`) agree with it (``tests/test_audit_analysis.py`` checks both).
"""

from __future__ import annotations

from typing import Any, Final

EVENT_NAMES: Final = {
    "Account.Created": "CreateAccount",
    "Account.RootAccessKeyCreated": "CreateAccessKey",
    "Account.RootAccessKeyUpdated": "UpdateAccessKey",
    "Account.RootAccessKeyDeleted": "DeleteAccessKey",
    "Account.PasswordPolicyUpdated": "UpdateAccountPasswordPolicy",
    "Account.PasswordPolicyDeleted": "DeleteAccountPasswordPolicy",
    "Account.AliasCreated": "CreateAccountAlias",
    "Account.AliasDeleted": "DeleteAccountAlias",
    "Account.CredentialReportGenerated": "GenerateCredentialReport",
    "Account.SecurityTokenServicePreferencesSet": "SetSecurityTokenServicePreferences",
    "AccountRegistry.AccountRegistered": "CreateAccount",
    "User.Created": "CreateUser",
    "User.Updated": "UpdateUser",
    "User.Deleted": "DeleteUser",
    "User.Tagged": "TagUser",
    "User.Untagged": "UntagUser",
    "User.AddedToGroup": "AddUserToGroup",
    "User.RemovedFromGroup": "RemoveUserFromGroup",
    "User.LoginProfileCreated": "CreateLoginProfile",
    "User.LoginProfileUpdated": "UpdateLoginProfile",
    "User.LoginProfileDeleted": "DeleteLoginProfile",
    "User.PasswordChanged": "ChangePassword",
    "User.AccessKeyCreated": "CreateAccessKey",
    "User.AccessKeyUpdated": "UpdateAccessKey",
    "User.AccessKeyDeleted": "DeleteAccessKey",
    "Group.Created": "CreateGroup",
    "Group.Updated": "UpdateGroup",
    "Group.Deleted": "DeleteGroup",
    "Group.MemberAdded": "AddUserToGroup",
    "Group.MemberRemoved": "RemoveUserFromGroup",
    "Role.Created": "CreateRole",
    "Role.Updated": "UpdateRole",
    "Role.Deleted": "DeleteRole",
    "Role.ServiceLinkedCreated": "CreateServiceLinkedRole",
    "Role.ServiceLinkedDeleted": "DeleteServiceLinkedRole",
    "Role.AssumeRolePolicyUpdated": "UpdateAssumeRolePolicy",
    "Role.Tagged": "TagRole",
    "Role.Untagged": "UntagRole",
    "Role.AddedToInstanceProfile": "AddRoleToInstanceProfile",
    "Role.RemovedFromInstanceProfile": "RemoveRoleFromInstanceProfile",
    "ManagedPolicy.Created": "CreatePolicy",
    "ManagedPolicy.VersionCreated": "CreatePolicyVersion",
    "ManagedPolicy.DefaultVersionSet": "SetDefaultPolicyVersion",
    "ManagedPolicy.VersionDeleted": "DeletePolicyVersion",
    "ManagedPolicy.Tagged": "TagPolicy",
    "ManagedPolicy.Untagged": "UntagPolicy",
    "ManagedPolicy.Deleted": "DeletePolicy",
    "InstanceProfile.Created": "CreateInstanceProfile",
    "InstanceProfile.RoleAdded": "AddRoleToInstanceProfile",
    "InstanceProfile.RoleRemoved": "RemoveRoleFromInstanceProfile",
    "InstanceProfile.Tagged": "TagInstanceProfile",
    "InstanceProfile.Untagged": "UntagInstanceProfile",
    "InstanceProfile.Deleted": "DeleteInstanceProfile",
    "VirtualMFADevice.Created": "CreateVirtualMFADevice",
    "VirtualMFADevice.Enabled": "EnableMFADevice",
    "VirtualMFADevice.Deactivated": "DeactivateMFADevice",
    "VirtualMFADevice.Resynced": "ResyncMFADevice",
    "VirtualMFADevice.Tagged": "TagMFADevice",
    "VirtualMFADevice.Untagged": "UntagMFADevice",
    "VirtualMFADevice.Deleted": "DeleteVirtualMFADevice",
    "UserKeyring.MFADeviceEnabled": "EnableMFADevice",
    "UserKeyring.MFADeviceDeactivated": "DeactivateMFADevice",
    "UserKeyring.SSHPublicKeyUploaded": "UploadSSHPublicKey",
    "UserKeyring.SSHPublicKeyUpdated": "UpdateSSHPublicKey",
    "UserKeyring.SSHPublicKeyDeleted": "DeleteSSHPublicKey",
    "UserKeyring.SigningCertificateUploaded": "UploadSigningCertificate",
    "UserKeyring.SigningCertificateUpdated": "UpdateSigningCertificate",
    "UserKeyring.SigningCertificateDeleted": "DeleteSigningCertificate",
    "UserKeyring.ServiceCredentialCreated": "CreateServiceSpecificCredential",
    "UserKeyring.ServiceCredentialReset": "ResetServiceSpecificCredential",
    "UserKeyring.ServiceCredentialUpdated": "UpdateServiceSpecificCredential",
    "UserKeyring.ServiceCredentialDeleted": "DeleteServiceSpecificCredential",
    "ServerCertificate.Created": "UploadServerCertificate",
    "ServerCertificate.Updated": "UpdateServerCertificate",
    "ServerCertificate.Tagged": "TagServerCertificate",
    "ServerCertificate.Untagged": "UntagServerCertificate",
    "ServerCertificate.Deleted": "DeleteServerCertificate",
    "RoleSession.RoleAssumed": "AssumeRole",
    "SAMLRoleSession.RoleAssumedWithSAML": "AssumeRoleWithSAML",
    "WebIdentityRoleSession.RoleAssumedWithWebIdentity": "AssumeRoleWithWebIdentity",
    "OpenIDConnectProvider.Created": "CreateOpenIDConnectProvider",
    "OpenIDConnectProvider.ClientIDAdded": "AddClientIDToOpenIDConnectProvider",
    "OpenIDConnectProvider.ClientIDRemoved": "RemoveClientIDFromOpenIDConnectProvider",
    "OpenIDConnectProvider.ThumbprintsUpdated": "UpdateOpenIDConnectProviderThumbprint",
    "OpenIDConnectProvider.Tagged": "TagOpenIDConnectProvider",
    "OpenIDConnectProvider.Untagged": "UntagOpenIDConnectProvider",
    "OpenIDConnectProvider.Deleted": "DeleteOpenIDConnectProvider",
    "SAMLProvider.Created": "CreateSAMLProvider",
    "SAMLProvider.MetadataUpdated": "UpdateSAMLProvider",
    "SAMLProvider.Tagged": "TagSAMLProvider",
    "SAMLProvider.Untagged": "UntagSAMLProvider",
    "SAMLProvider.Deleted": "DeleteSAMLProvider",
    "UserSession.SessionTokenIssued": "GetSessionToken",
    "Role.LastUsed": "AssumeRole",  # recorded with the session (or by an import), no record of its own
    "ImportRecord.Recorded": "ImportAuthorizationDetails",
    "FederatedSession.FederationTokenIssued": "GetFederationToken",
}
# The principal's policy events name their operation after its kind: User.PolicyAttached is AttachUserPolicy.
PER_KIND: Final = {
    "InlinePolicyPut": "Put{}Policy",
    "InlinePolicyDeleted": "Delete{}Policy",
    "PolicyAttached": "Attach{}Policy",
    "PolicyDetached": "Detach{}Policy",
    "PermissionsBoundaryPut": "Put{}PermissionsBoundary",
    "PermissionsBoundaryDeleted": "Delete{}PermissionsBoundary",
}


def event_name(event: Any) -> str:
    """The API operation an event records: ``Group.PolicyAttached`` -> ``AttachGroupPolicy``."""
    qualname = type(event).__qualname__
    known = EVENT_NAMES.get(qualname)
    if known is not None:
        return known
    kind, _, name = qualname.partition(".")
    if name in PER_KIND and kind in {"User", "Group", "Role"}:
        return PER_KIND[name].format(kind)
    if qualname == "ManagedPolicy.Attached":
        return f"Attach{str(getattr(event, 'entity_kind', '')).capitalize()}Policy"
    if qualname == "ManagedPolicy.Detached":
        return "DetachPolicy"
    return qualname
