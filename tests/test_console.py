"""The audit console over HTTP, without a browser: sign-in, the session cookie, refusals, bad input, and that no
secret reaches a page or the server's log. A real ``iamledger serve`` (and ``iamledger console``) over the quickstart
account (tests/console_support.py); the browser walk is tests/test_console_browser.py."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.requests import Request
from starlette.responses import Response

from iamledger.server.console.app import Console
from iamledger.server.console.session import (
    COOKIE_NAME,
    ConsoleSession,
    CookieCodec,
    derive_cookie_key,
)
from iamledger.server.store_holder import StoreHolder
from iamledger.store import IdentityStore
from tests.console_support import (
    ACCOUNT,
    MFA_PASSWORD,
    NOBODY_PASSWORD,
    PASSWORD,
    ConsoleAccount,
    Served,
    build_account,
    current_code,
    http,
    serving,
)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> ConsoleAccount:
    return build_account(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def server(account: ConsoleAccount) -> Iterator[Served]:
    with serving(account) as served:
        yield served


def sign_in(server: Served, user: str = "aa-auditor", password: str = PASSWORD, **extra: str) -> str:
    """The session cookie's ``name=value`` after a password sign-in."""
    form = {"method": "password", "account_id": ACCOUNT, "user_name": user, "password": password, **extra}
    status, headers, _, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 303, (status, headers)
    session = next(c for c in cookies if c.startswith(f"{COOKIE_NAME}="))
    return session.split(";", 1)[0]


def get(server: Served, path: str, cookie: str | None) -> tuple[int, dict[str, str], str]:
    status, headers, body, _ = http("GET", f"{server.base}{path}", headers={"Cookie": cookie} if cookie else {})
    return status, headers, body


def test_pages_need_a_session_and_sign_in_sets_a_strict_http_only_cookie(server: Served) -> None:
    status, headers, _ = get(server, "/console/events?username=root", None)
    assert status == 303
    assert headers["location"] == "/console/signin?next=%2Fconsole%2Fevents%3Fusername%3Droot"
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-auditor", "password": PASSWORD}
    form["next"] = "/console/events?username=root"
    status, headers, _, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 303
    assert headers["location"] == "/console/events?username=root"
    [session] = [c for c in cookies if c.startswith(f"{COOKIE_NAME}=")]
    flags = [part.strip().lower() for part in session.split(";")[1:]]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console/" in flags
    assert any(flag.startswith("expires=") for flag in flags)
    assert "secure" not in flags  # served over plain http here; see the https test below
    status, _, body = get(server, "/console/", session.split(";", 1)[0])
    assert status == 200 and "arn:aws:iam::200611803367:user/aa-auditor" in body
    assert PASSWORD not in body


def test_wrong_password_unknown_user_and_open_redirects_are_refused(server: Served) -> None:
    for user, password in (("aa-auditor", "wrong-password"), ("no-such-user", PASSWORD)):
        form = {"method": "password", "account_id": ACCOUNT, "user_name": user, "password": password}
        status, _, body, cookies = http("POST", f"{server.base}/console/signin", data=form)
        assert status == 401
        assert "The user name or password is incorrect." in body
        assert password not in body and not cookies
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-auditor", "password": PASSWORD}
    for target in ("https://evil.example/", "//evil.example/console/", "/console//evil.example"):
        status, headers, _, _ = http("POST", f"{server.base}/console/signin", data={**form, "next": target})
        assert status == 303 and headers["location"] == "/console/"


def test_a_forged_or_altered_cookie_is_no_session(server: Served) -> None:
    cookie = sign_in(server)
    value = cookie.split("=", 1)[1]
    body, mac = value.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["a"] = f"arn:aws:iam::{ACCOUNT}:root"  # claim to be the root user, keeping the signature
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    for bad in (f"{forged}.{mac}", f"{body}.{mac[:-2]}AA", "garbage", f"{body}", "a.b.c"):
        status, headers, _ = get(server, "/console/", f"{COOKIE_NAME}={bad}")
        assert status == 303 and headers["location"].startswith("/console/signin")
    other_key = CookieCodec(derive_cookie_key(b"\x00" * 32))  # a key that is not the store's
    session = ConsoleSession(
        f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, None, "password", datetime.now(UTC) + timedelta(hours=1)
    )
    status, _, _ = get(server, "/console/", f"{COOKIE_NAME}={other_key.session_cookie(session)}")
    assert status == 303


def test_a_user_without_list_permissions_is_refused_with_aws_message(server: Served) -> None:
    cookie = sign_in(server, "aa-nobody", NOBODY_PASSWORD)
    status, _, body = get(server, "/console/", cookie)
    assert status == 403
    assert "AccessDenied" in body
    assert f"User: arn:aws:iam::{ACCOUNT}:user/aa-nobody is not authorized to perform: iam:ListUsers" in body
    for path in ("/console/events", "/console/verify", "/console/timeline?kind=user&name=aa-nobody"):
        status, _, body = get(server, path, cookie)
        assert status == 403 and "cloudtrail:LookupEvents" in body, path


def test_mfa_user_needs_a_fresh_code(server: Served, account: ConsoleAccount) -> None:
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-mfa-user", "password": MFA_PASSWORD}
    status, headers, _, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 303 and headers["location"].startswith("/console/mfa")
    assert not any(c.startswith(f"{COOKIE_NAME}=") for c in cookies)  # no session before the code
    pending = next(c for c in cookies if c.startswith("iamledger_console_mfa=")).split(";", 1)[0]
    status, _, body, cookies = http(
        "POST", f"{server.base}/console/mfa", data={"mfa_code": "000000"}, headers={"Cookie": pending}
    )
    assert status == 401 and "Your authentication information is incorrect" in body and not cookies
    code = current_code(account.mfa_seed)
    status, _, _, cookies = http(
        "POST", f"{server.base}/console/mfa", data={"mfa_code": code}, headers={"Cookie": pending}
    )
    assert status == 303 and any(c.startswith(f"{COOKIE_NAME}=") for c in cookies)
    status, _, body, _ = http(
        "POST", f"{server.base}/console/mfa", data={"mfa_code": code}, headers={"Cookie": pending}
    )
    assert status == 401  # the same code is never accepted twice


def test_access_key_sign_in_and_a_wrong_secret(server: Served, account: ConsoleAccount) -> None:
    form = {"method": "access-key", "access_key_id": account.access_key_id, "secret_access_key": "x" * 40}
    status, _, body, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 403 and "SignatureDoesNotMatch" not in body and "signature" in body.lower() and not cookies
    form["secret_access_key"] = account.secret_access_key
    status, _, body, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 303 and account.secret_access_key not in body
    cookie = next(c for c in cookies if c.startswith(f"{COOKIE_NAME}=")).split(";", 1)[0]
    status, _, body = get(server, "/console/", cookie)
    assert status == 200 and "access-key" in body


def test_cross_site_posts_are_refused(server: Served) -> None:
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-auditor", "password": PASSWORD}
    for header in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"}):
        status, _, _, cookies = http("POST", f"{server.base}/console/signin", data=form, headers=header)
        assert status == 403 and not cookies
    status, _, _, cookies = http("POST", f"{server.base}/console/signin", data=form, headers={"Origin": server.base})
    assert status == 303 and cookies
    status, _, _, _ = http("POST", f"{server.base}/console/signout", headers={"Origin": "https://evil.example"})
    assert status == 403


@pytest.mark.parametrize(
    "path",
    [
        "/console/?at=not-a-time",
        "/console/?at=99999999",
        "/console/timeline?kind=bogus&name=x",
        "/console/timeline?kind=user&name=no-such-user",
        "/console/access?principal=not-an-arn&action=s3:GetObject",
        "/console/diff?from=later-than-ever",
        "/console/events?max=5000",
        "/console/escalation?principal=arn:aws:iam::200611803367:user/aa-auditor&max_depth=99",
        "/console/escalation?principal=not-an-arn",
        "/console/events?next=forged-token",
        "/console/events?start=yesterday-ish",
        "/console/list/users?marker=%00%ff",
        "/console/no-such-page",
        "/console/timeline?name=" + quote("x" * 5000),
        "/console/?at=99999999d",  # before year 1
        "/console/who-can?action=x",  # no action (the policy language's error)
        "/console/who-can?action=s3:*",
        "/console/access?principal=arn:aws:iam::200611803367:user/aa-auditor&action=s3:GetObject&from=9999-12-31",
        "/console/events?end=99999999d",
    ],
)
def test_bad_input_is_a_clear_4xx_page(server: Served, path: str) -> None:
    status, _, body = get(server, path, sign_in(server))
    assert 400 <= status < 500, (status, body[-600:])
    assert 'role="alert"' in body


def test_a_relative_moment_becomes_the_exact_time_in_the_url(server: Served) -> None:
    status, headers, _ = get(server, "/console/list/users?at=1h", sign_in(server))
    assert status == 303
    assert headers["location"].startswith("/console/list/users?at=20")


def test_no_secret_in_the_server_log(server: Served, account: ConsoleAccount) -> None:
    sign_in(server)
    http(
        "POST",
        f"{server.base}/console/signin",
        data={"method": "password", "user_name": "aa-auditor", "password": "Wrong-Secret-1"},
    )
    form = {
        "method": "access-key",
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    http("POST", f"{server.base}/console/signin", data=form)
    log = server.log()
    assert "console_signed_in" in log
    for secret in (PASSWORD, "Wrong-Secret-1", account.secret_access_key, account.mfa_seed):
        assert secret not in log


def test_the_cookie_is_secure_over_https(account: ConsoleAccount) -> None:
    with IdentityStore.open(account.url, create=False) as store:
        console = Console(StoreHolder(lambda: store))
        scope = {
            "type": "http",
            "scheme": "https",
            "method": "POST",
            "path": "/console/signin",
            "headers": [],
            "server": ("console.example", 443),
        }
        response = Response()
        console.set_cookie(response, Request(scope), COOKIE_NAME, "value", datetime.now(UTC) + timedelta(hours=1))
        assert "secure" in response.headers["set-cookie"].lower()
        key = console.codec(store)
        assert (
            key.session(
                key.session_cookie(ConsoleSession("a", "b", None, "password", datetime.now(UTC) + timedelta(hours=1))),
                datetime.now(UTC),
            )
            is not None
        )
        assert "key" not in repr(key).replace("<key hidden>", "")


def test_iamledger_console_serves_the_console_alone(account: ConsoleAccount) -> None:
    with serving(account, "console", "--port", "0") as served:
        status, _, _ = get(served, "/console/", sign_in(served))
        assert status == 200
        status, _, _, _ = http("GET", f"{served.base}/?Action=ListUsers")
        assert status == 307  # no IAM endpoint here: / leads to the console


def test_the_account_id_may_be_left_out_when_one_account_has_the_user(server: Served) -> None:
    form = {"method": "password", "account_id": "", "user_name": "aa-auditor", "password": PASSWORD}
    status, _, _, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 303 and any(c.startswith(f"{COOKIE_NAME}=") for c in cookies)
    form["account_id"] = "012345678901"  # the store's default account (iamledger init's), which has no such user
    status, _, body, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert status == 401 and "The user name or password is incorrect." in body and not cookies


@pytest.mark.parametrize(
    "form",
    [
        {"method": "password", "account_id": "not-an-account", "user_name": "aa-auditor", "password": PASSWORD},
        {"method": "password"},
        {"method": "access-key", "access_key_id": "AKIA" + "X" * 16, "secret_access_key": "s"},
        {"method": "something-else"},
        {},
    ],
)
def test_bad_sign_in_forms_are_4xx_pages(server: Served, form: dict[str, str]) -> None:
    status, _, body, cookies = http("POST", f"{server.base}/console/signin", data=form)
    assert 400 <= status < 500 and 'role="alert"' in body and not cookies


def test_an_ephemeral_endpoint_serves_the_console_to_its_root_key(account: ConsoleAccount) -> None:
    key, secret = "AKIAEPHEMERALCONSOLE", "ephemeral-console-secret-0123456789abcdef"
    args = ("serve", "--ephemeral", "--port", "0", "--access-key-id", key, "--secret-access-key", secret)
    with serving(account, *args) as served:
        form = {"method": "access-key", "access_key_id": key, "secret_access_key": secret}
        status, _, _, cookies = http("POST", f"{served.base}/console/signin", data=form)
        assert status == 303
        cookie = next(c for c in cookies if c.startswith(f"{COOKIE_NAME}=")).split(";", 1)[0]
        status, _, body = get(served, "/console/", cookie)
        assert status == 200 and "arn:aws:iam::123456789012:root" in body
        assert secret not in served.log()


def test_a_failed_sign_in_is_in_the_trail_with_the_client_address(server: Served) -> None:
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-auditor", "password": "Not-It-42!"}
    http("POST", f"{server.base}/console/signin", data=form, headers={"User-Agent": "console-test-agent"})
    status, _, body = get(server, "/console/events?event_name=ConsoleLogin&username=aa-auditor", sign_in(server))
    assert status == 200
    assert "ConsoleLogin" in body and "127.0.0.1" in body and "console-test-agent" in body
    assert "Not-It-42!" not in body


def test_the_mfa_code_may_come_with_the_password(server: Served, account: ConsoleAccount) -> None:
    form = {"method": "password", "account_id": ACCOUNT, "user_name": "aa-mfa-user", "password": MFA_PASSWORD}
    status, _, body, cookies = http("POST", f"{server.base}/console/signin", data={**form, "mfa_code": "12345x"})
    assert status == 401 and "Your authentication information is incorrect" in body and not cookies
    code = current_code(account.mfa_seed, offset=1)  # a step ahead: later than any code this server accepted
    status, headers, _, cookies = http("POST", f"{server.base}/console/signin", data={**form, "mfa_code": code})
    assert status == 303 and headers["location"] == "/console/"
    assert any(c.startswith(f"{COOKIE_NAME}=") for c in cookies)


def _request(scheme: str, peer: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "console.example", **headers}.items()]
    scope = {
        "type": "http",
        "scheme": scheme,
        "method": "POST",
        "path": "/console/signin",
        "headers": raw,
        "client": (peer, 50000),
        "server": ("console.example", 80),
    }
    return Request(scope)


def test_behind_a_believed_tls_proxy_the_cookie_is_secure_and_the_origin_https(account: ConsoleAccount) -> None:
    from iamledger.server.proxies import TrustedProxies

    with IdentityStore.open(account.url, create=False) as store:
        console = Console(StoreHolder(lambda: store), TrustedProxies.parse("10.0.0.1"))
        forwarded = {"x-forwarded-proto": "https", "origin": "https://console.example"}
        proxied = _request("http", "10.0.0.1", forwarded)
        assert console.scheme(proxied) == "https" and console.same_origin(proxied)
        response = Response()
        console.set_cookie(response, proxied, COOKIE_NAME, "v", datetime.now(UTC) + timedelta(hours=1))
        assert "secure" in response.headers["set-cookie"].lower()
        stranger = _request("http", "192.0.2.7", forwarded)  # not a proxy: its header is not believed
        assert console.scheme(stranger) == "http" and not console.same_origin(stranger)


@pytest.mark.parametrize(
    "path",
    [
        "/console/?at=<script>alert(1)</script>",
        "/console/events?username=<script>alert(1)</script>",
        "/console/timeline?kind=user&name=<script>alert(1)</script>",
        "/console/who-can?action=s3:GetObject&resource=arn:aws:s3:::<script>alert(1)</script>",
        '/console/access?principal="><script>alert(1)</script>&action=s3:GetObject',
    ],
)
def test_what_the_url_says_is_shown_escaped(server: Served, path: str) -> None:
    status, _, body = get(server, path.replace("<", "%3C").replace(">", "%3E").replace('"', "%22"), sign_in(server))
    assert status < 500
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.postgres
def test_the_console_on_a_postgresql_store(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:20]}"
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    try:
        pg = build_account(tmp_path, f"{postgres_url}?schema={schema}")
        with serving(pg) as served:
            cookie = sign_in(served)
            for path in (
                "/console/",
                f"/console/list/users?at={pg.before_auditor}",
                "/console/timeline?kind=user&name=privesc-sre-user",
                "/console/events?event_name=RemoveUserFromGroup",
                "/console/verify",
            ):
                status, _, body = get(served, path, cookie)
                assert status == 200, (path, body[-500:])
    finally:
        engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_a_timeline_at_a_moment_leaves_out_later_refusals(server: Served, account: ConsoleAccount) -> None:
    nobody = sign_in(server, "aa-nobody", NOBODY_PASSWORD)
    assert get(server, "/console/", nobody)[0] == 403  # a refusal: recorded by time, at no log position
    auditor = sign_in(server)
    status, _, body = get(server, "/console/timeline?kind=user&name=aa-nobody", auditor)
    assert status == 200 and "ListUsers" in body
    status, _, body = get(
        server, f"/console/timeline?kind=user&name=aa-nobody&at={account.before_auditor + 8}", auditor
    )
    assert status == 200 and "CreateLoginProfile" in body and "ListUsers" not in body


def test_the_who_can_graph_links_each_principal_to_its_timeline_at_the_moment(server: Served) -> None:
    at = 634  # the quickstart's account just before it removes privesc-sre-user from its group (#635)
    resource = "arn:aws:s3:::payroll-exports/2026/11.csv"
    path = f"/console/who-can?action=s3:GetObject&resource={resource}&at={at}"
    status, _, body = get(server, path, sign_in(server))
    assert status == 200
    graph = body[body.index('<ul class="graph"') : body.index('id="who-can-principals"')]
    nodes = dict(re.findall(r'<a class="node node-(user|group|role)" href="([^"]+)"', graph)[::-1])
    assert set(nodes) == {"user", "group", "role"}  # one of each kind, at least, links to its timeline
    for kind, url in nodes.items():
        assert url.startswith(f"/console/timeline?kind={kind}&amp;name=") and url.endswith(f"&amp;at={at}"), url
    sre = f'href="/console/timeline?kind=user&amp;name=privesc-sre-user&amp;at={at}"'
    assert sre in graph  # still in its group at that moment: allowed through it
