"""The client address the endpoint uses (``aws:SourceIp`` and the trail's ``sourceIPAddress``): the TCP peer's,
unless ``iamledger serve --forwarded-allow-ips`` names the peer as a proxy, whose ``X-Forwarded-For`` is then read
from the right. A client cannot choose its own address by sending a forwarding header.

Each scenario runs the real ``iamledger serve`` command as a subprocess (on PostgreSQL with ``--workers 2``, so the
setting reaches the worker processes too) and signs with real boto3 clients; the header is added after signing, as
a proxy adds it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from iamledger import IdentityStore
from iamledger.server.app import FORWARDED_ALLOW_IPS_ENV
from iamledger.server.proxies import TrustedProxies
from tests.clirunner import run
from tests.test_server_scaleout import free_port, start, stop

ACCOUNT = "123456789012"
FORGED = "10.20.30.40"
ONLY_FROM_TEN = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:CreateUser",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
)


@dataclass
class Caller:
    """A user whose only policy allows ``iam:CreateUser`` from ``10.0.0.0/8``, and the endpoint it calls."""

    store_url: str
    url: str
    key_id: str
    secret: str

    def create_user(self, name: str, headers: dict[str, str]) -> tuple[str, str]:
        """``CreateUser`` with ``headers`` added to the signed request (as a proxy adds them): the outcome (``"ok"``
        or the error code) and the request id."""
        iam = boto3.client(
            "iam",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            config=Config(retries={"max_attempts": 1}),
        )

        def add_headers(request: Any, **_: Any) -> None:
            for header, value in headers.items():
                request.headers[header] = value

        # before-send: after the signature, so the headers are not signed, as with a real proxy.
        iam.meta.events.register("before-send.iam.CreateUser", add_headers)
        try:
            response = iam.create_user(UserName=name)
        except iam.exceptions.ClientError as error:
            return error.response["Error"]["Code"], error.response["ResponseMetadata"]["RequestId"]
        return "ok", response["ResponseMetadata"]["RequestId"]

    def recorded_source(self, request_id: str) -> str:
        """The ``sourceIPAddress`` of the trail's record of ``request_id``."""
        with IdentityStore.open(self.store_url, create=False) as store:
            store.projector.catch_up()
            events = store.lookup_events(MaxResults=50)["Events"]
        records = [json.loads(event["CloudTrailEvent"]) for event in events]
        (record,) = [r for r in records if r["requestID"] == request_id and r["eventName"] == "CreateUser"]
        source: str = record["sourceIPAddress"]
        return source


@pytest.fixture
def prepared(store_url: str, backend: str) -> tuple[str, list[str], dict[str, str]]:
    """The store with the IP-bound user; ``serve``'s own arguments; the user's key."""
    with IdentityStore.open(store_url) as store:
        store.init(ACCOUNT)
        store.create_user(UserName="ipbound")
        store.put_user_policy(UserName="ipbound", PolicyName="only-from-ten", PolicyDocument=ONLY_FROM_TEN)
        key = store.create_access_key(UserName="ipbound")["AccessKey"]
    workers = ["--workers", "2"] if backend == "postgres" else []
    return store_url, workers, key


@contextmanager
def serving(prepared: tuple[str, list[str], dict[str, str]], *options: str) -> Iterator[Caller]:
    """``iamledger --db STORE serve OPTIONS`` as a subprocess on a free loopback port."""
    store_url, workers, key = prepared
    port = free_port()
    process = start("--db", store_url, "serve", "--port", str(port), *workers, *options, port=port)
    try:
        yield Caller(store_url, f"http://127.0.0.1:{port}", key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        errors = stop(process)
        assert "Traceback" not in errors, errors


FORWARDING_HEADERS = [
    {"X-Forwarded-For": FORGED},
    {"Forwarded": f"for={FORGED}"},
    {"X-Real-IP": FORGED},
    {"X-Forwarded-For": FORGED, "Forwarded": f'for="{FORGED}";proto=http', "X-Real-IP": FORGED},
]


@pytest.mark.slow
def test_by_default_no_forwarding_header_changes_the_source_address(prepared):
    with serving(prepared) as caller:
        for i, headers in enumerate(FORWARDING_HEADERS):
            outcome, request_id = caller.create_user(f"forged-{i}", headers)
            assert outcome == "AccessDenied", headers
            assert caller.recorded_source(request_id) == "127.0.0.1", headers


@pytest.mark.slow
def test_a_named_proxy_s_x_forwarded_for_gives_the_client_address(prepared):
    with serving(prepared, "--forwarded-allow-ips", "192.0.2.1, 127.0.0.1") as caller:
        outcome, request_id = caller.create_user("via-proxy", {"X-Forwarded-For": FORGED})
        assert outcome == "ok"
        assert caller.recorded_source(request_id) == FORGED

        # Read from the right: the rightmost address that is not a named proxy is the client's; what the client
        # itself put further left (here an address it would like to be taken for) is not believed.
        outcome, request_id = caller.create_user("spoofing", {"X-Forwarded-For": f"{FORGED}, 198.51.100.7"})
        assert outcome == "AccessDenied"
        assert caller.recorded_source(request_id) == "198.51.100.7"
        outcome, request_id = caller.create_user("two-proxies", {"X-Forwarded-For": f"{FORGED}:5123, 192.0.2.1"})
        assert outcome == "ok"
        assert caller.recorded_source(request_id) == FORGED

        # Only X-Forwarded-For is read: a proxy's Forwarded or X-Real-IP is not.
        for i, headers in enumerate(FORWARDING_HEADERS[1:3]):
            outcome, request_id = caller.create_user(f"other-header-{i}", headers)
            assert outcome == "AccessDenied", headers
            assert caller.recorded_source(request_id) == "127.0.0.1", headers


@pytest.mark.slow
def test_a_peer_that_is_not_a_named_proxy_is_not_believed(prepared):
    with serving(prepared, "--forwarded-allow-ips", "192.0.2.0/24,2001:db8::1") as caller:
        outcome, request_id = caller.create_user("not-via-proxy", {"X-Forwarded-For": FORGED})
        assert outcome == "AccessDenied"
        assert caller.recorded_source(request_id) == "127.0.0.1"


def test_the_option_refuses_what_is_not_an_address_or_network(capsys):
    for value in ("localhost", "10.0.0.1/8", "127.0.0.1,nonsense", "10.0.0.0/33"):
        result = run(capsys, "serve", "--ephemeral", "--port", "0", "--forwarded-allow-ips", value)
        assert result.exit_code == 2, value
        assert "Invalid value for '--forwarded-allow-ips'" in result.stderr, value
        assert "is not an IP" in result.stderr, value


@pytest.mark.slow
def test_no_environment_variable_makes_serve_trust_a_proxy(prepared, monkeypatch):
    """uvicorn reads ``$FORWARDED_ALLOW_IPS`` for its own proxy-headers middleware, which ``serve`` leaves out; and
    the variable ``serve --workers`` hands its workers is set from the option, not inherited."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv(FORWARDED_ALLOW_IPS_ENV, "127.0.0.1")
    with serving(prepared) as caller:
        outcome, request_id = caller.create_user("forged", {"X-Forwarded-For": FORGED})
        assert outcome == "AccessDenied"
        assert caller.recorded_source(request_id) == "127.0.0.1"


# --- the rule, address by address ----------------------------------------------------------------------------------


def client_of(allow: str, peer: str | None, *forwarded_for: str) -> str | None:
    proxies = TrustedProxies.parse(allow)
    assert proxies is not None
    return proxies.client_address(peer, [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for])


@pytest.mark.parametrize(
    ("allow", "peer", "forwarded_for", "client"),
    [
        # The peer is not a named proxy: its address, whatever the header says.
        ("10.0.0.1", "127.0.0.1", ["10.20.30.40"], "127.0.0.1"),
        ("10.0.0.0/8", "11.0.0.1", ["10.20.30.40"], "11.0.0.1"),
        ("10.0.0.1", None, ["10.20.30.40"], None),
        # A named proxy without the header, or with an empty one: the proxy's own address.
        ("127.0.0.1", "127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1", [""], "127.0.0.1"),
        # The rightmost address that is not a named proxy.
        ("127.0.0.1", "127.0.0.1", ["10.20.30.40"], "10.20.30.40"),
        ("127.0.0.1", "127.0.0.1", ["1.1.1.1, 10.20.30.40"], "10.20.30.40"),
        ("127.0.0.1,10.9.0.0/16", "127.0.0.1", ["1.1.1.1, 10.20.30.40, 10.9.1.2"], "10.20.30.40"),
        ("127.0.0.1,10.9.0.0/16", "127.0.0.1", ["1.1.1.1", "10.20.30.40", "10.9.1.2"], "10.20.30.40"),  # 3 lines
        # Every address a named proxy: the leftmost, the first proxy the request reached.
        ("127.0.0.1,10.9.0.0/16", "127.0.0.1", ["10.9.0.1, 10.9.1.2"], "10.9.0.1"),
        # Ports and IPv6 forms are understood; the address is given in its canonical form.
        ("127.0.0.1", "127.0.0.1", ["10.20.30.40:5123"], "10.20.30.40"),
        ("127.0.0.1", "127.0.0.1", ["2001:DB8::0:1"], "2001:db8::1"),
        ("127.0.0.1", "127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", "127.0.0.1", ["[2001:db8::1]"], "2001:db8::1"),
        ("127.0.0.1", "127.0.0.1", ["::ffff:10.20.30.40"], "10.20.30.40"),
        ("::1", "::1", ["10.20.30.40"], "10.20.30.40"),
        ("127.0.0.1", "::ffff:127.0.0.1", ["10.20.30.40"], "10.20.30.40"),  # a dual-stack socket's IPv4 peer
        # An entry that is not an address ends the walk: the last address vouched for stands.
        ("127.0.0.1", "127.0.0.1", ["10.20.30.40, unknown"], "127.0.0.1"),
        ("127.0.0.1,10.9.0.0/16", "127.0.0.1", ["10.20.30.40, garbage, 10.9.1.2"], "10.9.1.2"),
        ("127.0.0.1", "127.0.0.1", ["10.20.30.40,"], "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1", ["[2001:db8::1"], "127.0.0.1"),
        # "*": any peer is a proxy, but no address in the header is: its rightmost address.
        ("*", "203.0.113.9", ["1.1.1.1, 10.20.30.40"], "10.20.30.40"),
        ("*", None, ["10.20.30.40"], None),
        ("*,10.9.0.0/16", "203.0.113.9", ["1.1.1.1, 10.20.30.40, 10.9.1.2"], "10.20.30.40"),
    ],
)
def test_the_client_address_rule(allow: str, peer: str | None, forwarded_for: list[str], client: str | None):
    assert client_of(allow, peer, *forwarded_for) == client


def test_no_proxies_named_is_no_resolver():
    assert TrustedProxies.parse(None) is None
    assert TrustedProxies.parse("") is None
    assert TrustedProxies.parse(" ") is None
    with pytest.raises(ValueError, match="10.0.0.1/8"):
        TrustedProxies.parse("10.0.0.1/8")
