"""The pytest plugin shipped with the package (iamledger/testing.py, docs/testing.md), used as a user would: a test
file of their own, run by pytest in a fresh process, asking for the fixtures and calling the endpoint with boto3."""

from __future__ import annotations

import pytest

pytest_plugins = ("pytester",)

USER_TESTS = """
import boto3
import pytest

urls = set()


def test_a_user_created_in_one_test(iam_client, iamledger_endpoint):
    urls.add(iamledger_endpoint.url)
    iam_client.create_user(UserName="alice")
    assert [u["UserName"] for u in iam_client.list_users()["Users"]] == ["alice"]
    assert iamledger_endpoint.health()["position"] > 0


def test_is_gone_in_the_next(iam_client, sts_client, iamledger_endpoint):
    urls.add(iamledger_endpoint.url)
    assert iam_client.list_users()["Users"] == []
    identity = sts_client.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{iamledger_endpoint.account_id}:root"
    assert iamledger_endpoint.account_id == "210987654321" and iamledger_endpoint.region == "eu-west-1"


def test_code_under_test_makes_its_own_client(iamledger_endpoint):
    urls.add(iamledger_endpoint.url)
    client = boto3.client(
        "iam",
        endpoint_url=iamledger_endpoint.url,
        region_name=iamledger_endpoint.region,
        aws_access_key_id=iamledger_endpoint.access_key_id,
        aws_secret_access_key=iamledger_endpoint.secret_access_key,
    )
    client.create_group(GroupName="admins")
    with pytest.raises(client.exceptions.NoSuchEntityException):
        client.get_user(UserName="alice")
    assert "secret_access_key" not in repr(iamledger_endpoint)
    assert iamledger_endpoint.secret_access_key not in repr(iamledger_endpoint)


def test_code_that_reads_the_environment(iamledger_endpoint, monkeypatch):
    # the recipe of docs/testing.md for code that builds its clients from the environment
    urls.add(iamledger_endpoint.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", iamledger_endpoint.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", iamledger_endpoint.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", iamledger_endpoint.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", iamledger_endpoint.region)
    assert boto3.client("iam").list_groups()["Groups"] == []  # the group of the previous test is gone
    assert boto3.client("sts").get_caller_identity()["Account"] == iamledger_endpoint.account_id


def test_a_read_only_user_cannot_create_users(iam_client, iamledger_endpoint):
    # the example of docs/testing.md: a user's own keys, authorized by its policies
    iam_client.create_user(UserName="auditor")
    iam_client.attach_user_policy(UserName="auditor", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    key = iam_client.create_access_key(UserName="auditor")["AccessKey"]
    auditor = boto3.client(
        "iam",
        endpoint_url=iamledger_endpoint.url,
        region_name=iamledger_endpoint.region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    assert [u["UserName"] for u in auditor.list_users()["Users"]] == ["auditor"]
    with pytest.raises(auditor.exceptions.ClientError, match="AccessDenied"):
        auditor.create_user(UserName="mallory")


def test_one_server_for_the_session():
    assert len(urls) == 1
"""


@pytest.mark.slow
def test_a_users_tests_get_a_fresh_endpoint_each(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\niamledger_account_id = 210987654321\niamledger_region = eu-west-1\n")
    pytester.makepyfile(test_my_code=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)


def test_the_plugin_starts_nothing_for_tests_that_do_not_ask(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_plain="""
        import subprocess

        def test_plain(request):
            assert "iamledger_server" not in request.fixturenames

        def test_no_server_was_started():
            out = subprocess.run(["ps", "-o", "args=", "--ppid", str(__import__("os").getpid())],
                                 capture_output=True, text=True).stdout
            assert "iamledger" not in out
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
    result.stdout.fnmatch_lines(["*iamledger_endpoint*", "*iam_client*", "*sts_client*"])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester):
    pytester.makepyfile(test_off="def test_off(iam_client):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:iamledger")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'iam_client' not found*"])
