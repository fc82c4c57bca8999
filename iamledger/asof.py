"""``store.at(moment)``: the store as it was at a moment of its history, read-only.

The view answers the store's read operations (``get_*``, ``list_*``, ``simulate_principal_policy``, ...) with the
same parameters and shapes, from the temporal rows of the views (``valid_from <= P < valid_to``), not by replaying the
log. Reads that no view holds (a user's login profile, the account password policy) load the aggregate at the
version it had at the position. Conditions on ``aws:CurrentTime`` and the validity of temporary credentials are
judged at the moment's time. The caller is authorized against the *current* policies: seeing history is a permission
of today. A ``NoSuchEntity`` says the moment it answered at (``... cannot be found. As of 2026-11-01T00:00:00+00:00
(position 0), before the store's first event.``), and an account that did not exist yet then is ``NoSuchEntity``
too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from iamledger.client_errors import reword
from iamledger.domain.errors import NoSuchEntityError
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.engine.timeindex import Moment

if TYPE_CHECKING:
    from iamledger.store import IdentityStore

_as_of_time: ContextVar[datetime | None] = ContextVar("iamledger_as_of_time", default=None)

WRITE_PREFIXES: Final = ("get_session_token", "get_caller_identity", "get_federation_token")


def as_of_time() -> datetime | None:
    """The time a read is bound to by :class:`StoreAsOf`, or ``None`` for now."""
    return _as_of_time.get()


@contextmanager
def reading_as_of(moment: Moment) -> Iterator[None]:
    """Bind the position and the time of ``moment`` for every read in this block."""
    token = _as_of_time.set(moment.time)
    try:
        with reading_at(moment.position):
            yield
    finally:
        _as_of_time.reset(token)


def is_read_operation(name: str) -> bool:
    """Whether a store method is a read that :class:`StoreAsOf` answers."""
    if name.startswith(WRITE_PREFIXES):
        return False
    return name.startswith(("get_", "list_")) or name in {"simulate_principal_policy", "simulate_custom_policy"}


class StoreAsOf:
    """A read-only view of a store at one moment; see the module docstring. ``position`` and ``time`` say which."""

    def __init__(self, store: IdentityStore, moment: Moment) -> None:
        self._store = store
        self.moment = moment

    @property
    def position(self) -> int:
        """The notification id the answers are computed at."""
        return self.moment.position

    @property
    def time(self) -> datetime:
        """The time the answers describe."""
        return self.moment.time

    def __repr__(self) -> str:
        return f"<StoreAsOf position={self.position} time={self.time.isoformat()}>"

    def described(self) -> str:
        """The moment in words, for the message of a ``NoSuchEntity`` it answered (``As of
        2026-11-01T00:00:00+00:00 (position 0), before the store's first event.``): the answer is about then."""
        before = ", before the store's first event" if self.position == 0 else ""
        return f"As of {self.time.isoformat()} (position {self.position}){before}."

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if not is_read_operation(name):
            raise AttributeError(f"{name!r} is not a read operation: a view of the past is read-only")
        method = getattr(self._store, name)

        def read(*args: Any, **kwargs: Any) -> Any:
            try:
                with reading_as_of(self.moment):
                    return method(*args, **kwargs)
            except NoSuchEntityError as error:
                reword(error, f"{error.message} {self.described()}")
                raise

        read.__name__ = name
        read.__doc__ = method.__doc__
        return read

    def __dir__(self) -> list[str]:
        return sorted({"position", "time", "moment"} | {n for n in dir(self._store) if is_read_operation(n)})
