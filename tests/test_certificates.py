"""SSH public keys, signing certificates and server certificates: validation as AWS does it, quotas, DeleteUser's
conflicts, the private key that is never kept, the audit trail, time travel, authorization, the CLI and boto3 over
the endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    LimitExceededError,
    NoSuchEntityError,
)
from iamledger.store import IdentityStore
from tests.clirunner import run
from tests.test_server import Endpoint, endpoint, error_of  # noqa: F401 - the endpoint fixture

ACCOUNT = "123456789012"
EXPIRY = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ssh_public(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def certificate(key: Any, name: str = "example.com", not_after: datetime = EXPIRY) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(IdentityStoreError) as caught:
        call(**kwargs)
    return caught.value.code


# -- SSH public keys ------------------------------------------------------------------------------------------------


def test_ssh_public_keys(iam: IdentityStore) -> None:
    iam.create_user(UserName="alice")
    key = rsa_key()
    body = ssh_public(key) + " alice@laptop"
    uploaded = iam.upload_ssh_public_key(UserName="alice", SSHPublicKeyBody=body)["SSHPublicKey"]
    key_id = uploaded["SSHPublicKeyId"]
    assert key_id.startswith("APKA")
    assert len(key_id) == 20
    assert uploaded["Status"] == "Active"
    assert uploaded["SSHPublicKeyBody"] == body
    assert len(uploaded["Fingerprint"].split(":")) == 16
    got = iam.get_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    listed = iam.list_ssh_public_keys(UserName="alice")["SSHPublicKeys"]
    assert [k["SSHPublicKeyId"] for k in listed] == [key_id]
    assert "SSHPublicKeyBody" not in listed[0]
    assert code_of(iam.upload_ssh_public_key, UserName="alice", SSHPublicKeyBody=body) == "DuplicateSSHPublicKey"
    iam.update_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id, Status="Inactive")
    got = iam.get_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive"
    with pytest.raises(DeleteConflictError, match="SSH public keys"):
        iam.delete_user(UserName="alice")
    iam.delete_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id)
    with pytest.raises(NoSuchEntityError, match=f"The Public Key with id {key_id} cannot be found."):
        iam.get_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id, Encoding="SSH")
    iam.delete_user(UserName="alice")


def test_ssh_public_keys_are_validated(iam: IdentityStore) -> None:
    iam.create_user(UserName="bob")
    upload = iam.upload_ssh_public_key
    assert code_of(upload, UserName="bob", SSHPublicKeyBody=ssh_public(rsa_key(1024))) == "InvalidPublicKey"
    assert code_of(upload, UserName="bob", SSHPublicKeyBody="ssh-rsa AAAAnotbase64!") == "InvalidPublicKey"
    ec_key = ssh_public(ec.generate_private_key(ec.SECP256R1()))
    assert code_of(upload, UserName="bob", SSHPublicKeyBody=ec_key) == "UnrecognizedPublicKeyEncoding"
    cert = certificate(rsa_key())
    assert code_of(upload, UserName="bob", SSHPublicKeyBody=cert) == "InvalidPublicKey"
    assert code_of(upload, UserName="nobody", SSHPublicKeyBody=ssh_public(rsa_key())) == "NoSuchEntity"
    pem = (
        rsa_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=pem.decode())
    for _ in range(4):
        iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=ssh_public(rsa_key()))
    with pytest.raises(LimitExceededError, match="PublicKeysPerUser: 5"):
        iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=ssh_public(rsa_key()))


# -- signing certificates -------------------------------------------------------------------------------------------


def test_signing_certificates(iam: IdentityStore) -> None:
    iam.create_user(UserName="carol")
    first, second = certificate(rsa_key()), certificate(rsa_key())
    cert = iam.upload_signing_certificate(UserName="carol", CertificateBody=first)["Certificate"]
    assert cert["Status"] == "Active"
    assert cert["CertificateBody"] == first
    assert code_of(iam.upload_signing_certificate, UserName="carol", CertificateBody=first) == "DuplicateCertificate"
    iam.upload_signing_certificate(UserName="carol", CertificateBody=second)
    with pytest.raises(LimitExceededError, match="Cannot exceed quota for CertificatesPerUser: 2"):
        iam.upload_signing_certificate(UserName="carol", CertificateBody=certificate(rsa_key()))
    assert code_of(iam.upload_signing_certificate, UserName="carol", CertificateBody="notacert") == (
        "MalformedCertificate"
    )
    iam.update_signing_certificate(UserName="carol", CertificateId=cert["CertificateId"], Status="Inactive")
    listed = iam.list_signing_certificates(UserName="carol")["Certificates"]
    assert (listed[0]["CertificateId"], listed[0]["Status"]) == (cert["CertificateId"], "Inactive")
    with pytest.raises(DeleteConflictError, match="signing certificates"):
        iam.delete_user(UserName="carol")
    with pytest.raises(NoSuchEntityError, match=f"The Certificate with id {'x' * 32} cannot be found."):
        iam.update_signing_certificate(UserName="carol", CertificateId="x" * 32, Status="Inactive")
    with pytest.raises(NoSuchEntityError, match="The user with name nobody cannot be found."):
        iam.list_signing_certificates(UserName="nobody")
    for c in listed:
        iam.delete_signing_certificate(UserName="carol", CertificateId=c["CertificateId"])
    iam.delete_user(UserName="carol")


def test_signing_certificates_of_the_root_user(iam: IdentityStore) -> None:
    body = certificate(rsa_key())
    assert iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"] == 0
    cert = iam.upload_signing_certificate(CertificateBody=body)["Certificate"]
    assert cert["UserName"] == "root"
    assert iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"] == 1
    assert [c["CertificateId"] for c in iam.list_signing_certificates()["Certificates"]] == [cert["CertificateId"]]
    iam.update_signing_certificate(CertificateId=cert["CertificateId"], Status="Inactive")
    record = json.loads(iam.lookup_events()["Events"][0]["CloudTrailEvent"])
    assert (record["eventName"], record["requestParameters"]["userName"]) == ("UpdateSigningCertificate", "root")
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    assert iam.list_signing_certificates()["Certificates"] == []
    assert iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"] == 0


def test_signing_certificates_of_the_calling_user(endpoint: Endpoint) -> None:  # noqa: F811
    root = endpoint.client("iam")
    root.create_user(UserName="dave")
    root.put_user_policy(
        UserName="dave",
        PolicyName="self",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["iam:UploadSigningCertificate", "iam:ListSigningCertificates"],
                        "Resource": f"arn:aws:iam::{ACCOUNT}:user/dave",
                    }
                ],
            }
        ),
    )
    key = root.create_access_key(UserName="dave")["AccessKey"]
    dave = endpoint.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    body = certificate(rsa_key())
    uploaded = dave.upload_signing_certificate(CertificateBody=body)["Certificate"]
    assert uploaded["UserName"] == "dave"
    assert [c["CertificateId"] for c in dave.list_signing_certificates()["Certificates"]] == [uploaded["CertificateId"]]
    code, status, message = error_of(dave.delete_signing_certificate, CertificateId=uploaded["CertificateId"])
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:DeleteSigningCertificate on resource: arn:aws:iam::{ACCOUNT}:user/dave" in message


# -- server certificates --------------------------------------------------------------------------------------------


def test_server_certificates(iam: IdentityStore) -> None:
    key = rsa_key()
    body, chain = certificate(key), certificate(rsa_key(), "ca.example.com")
    uploaded = iam.upload_server_certificate(
        ServerCertificateName="web",
        CertificateBody=body,
        PrivateKey=private_pem(key),
        CertificateChain=chain,
        Path="/cloudfront/",
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    metadata = uploaded["ServerCertificateMetadata"]
    assert metadata["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/cloudfront/web"
    assert metadata["ServerCertificateId"].startswith("ASCA")
    assert metadata["Expiration"] == EXPIRY
    assert uploaded["Tags"] == [{"Key": "env", "Value": "prod"}]
    got = iam.get_server_certificate(ServerCertificateName="WEB")["ServerCertificate"]
    assert got["CertificateBody"] == body
    assert got["CertificateChain"] == chain
    assert "PrivateKey" not in json.dumps(got, default=str)
    with pytest.raises(EntityAlreadyExistsError):
        iam.upload_server_certificate(ServerCertificateName="Web", CertificateBody=body, PrivateKey=private_pem(key))
    assert [
        m["ServerCertificateName"]
        for m in iam.list_server_certificates(PathPrefix="/cloud")["ServerCertificateMetadataList"]
    ] == ["web"]
    assert iam.list_server_certificates(PathPrefix="/other/")["ServerCertificateMetadataList"] == []
    iam.update_server_certificate(ServerCertificateName="web", NewServerCertificateName="web2", NewPath="/elb/")
    moved = iam.get_server_certificate(ServerCertificateName="web2")["ServerCertificate"]["ServerCertificateMetadata"]
    assert moved["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/elb/web2"
    assert moved["ServerCertificateId"] == metadata["ServerCertificateId"]
    with pytest.raises(NoSuchEntityError, match="The Server Certificate with name web cannot be found."):
        iam.get_server_certificate(ServerCertificateName="web")
    iam.tag_server_certificate(ServerCertificateName="web2", Tags=[{"Key": "team", "Value": "edge"}])
    iam.untag_server_certificate(ServerCertificateName="web2", TagKeys=["env"])
    assert iam.list_server_certificate_tags(ServerCertificateName="web2")["Tags"] == [{"Key": "team", "Value": "edge"}]
    assert iam.get_account_summary()["SummaryMap"]["ServerCertificates"] == 1
    iam.delete_server_certificate(ServerCertificateName="web2")
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []
    assert iam.get_account_summary()["SummaryMap"]["ServerCertificates"] == 0
    with pytest.raises(NoSuchEntityError):
        iam.delete_server_certificate(ServerCertificateName="web2")


def test_server_certificate_uploads_are_validated(iam: IdentityStore) -> None:
    key = rsa_key()
    body = certificate(key)
    upload = iam.upload_server_certificate
    assert code_of(upload, ServerCertificateName="a", CertificateBody="certbody", PrivateKey="privatekey") == (
        "MalformedCertificate"
    )
    assert code_of(upload, ServerCertificateName="a", CertificateBody=body, PrivateKey="privatekey") == (
        "MalformedCertificate"
    )
    other = private_pem(rsa_key())
    assert code_of(upload, ServerCertificateName="a", CertificateBody=body, PrivateKey=other) == "KeyPairMismatch"
    assert (
        code_of(
            upload, ServerCertificateName="a", CertificateBody=body, PrivateKey=private_pem(key), CertificateChain="x"
        )
        == "MalformedCertificate"
    )
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []


def test_no_private_key_is_kept_and_the_trail_records_every_call(iam: IdentityStore) -> None:
    key = rsa_key()
    secret = private_pem(key)
    iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=certificate(key), PrivateKey=secret)
    with pytest.raises(IdentityStoreError):  # a failed upload is recorded without its private key
        iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=certificate(key), PrivateKey=secret)
    iam.create_user(UserName="erin")
    iam.upload_ssh_public_key(UserName="erin", SSHPublicKeyBody=ssh_public(rsa_key()))
    cert_id = iam.upload_signing_certificate(UserName="erin", CertificateBody=certificate(rsa_key()))["Certificate"][
        "CertificateId"
    ]
    iam.update_signing_certificate(UserName="erin", CertificateId=cert_id, Status="Inactive")
    iam.update_server_certificate(ServerCertificateName="web", NewPath="/x/")
    iam.delete_server_certificate(ServerCertificateName="web")
    body_line = secret.splitlines()[1]
    stored = [repr(n.state) for n in iam.recorder.select_notifications(start=1, limit=10_000)]
    events = iam.lookup_events(MaxResults=50)["Events"]
    text = "\n".join(stored + [json.dumps(e, default=str) for e in events])
    assert body_line not in text
    assert "PRIVATE KEY" not in text
    with iam.engine.connect() as conn:
        from sqlalchemy import text as sql

        vault = conn.execute(sql("SELECT count(*) FROM iamledger_vault WHERE kind LIKE '%cert%'")).scalar()
    assert vault == 0
    names = [e["EventName"] for e in events]
    for name in (
        "UploadServerCertificate",
        "UploadSSHPublicKey",
        "UploadSigningCertificate",
        "UpdateSigningCertificate",
        "UpdateServerCertificate",
        "DeleteServerCertificate",
    ):
        assert name in names
    failed = next(json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "UploadServerCertificate")
    assert failed.get("errorCode") == "EntityAlreadyExists"
    assert "privateKey" not in failed["requestParameters"]
    upload = next(json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "UploadSigningCertificate")
    assert upload["requestParameters"]["userName"] == "erin"
    assert upload["responseElements"]["certificate"]["certificateId"] == cert_id


def test_time_travel(iam: IdentityStore) -> None:
    iam.create_user(UserName="fay")
    key_id = iam.upload_ssh_public_key(UserName="fay", SSHPublicKeyBody=ssh_public(rsa_key()))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    key = rsa_key()
    iam.upload_server_certificate(
        ServerCertificateName="web", CertificateBody=certificate(key), PrivateKey=private_pem(key)
    )
    position = iam.at("0m").position
    iam.delete_ssh_public_key(UserName="fay", SSHPublicKeyId=key_id)
    iam.delete_server_certificate(ServerCertificateName="web")
    past = iam.at(position)
    assert [k["SSHPublicKeyId"] for k in past.list_ssh_public_keys(UserName="fay")["SSHPublicKeys"]] == [key_id]
    assert [m["ServerCertificateName"] for m in past.list_server_certificates()["ServerCertificateMetadataList"]] == [
        "web"
    ]
    assert iam.list_ssh_public_keys(UserName="fay")["SSHPublicKeys"] == []


def test_cli(store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    assert run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code == 0
    key = rsa_key()
    (tmp_path / "cert.pem").write_text(certificate(key))
    (tmp_path / "key.pem").write_text(private_pem(key))
    out = run(
        capsys,
        "--db",
        store_url,
        "iam",
        "upload-server-certificate",
        "--server-certificate-name",
        "cli",
        "--certificate-body",
        f"file://{tmp_path / 'cert.pem'}",
        "--private-key",
        f"file://{tmp_path / 'key.pem'}",
    )
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["ServerCertificateMetadata"]["ServerCertificateName"] == "cli"
    listed = run(capsys, "--db", store_url, "iam", "list-server-certificates")
    assert [m["ServerCertificateName"] for m in json.loads(listed.stdout)["ServerCertificateMetadataList"]] == ["cli"]


def test_boto3_over_the_endpoint(endpoint: Endpoint) -> None:  # noqa: F811
    client = endpoint.client("iam")
    key = rsa_key()
    client.upload_server_certificate(
        ServerCertificateName="web", CertificateBody=certificate(key), PrivateKey=private_pem(key)
    )
    got = client.get_server_certificate(ServerCertificateName="web")["ServerCertificate"]
    assert got["ServerCertificateMetadata"]["Expiration"] == EXPIRY
    code, status, message = error_of(client.get_server_certificate, ServerCertificateName="nope")
    assert (code, status, message) == ("NoSuchEntity", 404, "The Server Certificate with name nope cannot be found.")
    device = client.create_virtual_mfa_device(VirtualMFADeviceName="phone")["VirtualMFADevice"]
    assert device["QRCodePNG"].startswith(b"\x89PNG")
    assert len(device["Base32StringSeed"]) == 32
    client.create_user(UserName="gus")
    from iamledger.domain.mfa import time_step, totp

    seed = device["Base32StringSeed"].decode()
    step = time_step(datetime.now(UTC))
    client.enable_mfa_device(
        UserName="gus",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp(seed, step - 1),
        AuthenticationCode2=totp(seed, step),
    )
    assert client.list_mfa_devices(UserName="gus")["MFADevices"][0]["SerialNumber"] == device["SerialNumber"]
    code, status, _ = error_of(client.delete_user, UserName="gus")
    assert (code, status) == ("DeleteConflict", 409)
    client.upload_ssh_public_key(UserName="gus", SSHPublicKeyBody=ssh_public(rsa_key()))
    assert len(client.list_ssh_public_keys(UserName="gus")["SSHPublicKeys"]) == 1
