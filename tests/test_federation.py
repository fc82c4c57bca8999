"""Identity providers and federated sessions: OpenID Connect and SAML providers (create, read, list, update, tags,
delete, with AWS's errors), AssumeRoleWithWebIdentity and AssumeRoleWithSAML (trust policy, provider, audience,
validity, the recorded session), through the library, the CLI and the endpoint (unsigned STS calls with boto3); on
every backend."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from iamledger import IdentityStore
from iamledger.domain.errors import (
    AccessDeniedError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    LimitExceededError,
    NoSuchEntityError,
    ValidationError,
)
from iamledger.domain.federation import SAMLRoleSession, WebIdentityRoleSession
from iamledger.projections.views.access_keys import find_access_key
from iamledger.server import StoreHolder, open_for_serving
from tests.clirunner import run
from tests.shapes import assert_output_shape
from tests.test_server import Endpoint, error_of, serving

ACCOUNT = "123456789012"
ISSUER = "https://token.example.com/idp"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.com/idp"
SAML_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/federated"
IDP_ENTITY = "https://idp.example.com/"
METADATA = (
    f'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP_ENTITY}" '
    'validUntil="2099-01-01T00:00:00Z">' + "<!-- padding -->" * 70 + "</EntityDescriptor>"
)


def _b64url(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def jwt(**claims: Any) -> str:
    """An (unsigned-looking) ID token with ``claims`` over sensible defaults."""
    body = {"iss": ISSUER, "sub": "user-1", "aud": "app", "exp": int(time.time()) + 600} | claims
    return f"{_b64url({'alg': 'RS256', 'kid': 'k1'})}.{_b64url(body)}.c2lnbmF0dXJl"


def saml(
    *,
    session: str | None = "alice",
    role: str = ROLE_ARN,
    provider: str = SAML_ARN,
    issuer: str = IDP_ENTITY,
    ends: datetime | None = None,
) -> str:
    """A base64 SAML response for ``role``/``provider`` with ``session`` as RoleSessionName."""
    end = (ends or datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    name = (
        f'<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">'
        f"<saml:AttributeValue>{session}</saml:AttributeValue></saml:Attribute>"
        if session
        else ""
    )
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        f"<saml:Issuer>{issuer}</saml:Issuer><saml:Assertion><saml:Issuer>{issuer}</saml:Issuer>"
        '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice-42'
        f'</saml:NameID><saml:SubjectConfirmation><saml:SubjectConfirmationData NotOnOrAfter="{end}" '
        'Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject>'
        f'<saml:Conditions NotOnOrAfter="{end}"/><saml:AttributeStatement>{name}'
        '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">'
        f"<saml:AttributeValue>{role},{provider}</saml:AttributeValue></saml:Attribute>"
        "</saml:AttributeStatement></saml:Assertion></samlp:Response>"
    )
    return base64.b64encode(xml.encode()).decode()


def trust(provider: str, action: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": action}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def oidc_setup(iam: IdentityStore, **condition: Any) -> None:
    iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["app"], ThumbprintList=["a" * 40])
    document = trust(OIDC_ARN, "sts:AssumeRoleWithWebIdentity", condition or None)
    iam.create_role(RoleName="federated", AssumeRolePolicyDocument=document)


def saml_setup(iam: IdentityStore) -> None:
    iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA)
    condition = {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    iam.create_role(RoleName="federated", AssumeRolePolicyDocument=trust(SAML_ARN, "sts:AssumeRoleWithSAML", condition))


def code_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(IdentityStoreError) as caught:
        call(**kwargs)
    return caught.value.code, caught.value.message


# -- OpenID Connect providers ---------------------------------------------------------------------------------------


def test_oidc_provider_lifecycle(iam: IdentityStore):
    created = iam.create_open_id_connect_provider(
        Url="https://Token.Example.com/idp/", ClientIDList=["app", "app"], Tags=[{"Key": "k", "Value": "v"}]
    )
    assert_output_shape("iam", "CreateOpenIDConnectProvider", created)
    assert created["OpenIDConnectProviderArn"] == OIDC_ARN

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert_output_shape("iam", "GetOpenIDConnectProvider", got)
    assert (got["Url"], got["ClientIDList"], got["ThumbprintList"]) == ("token.example.com/idp", ["app"], [])
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="cli")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="cli")  # idempotent
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="app")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="gone")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=OIDC_ARN, ThumbprintList=["b" * 40])
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, Tags=[{"Key": "K", "Value": "w"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, TagKeys=["k"])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert (got["ClientIDList"], got["ThumbprintList"]) == (["cli"], ["b" * 40])
    assert got["Tags"] == [{"Key": "K", "Value": "w"}]  # tag keys of providers are case-sensitive

    listed = iam.list_open_id_connect_providers()
    assert listed == {"OpenIDConnectProviderList": [{"Arn": OIDC_ARN}]}
    page = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=OIDC_ARN, MaxItems=1)
    assert page == {"Tags": [{"Key": "K", "Value": "w"}], "IsTruncated": False}

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)  # AWS: idempotent
    code, message = code_of(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=OIDC_ARN)
    assert (code, message) == ("NoSuchEntity", f"OpenIDConnect Provider not found for arn {OIDC_ARN}")
    assert iam.list_open_id_connect_providers() == {"OpenIDConnectProviderList": []}
    assert iam.create_open_id_connect_provider(Url=ISSUER)["OpenIDConnectProviderArn"] == OIDC_ARN  # name is free


@pytest.mark.parametrize(
    "url",
    ["example.org", "example", "http://example.org", "https://", "https://x.org/a?b=c", "https://x.org/#f", "ftp://x"],
)
def test_oidc_provider_url_must_be_an_https_issuer(iam: IdentityStore, url: str):
    with pytest.raises(ValidationError, match="Invalid Open ID Connect Provider URL"):
        iam.create_open_id_connect_provider(Url=url)
    assert iam.list_open_id_connect_providers() == {"OpenIDConnectProviderList": []}


def test_oidc_provider_limits_and_duplicates(iam: IdentityStore):
    with pytest.raises(ValidationError, match="Thumbprint list must contain fewer than 5 entries."):
        iam.create_open_id_connect_provider(Url=ISSUER, ThumbprintList=[c * 40 for c in "abcdef"])
    with pytest.raises(ValidationError, match="40 hexadecimal digits"):
        iam.create_open_id_connect_provider(Url=ISSUER, ThumbprintList=["z" * 40])
    with pytest.raises(LimitExceededError, match="Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"):
        iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=[str(i) for i in range(101)])
    with pytest.raises(ValidationError, match="3 validation errors detected"):
        iam.create_open_id_connect_provider(Url="b" * 256, ThumbprintList=["b" * 41], ClientIDList=["b" * 256])
    iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=[str(i) for i in range(100)])
    with pytest.raises(LimitExceededError):
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="one-too-many")
    with pytest.raises(EntityAlreadyExistsError, match=f"Provider with url {ISSUER} already exists."):
        iam.create_open_id_connect_provider(Url=ISSUER)
    fifty = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, Tags=fifty)
    with pytest.raises(LimitExceededError):  # AWS's quota: 50 tags per provider
        iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, Tags=[{"Key": "one-more", "Value": "v"}])
    with pytest.raises(NoSuchEntityError):
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN + "x", ClientID="a")
    # a different path is a different provider, and so is a path differing only in case
    iam.create_open_id_connect_provider(Url=ISSUER + "/Other")
    iam.create_open_id_connect_provider(Url=ISSUER + "/other")
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 3


# -- SAML providers -------------------------------------------------------------------------------------------------


def test_saml_provider_lifecycle(iam: IdentityStore):
    created = iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA, Tags=[{"Key": "k", "Value": "v"}])
    assert_output_shape("iam", "CreateSAMLProvider", created)
    assert created["SAMLProviderArn"] == SAML_ARN
    got = iam.get_saml_provider(SAMLProviderArn=SAML_ARN)
    assert_output_shape("iam", "GetSAMLProvider", got)
    assert got["SAMLMetadataDocument"] == METADATA
    assert got["ValidUntil"] == datetime(2099, 1, 1, tzinfo=UTC)
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]

    plain = "a" * 1024  # kept as given, even when it is no XML
    assert iam.update_saml_provider(SAMLProviderArn=SAML_ARN, SAMLMetadataDocument=plain) == {
        "SAMLProviderArn": SAML_ARN
    }
    got = iam.get_saml_provider(SAMLProviderArn=SAML_ARN)
    assert got["SAMLMetadataDocument"] == plain
    assert "ValidUntil" not in got
    listed = iam.list_saml_providers()["SAMLProviderList"]
    assert [p["Arn"] for p in listed] == [SAML_ARN]
    iam.tag_saml_provider(SAMLProviderArn=SAML_ARN, Tags=[{"Key": "x", "Value": "y"}])
    iam.untag_saml_provider(SAMLProviderArn=SAML_ARN, TagKeys=["k"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=SAML_ARN)["Tags"] == [{"Key": "x", "Value": "y"}]

    with pytest.raises(EntityAlreadyExistsError):
        iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA)
    with pytest.raises(ValidationError):
        iam.create_saml_provider(Name="Short", SAMLMetadataDocument="too short")
    iam.delete_saml_provider(SAMLProviderArn=SAML_ARN)
    assert iam.list_saml_providers() == {"SAMLProviderList": []}
    code, message = code_of(iam.delete_saml_provider, SAMLProviderArn=SAML_ARN)
    assert (code, message) == ("NoSuchEntity", f"Manifest not found for arn {SAML_ARN}")


# -- AssumeRoleWithWebIdentity --------------------------------------------------------------------------------------


def test_assume_role_with_web_identity_issues_a_role_session(iam: IdentityStore):
    oidc_setup(iam, StringEquals={"token.example.com/idp:aud": "app", "token.example.com/idp:sub": "user-1"})
    result = iam.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName="web", WebIdentityToken=jwt())
    assert_output_shape("sts", "AssumeRoleWithWebIdentity", result)
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/federated/web"
    assert (result["SubjectFromWebIdentityToken"], result["Provider"], result["Audience"]) == ("user-1", ISSUER, "app")
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")

    events = [e for e in iam.lookup_events()["Events"] if e["EventName"] == "AssumeRoleWithWebIdentity"]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["userIdentity"]["type"] == "WebIdentityUser"
    assert record["userIdentity"]["identityProvider"] == OIDC_ARN
    assert record["responseElements"]["iamledgerSignatureVerified"] is False
    text = json.dumps(record)
    assert result["Credentials"]["SecretAccessKey"] not in text
    assert result["Credentials"]["SessionToken"] not in text
    assert jwt().split(".")[1] not in text


def test_web_identity_refusals(iam: IdentityStore):
    oidc_setup(iam, StringEquals={"token.example.com/idp:sub": "user-1"})
    call = iam.assume_role_with_web_identity
    base = {"RoleArn": ROLE_ARN, "RoleSessionName": "web"}
    assert code_of(call, **base, WebIdentityToken="????")[0] == "InvalidIdentityToken"
    assert code_of(call, **base, WebIdentityToken=jwt(aud="other")) == (
        "InvalidIdentityToken",
        "Incorrect token audience",
    )
    assert code_of(call, **base, WebIdentityToken=jwt(iss="https://evil.example.com")) == (
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://evil.example.com",
    )
    assert code_of(call, **base, WebIdentityToken=jwt(exp=int(time.time()) - 5))[0] == "ExpiredTokenException"
    assert code_of(call, **base, WebIdentityToken=jwt(sub="user-2")) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
    missing = {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/missing", "RoleSessionName": "web"}
    assert code_of(call, **missing, WebIdentityToken=jwt())[0] == "AccessDenied"
    iam.create_role(RoleName="plain", AssumeRolePolicyDocument=trust(OIDC_ARN, "sts:AssumeRoleWithSAML"))
    with pytest.raises(AccessDeniedError):  # a role that trusts the provider for another action
        call(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/plain", RoleSessionName="web", WebIdentityToken=jwt())


def test_web_identity_failures_in_the_security_log(iam: IdentityStore):
    """A token refused is a failed attempt, recorded without the token; the trust policy's refusal is recorded once,
    as the denial it is; an input the model refuses is not recorded."""
    oidc_setup(iam, StringEquals={"token.example.com/idp:sub": "user-1"})
    call = iam.assume_role_with_web_identity
    base = {"RoleArn": ROLE_ARN, "RoleSessionName": "web"}
    assert code_of(call, **base, WebIdentityToken="????")[0] == "InvalidIdentityToken"
    assert code_of(call, **base, WebIdentityToken=jwt(sub="user-2"))[0] == "AccessDenied"
    assert code_of(call, RoleArn=ROLE_ARN, RoleSessionName="w", WebIdentityToken=jwt())[0] == "ValidationError"
    incidents = [(i.kind, i.action, i.error_code, i.request_parameters) for i in iam.security_log.incidents()]
    assert incidents == [
        ("OperationFailed", "sts:AssumeRoleWithWebIdentity", "InvalidIdentityToken", base),
        ("AccessDenied", "sts:AssumeRoleWithWebIdentity", None, None),
    ]


def test_built_in_web_identity_providers_need_no_registration(iam: IdentityStore):
    document = trust(
        "accounts.google.com", "sts:AssumeRoleWithWebIdentity", {"StringEquals": {"accounts.google.com:aud": "g"}}
    )
    iam.create_role(RoleName="federated", AssumeRolePolicyDocument=document)
    token = jwt(iss="https://accounts.google.com", aud="g")
    result = iam.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName="gg", WebIdentityToken=token)
    assert result["Provider"] == "https://accounts.google.com"


# -- AssumeRoleWithSAML ---------------------------------------------------------------------------------------------


def test_assume_role_with_saml_issues_a_role_session(iam: IdentityStore):
    saml_setup(iam)
    result = iam.assume_role_with_saml(RoleArn=ROLE_ARN, PrincipalArn=SAML_ARN, SAMLAssertion=saml())
    assert_output_shape("sts", "AssumeRoleWithSAML", result)
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/federated/alice"
    assert (result["Subject"], result["SubjectType"], result["Issuer"]) == ("alice-42", "persistent", IDP_ENTITY)
    assert result["Audience"] == "https://signin.aws.amazon.com/saml"
    assert result["NameQualifier"]  # BASE64(SHA1(issuer + account + "/Corp"))

    record = json.loads(
        next(e for e in iam.lookup_events()["Events"] if e["EventName"] == "AssumeRoleWithSAML")["CloudTrailEvent"]
    )
    assert record["userIdentity"]["type"] == "SAMLUser"
    assert record["requestParameters"]["principalArn"] == SAML_ARN
    assert "sAMLAssertion" not in record["requestParameters"]
    assert record["responseElements"]["iamledgerSignatureVerified"] is False


def test_federated_sessions_are_rebuilt_from_their_events(iam: IdentityStore, store_url: str):
    """A federated session's aggregate, read back from its stored event by another process: the role session's
    fields (RoleSession's constructor) and the provider's (its created event's apply)."""
    oidc_setup(iam, StringEquals={"token.example.com/idp:aud": "app"})
    web = iam.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName="web", WebIdentityToken=jwt())
    iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA)
    iam.update_assume_role_policy(RoleName="federated", PolicyDocument=trust(SAML_ARN, "sts:AssumeRoleWithSAML"))
    by_saml = iam.assume_role_with_saml(RoleArn=ROLE_ARN, PrincipalArn=SAML_ARN, SAMLAssertion=saml())
    iam.projector.catch_up()
    with IdentityStore.open(store_url) as other, other.engine.connect() as conn:
        loaded = {}
        for name, result in (("web", web), ("saml", by_saml)):
            row = find_access_key(conn, result["Credentials"]["AccessKeyId"])
            assert row is not None
            loaded[name] = other.repository.get(uuid.UUID(str(row["owner_uuid"])))
    assert isinstance(loaded["web"], WebIdentityRoleSession)
    assert (loaded["web"].arn, loaded["web"].assumed_role_id) == (
        web["AssumedRoleUser"]["Arn"],
        web["AssumedRoleUser"]["AssumedRoleId"],
    )
    assert (loaded["web"].provider, loaded["web"].provider_arn, loaded["web"].subject) == (
        "token.example.com/idp",
        OIDC_ARN,
        "user-1",
    )
    assert loaded["web"].signature_verified is False
    assert (loaded["web"].caller_arn, loaded["web"].chained, loaded["web"].tags) == (OIDC_ARN, False, [])
    assert isinstance(loaded["saml"], SAMLRoleSession)
    assert loaded["saml"].arn == by_saml["AssumedRoleUser"]["Arn"]
    assert (loaded["saml"].provider_arn, loaded["saml"].subject, loaded["saml"].issuer) == (
        SAML_ARN,
        "alice-42",
        IDP_ENTITY,
    )
    assert loaded["saml"].signature_verified is False
    assert loaded["saml"].expiration == by_saml["Credentials"]["Expiration"]


def test_saml_refusals(iam: IdentityStore):
    saml_setup(iam)
    call = iam.assume_role_with_saml
    base = {"RoleArn": ROLE_ARN, "PrincipalArn": SAML_ARN}
    assert code_of(call, **base, SAMLAssertion=base64.b64encode(b"<nope").decode())[0] == "InvalidIdentityToken"
    assert code_of(call, **base, SAMLAssertion=saml(session=None))[0] == "InvalidIdentityToken"
    expired = saml(ends=datetime.now(UTC) - timedelta(minutes=1))
    assert code_of(call, **base, SAMLAssertion=expired)[0] == "ExpiredTokenException"
    assert code_of(call, **base, SAMLAssertion=saml(issuer="https://other/"))[0] == "InvalidIdentityToken"
    other = f"arn:aws:iam::{ACCOUNT}:saml-provider/Other"
    assert code_of(call, RoleArn=ROLE_ARN, PrincipalArn=other, SAMLAssertion=saml(provider=other)) == (
        "InvalidIdentityToken",
        "Specified provider doesn't exist.",
    )
    wrong_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    assert code_of(call, **base, SAMLAssertion=saml(role=wrong_role))[0] == "AccessDenied"
    dtd = base64.b64encode(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>').decode()
    assert code_of(call, **base, SAMLAssertion=dtd)[0] == "InvalidIdentityToken"


# -- CLI ------------------------------------------------------------------------------------------------------------


def test_cli_manages_providers(capsys, store_url: str):
    assert run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code == 0
    created = run(
        capsys, "--db", store_url, "--output", "json", "iam", "create-open-id-connect-provider", "--url", ISSUER,
        "--client-id-list", "app", "cli",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["OpenIDConnectProviderArn"] == OIDC_ARN
    got = run(
        capsys, "--db", store_url, "--output", "json", "iam", "get-open-id-connect-provider",
        "--open-id-connect-provider-arn", OIDC_ARN,
    )  # fmt: skip
    assert json.loads(got.stdout)["ClientIDList"] == ["app", "cli"]
    bad = run(capsys, "--db", store_url, "iam", "create-open-id-connect-provider", "--url", "http://x.org")
    assert bad.exit_code != 0
    assert "Invalid Open ID Connect Provider URL" in bad.stderr
    made = run(
        capsys, "--db", store_url, "iam", "create-saml-provider", "--name", "Corp",
        "--saml-metadata-document", METADATA,
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    listed = run(capsys, "--db", store_url, "--output", "json", "iam", "list-saml-providers")
    assert [p["Arn"] for p in json.loads(listed.stdout)["SAMLProviderList"]] == [SAML_ARN]


# -- endpoint -------------------------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(store_url: str):
    with IdentityStore.open(store_url) as store:
        key = store.init(ACCOUNT)["AccessKey"]
    with serving(StoreHolder(lambda: open_for_serving(store_url))) as url:
        yield Endpoint(url, key["AccessKeyId"], key["SecretAccessKey"], store_url)


def unsigned_sts(endpoint: Endpoint):
    return boto3.client(
        "sts", endpoint_url=endpoint.url, region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )


def test_endpoint_serves_providers_and_unsigned_federation(endpoint: Endpoint):
    iam = endpoint.client("iam")
    arn = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["app"])["OpenIDConnectProviderArn"]
    assert arn == OIDC_ARN
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"] == "token.example.com/idp"
    assert error_of(iam.create_open_id_connect_provider, Url=ISSUER)[:2] == ("EntityAlreadyExists", 409)
    iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA)
    assert iam.list_saml_providers()["SAMLProviderList"][0]["Arn"] == SAML_ARN
    iam.create_role(RoleName="federated", AssumeRolePolicyDocument=trust(OIDC_ARN, "sts:AssumeRoleWithWebIdentity"))
    iam.create_role(RoleName="saml", AssumeRolePolicyDocument=trust(SAML_ARN, "sts:AssumeRoleWithSAML"))

    sts = unsigned_sts(endpoint)
    web = sts.assume_role_with_web_identity(RoleArn=ROLE_ARN, RoleSessionName="web", WebIdentityToken=jwt())
    assert web["SubjectFromWebIdentityToken"] == "user-1"
    saml_role = f"arn:aws:iam::{ACCOUNT}:role/saml"
    assertion = saml(role=saml_role)
    via_saml = sts.assume_role_with_saml(RoleArn=saml_role, PrincipalArn=SAML_ARN, SAMLAssertion=assertion)
    assert via_saml["Subject"] == "alice-42"
    assert error_of(sts.assume_role_with_web_identity, RoleArn=ROLE_ARN, RoleSessionName="ww", WebIdentityToken="????")[
        :2
    ] == ("InvalidIdentityToken", 400)

    # the session's credentials act as the role
    creds = web["Credentials"]
    caller = endpoint.client(
        "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).get_caller_identity()
    assert caller["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/federated/web"
    # other operations still need a signature
    assert error_of(unsigned_sts(endpoint).get_caller_identity)[0] == "MissingAuthenticationToken"


def test_provider_operations_are_authorized_on_the_provider_arn(endpoint: Endpoint):
    iam = endpoint.client("iam")
    iam.create_user(UserName="bob")
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*OpenIDConnectProvider*", "Resource": OIDC_ARN}],
    }
    iam.put_user_policy(UserName="bob", PolicyName="oidc", PolicyDocument=json.dumps(allow))
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    bob = endpoint.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert bob.create_open_id_connect_provider(Url=ISSUER)["OpenIDConnectProviderArn"] == OIDC_ARN
    code, status, message = error_of(bob.create_open_id_connect_provider, Url="https://elsewhere.example.com")
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::123456789012:oidc-provider/elsewhere" in message
    assert error_of(bob.list_saml_providers)[0] == "AccessDenied"
