"""Console passwords: login profiles, the account password policy, ChangePassword and sign-in; on every backend."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.credentials import DEFAULT_AWS_POLICY, PasswordPolicy, password_violations
from iamledger.domain.errors import (
    AuthenticationFailedError,
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    InvalidUserTypeError,
    NoSuchEntityError,
    PasswordPolicyViolationError,
    ValidationError,
)
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"
GOOD = "Correct-Horse-9"


def as_user(name: str) -> AuditContext:
    return AuditContext(actor=f"arn:aws:iam::{ACCOUNT}:user/{name}", request_id=AuditContext.new_request_id())


# -- pure rules ----------------------------------------------------------------------------------------------------


def test_the_default_policy_wants_eight_characters_and_three_classes():
    assert [] == password_violations(None, "abcdEF12")
    assert ["Password should have a minimum length of 8"] == password_violations(None, "aB1!")[:1]
    assert password_violations(None, "abcdefgh12")  # two classes only
    assert [] == password_violations(None, "abcdefg!1")
    assert DEFAULT_AWS_POLICY.minimum_password_length == 8


def test_a_custom_policy_names_every_missing_class():
    policy = PasswordPolicy(
        minimum_password_length=10,
        require_symbols=True,
        require_numbers=True,
        require_uppercase_characters=True,
        require_lowercase_characters=True,
    )
    assert [
        "Password should have a minimum length of 10",
        "Password should have at least one uppercase letter",
        "Password should have at least one number",
        "Password should have at least one symbol",
    ] == password_violations(policy, "abc")
    assert [] == password_violations(policy, "Abcdefgh1'")


# -- login profiles ------------------------------------------------------------------------------------------------


def test_login_profile_lifecycle_in_boto3_shapes(iam: IdentityStore):
    iam.create_user(UserName="alice")
    created = iam.create_login_profile(UserName="alice", Password=GOOD, PasswordResetRequired=True)
    assert_output_shape("iam", "CreateLoginProfile", created)
    assert created["LoginProfile"]["PasswordResetRequired"] is True
    got = iam.get_login_profile(UserName="ALICE")
    assert_output_shape("iam", "GetLoginProfile", got)
    assert "alice" == got["LoginProfile"]["UserName"]
    assert 0 == got["LoginProfile"]["CreateDate"].microsecond

    with pytest.raises(EntityAlreadyExistsError, match="Login Profile for User alice already exists."):
        iam.create_login_profile(UserName="alice", Password=GOOD)
    with pytest.raises(DeleteConflictError, match="must delete login profile first"):
        iam.delete_user(UserName="alice")

    assert {} == iam.update_login_profile(UserName="alice", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is False
    iam.delete_login_profile(UserName="alice")
    with pytest.raises(NoSuchEntityError, match="Login Profile for User alice cannot be found."):
        iam.get_login_profile(UserName="alice")
    iam.delete_user(UserName="alice")


def test_login_profile_of_an_unknown_user_is_no_such_entity(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError, match="The user with name ghost cannot be found."):
        iam.create_login_profile(UserName="ghost", Password=GOOD)


def test_passwords_are_checked_against_the_default_policy(iam: IdentityStore):
    iam.create_user(UserName="alice")
    with pytest.raises(PasswordPolicyViolationError) as caught:
        iam.create_login_profile(UserName="alice", Password="short")
    assert "PasswordPolicyViolation" == caught.value.code
    assert 400 == caught.value.http_status
    assert "minimum length of 8" in caught.value.message
    with pytest.raises(NoSuchEntityError):
        iam.get_login_profile(UserName="alice")


def test_a_password_out_of_the_allowed_characters_is_a_validation_error(iam: IdentityStore):
    iam.create_user(UserName="alice")
    with pytest.raises(ValidationError, match="at 'password' failed to satisfy constraint"):
        iam.create_login_profile(UserName="alice", Password="Snow\u2603man-123")


# -- password policy -----------------------------------------------------------------------------------------------


def test_password_policy_is_not_a_partial_update(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError, match=f"The Password Policy with domain name {ACCOUNT} cannot be found."):
        iam.get_account_password_policy()
    iam.update_account_password_policy(
        MinimumPasswordLength=12, RequireSymbols=True, MaxPasswordAge=90, PasswordReusePrevention=3, HardExpiry=True
    )
    policy = iam.get_account_password_policy()
    assert_output_shape("iam", "GetAccountPasswordPolicy", policy)
    assert {
        "MinimumPasswordLength": 12,
        "RequireSymbols": True,
        "RequireNumbers": False,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "ExpirePasswords": True,
        "MaxPasswordAge": 90,
        "PasswordReusePrevention": 3,
        "HardExpiry": True,
    } == policy["PasswordPolicy"]

    iam.update_account_password_policy(RequireNumbers=True)
    assert {
        "MinimumPasswordLength": 6,
        "RequireSymbols": False,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "ExpirePasswords": False,
    } == iam.get_account_password_policy()["PasswordPolicy"]

    iam.update_account_password_policy(MaxPasswordAge=90)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert (True, 90, False) == (policy["ExpirePasswords"], policy["MaxPasswordAge"], policy["HardExpiry"])

    iam.delete_account_password_policy()
    with pytest.raises(
        NoSuchEntityError, match="operation: The account policy with name PasswordPolicy cannot be found.$"
    ):
        iam.delete_account_password_policy()


def test_policy_limits_are_validation_errors(iam: IdentityStore):
    with pytest.raises(ValidationError, match="greater than or equal to 6"):
        iam.update_account_password_policy(MinimumPasswordLength=5)
    with pytest.raises(ValidationError, match="less than or equal to 24"):
        iam.update_account_password_policy(PasswordReusePrevention=25)


def test_a_custom_policy_replaces_the_default_rules(iam: IdentityStore):
    iam.update_account_password_policy(MinimumPasswordLength=6)
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="simple")  # fine under the custom policy
    iam.update_account_password_policy(MinimumPasswordLength=6, RequireUppercaseCharacters=True)
    with pytest.raises(PasswordPolicyViolationError, match="Password should have at least one uppercase letter"):
        iam.update_login_profile(UserName="alice", Password="simple2")


# -- ChangePassword ------------------------------------------------------------------------------------------------


def test_change_password_acts_for_the_calling_user(iam: IdentityStore):
    iam.update_account_password_policy(AllowUsersToChangePassword=True, PasswordReusePrevention=2)
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=GOOD, PasswordResetRequired=True)
    with bound_audit_context(as_user("alice")):
        with pytest.raises(IdentityStoreError) as caught:
            iam.change_password(OldPassword="wrong-one", NewPassword="Another-Pass-1")
        assert "AccessDenied" == caught.value.code
        with pytest.raises(PasswordPolicyViolationError, match="password reuse prevention"):
            iam.change_password(OldPassword=GOOD, NewPassword=GOOD)
        assert {} == iam.change_password(OldPassword=GOOD, NewPassword="Another-Pass-1")
        with pytest.raises(PasswordPolicyViolationError, match="password reuse prevention"):
            iam.change_password(OldPassword="Another-Pass-1", NewPassword=GOOD)  # one of the last two
        iam.change_password(OldPassword="Another-Pass-1", NewPassword="Third-Pass-1")
        iam.change_password(OldPassword="Third-Pass-1", NewPassword=GOOD)  # three ago: allowed again
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] is False
    assert "alice" == iam.authenticate_password(ACCOUNT, "alice", GOOD)["UserName"]


def test_change_password_is_for_iam_users_only(iam: IdentityStore):
    with pytest.raises(InvalidUserTypeError) as caught:
        iam.change_password(OldPassword="a", NewPassword="b")
    assert "InvalidUserType" == caught.value.code


# -- sign-in -------------------------------------------------------------------------------------------------------


def test_sign_in_returns_a_console_session(iam: IdentityStore):
    iam.create_user(UserName="alice", Path="/eng/")
    iam.create_login_profile(UserName="alice", Password=GOOD)
    session = iam.authenticate_password(ACCOUNT, "Alice", GOOD)
    assert f"arn:aws:iam::{ACCOUNT}:user/eng/alice" == session["Arn"]
    assert ACCOUNT == session["Account"]
    assert session["PasswordResetRequired"] is False
    assert session["PasswordExpired"] is False
    assert timedelta(hours=11) < session["Expiration"] - iam.clock() <= timedelta(hours=12)


def test_sign_in_failures_look_alike_and_are_reported(iam: IdentityStore, monkeypatch: pytest.MonkeyPatch):
    incidents: list[dict[str, object]] = []
    monkeypatch.setattr(iam, "record_security_incident", lambda kind, **d: incidents.append({"kind": kind, **d}))
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="alice", Password=GOOD)
    messages = []
    for user, password in (("alice", "Wrong-Pass-1"), ("nobody", GOOD), ("bob", GOOD)):
        with pytest.raises(AuthenticationFailedError) as caught:
            iam.authenticate_password(ACCOUNT, user, password)
        messages.append(caught.value.message)
    assert {"The user name or password is incorrect."} == set(messages)
    assert ["alice", "HIDDEN_DUE_TO_SECURITY_REASONS", "bob"] == [i["user_name"] for i in incidents]
    assert {"SignInFailed"} == {i["kind"] for i in incidents}


def test_expired_passwords(iam: IdentityStore, monkeypatch: pytest.MonkeyPatch):
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=GOOD)
    iam.update_account_password_policy(MaxPasswordAge=30)
    later = iam.clock() + timedelta(days=31)
    monkeypatch.setattr(iam, "clock", lambda: later)
    assert iam.authenticate_password(ACCOUNT, "alice", GOOD)["PasswordExpired"] is True
    with bound_audit_context(as_user("alice")):  # an expired password may be changed without a permission
        iam.change_password(OldPassword=GOOD, NewPassword="Fresh-Pass-2")
    monkeypatch.undo()
    assert iam.authenticate_password(ACCOUNT, "alice", "Fresh-Pass-2")["PasswordExpired"] is False

    iam.update_account_password_policy(MaxPasswordAge=30, HardExpiry=True)
    monkeypatch.setattr(iam, "clock", lambda: later)
    with pytest.raises(AuthenticationFailedError, match="only be reset by an administrator"):
        iam.authenticate_password(ACCOUNT, "alice", "Fresh-Pass-2")


def test_events_carry_no_password_and_no_hash(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=GOOD)
    iam.update_login_profile(UserName="alice", Password="Second-Pass-2")
    topics = []
    for notification in iam.recorder.select_notifications(start=1, limit=10_000):
        topics.append(notification.topic)
        assert b"argon2" not in notification.state
        assert GOOD.encode() not in notification.state
        assert b"Second-Pass-2" not in notification.state
    assert "iamledger.domain.users:User.LoginProfileCreated" in topics
    assert "iamledger.domain.users:User.LoginProfileUpdated" in topics


# -- CLI -----------------------------------------------------------------------------------------------------------


def test_cli_login_reads_the_password_from_stdin(capsys, store_url, monkeypatch):
    import io

    with IdentityStore.open(store_url) as store:
        store.init(ACCOUNT)
        store.create_user(UserName="alice")
        store.create_login_profile(UserName="alice", Password=GOOD, PasswordResetRequired=True)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{GOOD}\nBrand-New-Pass-3\n"))
    result = run(capsys, "--db", store_url, "login", "--user-name", "alice", "--password-stdin")
    assert 0 == result.exit_code, result.stderr
    session = json.loads(result.stdout)
    assert f"arn:aws:iam::{ACCOUNT}:user/alice" == session["Arn"]
    assert session["PasswordResetRequired"] is False
    assert GOOD not in result.stdout + result.stderr

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{GOOD}\n"))
    failed = run(capsys, "--db", store_url, "login", "--user-name", "alice", "--password-stdin")
    assert 254 == failed.exit_code
    assert "(AuthenticationFailed)" in failed.stderr
    assert "The user name or password is incorrect." in failed.stderr
