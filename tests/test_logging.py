"""structlog configured at the entry point: JSON lines off a terminal, stdlib loggers routed, secrets dropped."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from iamledger import AuditContext
from iamledger.context import bound_audit_context
from iamledger.logconfig import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _reset_logging():
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_log_lines_are_json_when_not_on_a_terminal_and_carry_the_audit_context():
    stream = io.StringIO()
    configure_logging(level="INFO", stream=stream)
    ctx = AuditContext(actor="arn:aws:iam::111111111111:root", request_id="req-1", source_ip="127.0.0.1")
    with bound_audit_context(ctx):
        get_logger("iamledger.test").info("user_created", user_name="alice")

    (line,) = _lines(stream)
    assert line["event"] == "user_created"
    assert line["user_name"] == "alice"
    assert line["request_id"] == "req-1"
    assert ctx.actor == line["actor"]
    assert line["level"] == "info"
    assert "timestamp" in line


def test_fields_named_like_secrets_are_dropped():
    stream = io.StringIO()
    configure_logging(level="INFO", stream=stream)
    get_logger("iamledger.test").info(
        "key_created", secret_access_key="s3cr3t-value", password="hunter2", session_token="tok-value", key_id="AKIA1"
    )
    text = stream.getvalue()
    for secret in ("s3cr3t-value", "hunter2", "tok-value"):
        assert secret not in text
    (line,) = _lines(stream)
    assert line["key_id"] == "AKIA1"
    assert line["redacted_fields"] == ["password", "secret_access_key", "session_token"]


def test_standard_library_loggers_go_through_the_same_chain():
    stream = io.StringIO()
    configure_logging(level="INFO", stream=stream)
    logging.getLogger("sqlalchemy.engine").warning("from the stdlib")
    (line,) = _lines(stream)
    assert line["event"] == "from the stdlib"
    assert line["logger"] == "sqlalchemy.engine"


def test_the_level_filters_lines():
    stream = io.StringIO()
    configure_logging(level="WARNING", stream=stream)
    get_logger("iamledger.test").info("hidden")
    get_logger("iamledger.test").warning("shown")
    assert [line["event"] for line in _lines(stream)] == ["shown"]


def test_console_format_when_asked():
    stream = io.StringIO()
    configure_logging(level="INFO", log_format="console", stream=stream)
    get_logger("iamledger.test").info("hello", who="world")
    text = stream.getvalue()
    assert "hello" in text
    assert "who=world" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_importing_and_using_the_library_prints_nothing(capsys, store):
    store.init("111111111111")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ""


def test_a_context_acting_as_another_actor_keeps_every_other_field():
    import dataclasses

    ctx = AuditContext(
        actor="arn:aws:iam::123456789012:root",
        request_id="r-1",
        access_key_id="AKIAEXAMPLE",
        source_ip="192.0.2.7",
        user_agent="aws-cli/2",
    )
    owner = "arn:aws:iam::123456789012:user/ann"
    assert ctx.acting_as(owner) == dataclasses.replace(ctx, actor=owner)
    with bound_audit_context(ctx) as bound, bound_audit_context(bound.acting_as(owner)) as inner:
        assert inner.actor == owner
    assert {f.name for f in dataclasses.fields(AuditContext)} == {
        "actor",
        "request_id",
        "access_key_id",
        "source_ip",
        "user_agent",
    }  # a new field must be carried by acting_as too
