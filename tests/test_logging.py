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


# --- exceptions: type, message and traceback, never frame locals ---------------------------------------------------

FAKE_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def _fails_with_a_secret_local() -> None:
    x = FAKE_SECRET  # an innocent name: no field-name rule can tell that it holds a secret
    raise RuntimeError(f"the operation failed after {len(x)} characters")


def _exception_logged(log_format: str, *, standard_library: bool) -> str:
    stream = io.StringIO()
    configure_logging(level="INFO", log_format=log_format, stream=stream)  # type: ignore[arg-type]
    try:
        _fails_with_a_secret_local()
    except RuntimeError:
        if standard_library:  # as SQLAlchemy or eventsourcing would log one
            logging.getLogger("sqlalchemy.pool").exception("failed")
        else:
            get_logger("iamledger.test").exception("endpoint_internal_error")
    return stream.getvalue()


def _assert_traceback_without_locals(log_format: str, text: str) -> None:
    assert FAKE_SECRET not in text
    if log_format == "json":
        (line,) = _lines(io.StringIO(text))
        (exception,) = line["exception"]
        assert exception["exc_type"] == "RuntimeError"
        assert exception["exc_value"] == f"the operation failed after {len(FAKE_SECRET)} characters"
        assert "_fails_with_a_secret_local" in [frame["name"] for frame in exception["frames"]]
        assert all("locals" not in frame for frame in exception["frames"])
    else:
        assert "Traceback (most recent call last):" in text
        assert ", in _fails_with_a_secret_local" in text
        assert f"RuntimeError: the operation failed after {len(FAKE_SECRET)} characters" in text


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_logged_exception_shows_its_traceback_but_no_local_variable(log_format: str):
    text = _exception_logged(log_format, standard_library=False)
    assert "endpoint_internal_error" in text
    _assert_traceback_without_locals(log_format, text)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_standard_library_logger_s_exception_shows_no_local_variable(log_format: str):
    text = _exception_logged(log_format, standard_library=True)
    assert "failed" in text
    _assert_traceback_without_locals(log_format, text)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_an_internal_error_of_the_endpoint_logs_no_request_parameter(log_format: str, tmp_path, monkeypatch):
    """A real request that fails inside the store (the database refuses to store a password): the log line names
    the error and where it happened, and not the password the request carried, which the frames' locals hold all
    along the call."""
    import sqlite3

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from iamledger import IdentityStore
    from iamledger.server import StoreHolder, open_for_serving
    from tests.test_server import serving

    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    database = tmp_path / "iamledger.db"
    url = f"sqlite:///{database}"
    with IdentityStore.open(url) as store:
        key = store.init("123456789012")["AccessKey"]
        store.create_user(UserName="alice")
    stream = io.StringIO()
    configure_logging(level="WARNING", log_format=log_format, stream=stream)  # type: ignore[arg-type]
    with serving(StoreHolder(lambda: open_for_serving(url))) as endpoint_url:
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"max_attempts": 1}),
        )
        with sqlite3.connect(database) as connection:
            connection.execute(
                "CREATE TRIGGER refuse_passwords BEFORE INSERT ON iamledger_vault WHEN NEW.secret_id LIKE 'password:%'"
                " BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END"
            )
        with pytest.raises(ClientError) as caught:
            iam.create_login_profile(UserName="alice", Password=FAKE_SECRET)
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    text = stream.getvalue()
    assert "endpoint_internal_error" in text
    assert "the disk refused the write" in text
    assert "IntegrityError" in text
    assert "create_login_profile" in text  # a frame of the traceback
    assert FAKE_SECRET not in text
    # The database error's own message leaves out the statement's parameters (here the vault row: the encrypted
    # password; elsewhere whatever a statement carries).
    assert "[parameters:" not in text
