"""The endpoint reads a request's URL as Starlette would (``URL(scope=scope)``), building the usual one directly."""

from __future__ import annotations

import pytest
from starlette.datastructures import URL

from iamledger.server.app import _request_url

HOSTS = [
    b"127.0.0.1:4566",
    b"localhost",
    b"iam.amazonaws.com",
    b"example.com:80",
    b"h:0",
    b"h:99999",
    b"[::1]:4566",
    b"bad host",
    b"h:",
    None,
]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("query", [b"", b"Action=GetUser&Version=2010-05-08&UserName=a%2Fb"])
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(("path", "root_path"), [("/", ""), ("/", "/proxy"), ("/other", "")])
def test_the_request_url_is_starlettes(host: bytes | None, query: bytes, scheme: str, path: str, root_path: str):
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if host is not None:
        headers.append((b"host", host))
    scope = {
        "type": "http",
        "path": path,
        "root_path": root_path,
        "query_string": query,
        "scheme": scheme,
        "headers": headers,
        "server": ("127.0.0.1", 4566),
    }
    assert _request_url(scope) == str(URL(scope=scope))
