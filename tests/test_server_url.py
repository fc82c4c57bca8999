"""The endpoint reads a request's URL as Starlette would (``URL(scope=scope)``), building the usual one directly, and
its form body as ``parse_qsl`` would."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import URL

from iamledger.server.app import _request_url
from iamledger.server.query_form import form_pairs

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


FORM_PIECES = ["Action", "a", "=", "&", "+", "%2B", "%41", "%C3%A9", "%ff", "%z", "%", "%2", ";", " ", "é", "\u3000"]


@given(st.lists(st.sampled_from(FORM_PIECES), max_size=16).map("".join))
def test_a_form_body_is_read_as_parse_qsl_reads_it(text: str):
    assert form_pairs(text) == parse_qsl(text, keep_blank_values=True)


def test_a_form_body_decodes_plus_and_escapes_only_where_present():
    body = "Action=CreateUser&Version=2010-05-08&UserName=a%2Bb&Path=%2Fteam+x%2F&Tags.member.1.Value="
    assert form_pairs(body) == [
        ("Action", "CreateUser"),
        ("Version", "2010-05-08"),
        ("UserName", "a+b"),
        ("Path", "/team x/"),
        ("Tags.member.1.Value", ""),
    ]
