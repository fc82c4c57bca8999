"""structlog, configured once at the entry point: console lines on a terminal, JSON lines otherwise.

Standard-library loggers (SQLAlchemy, eventsourcing) are rendered by the same chain. A processor drops every field
whose name looks like a secret, wherever it comes from, so a password or secret key can never reach a log line.
A logged exception shows its type, message and traceback, never its frames' local variables: a local of any name
may hold a request's password or a decrypted key, which no field-name rule would catch.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from iamledger.context import merge_audit_context

SECRET_FIELD: Final = re.compile(
    r"(secret|password|passwd|token|credential|private[_-]?key|master[_-]?key)", re.IGNORECASE
)
REDACTED_FIELDS_KEY: Final = "redacted_fields"

LogFormat = Literal["auto", "console", "json"]


def drop_secret_fields(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Remove every field named like a secret (``secret_access_key``, ``password``, ``session_token``...)."""
    dropped = [key for key in event_dict if SECRET_FIELD.search(key)]
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict[REDACTED_FIELDS_KEY] = sorted(dropped)
    return event_dict


def shared_processors() -> list[Processor]:
    """The processors both structlog and standard-library records go through, first to last."""
    return [
        structlog.contextvars.merge_contextvars,
        merge_audit_context,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        drop_secret_fields,
    ]


def exception_without_locals() -> Processor:
    """``exc_info`` as a structured traceback (type, message, and each frame's file, line and function), as
    structlog's ``dict_tracebacks``, but without the frames' local variables, which that one includes."""
    return structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))


def configure_logging(*, level: str = "WARNING", log_format: LogFormat = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's root logger; call once per process, at the entry point."""
    stream = stream or sys.stderr
    use_console = log_format == "console" or (log_format == "auto" and stream.isatty())
    renderer: Processor
    if use_console:
        # The standard library's traceback text, always: structlog's default is rich's (or better-exceptions')
        # traceback whenever that package is installed, and it prints every frame's locals.
        renderer = structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    else:
        renderer = structlog.processors.JSONRenderer()
    pre_chain = shared_processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([] if use_console else [exception_without_locals()]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *pre_chain,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger over the standard-library logger ``name``.

    Until :func:`configure_logging` runs (as the CLI does at start), records go to the standard library's logging,
    which a library user configures as they wish and which is silent below WARNING by default: importing iamledger
    never prints.
    """
    return structlog.wrap_logger(logging.getLogger(name))
