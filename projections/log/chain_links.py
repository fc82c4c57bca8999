"""The links of the hash chain over the notification log: ``sha256(previous link || field(position) ||
field(originator id) || field(version) || field(topic) || field(state))`` over the stored event's bytes, each field its
length as 8 bytes big-endian then its bytes (the originator id as the 32 lowercase hex digits of the UUID, as the
SQLite recorder stores it); the genesis link is 32 zero bytes. :mod:`iamledger.projections.log.ledger` keeps and checks
the chain with them.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterable
from typing import Any, Final

GENESIS: Final = "0" * 64

_BYTES: Final = (bytes, bytearray, memoryview)


def _field(value: Any) -> bytes:
    if type(value) is bytes:
        data = value
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, _BYTES):
        data = bytes(value)
    elif isinstance(value, uuid.UUID):
        data = value.hex.encode()
    else:
        data = str(value).encode("utf-8", "surrogateescape")
    return len(data).to_bytes(8, "big") + data


def link(previous: str, position: int, originator_id: Any, version: Any, topic: Any, state: Any) -> str:
    """The chain link of one stored event, given the link before it.

    ``originator_id`` is a UUID (the recorders' notifications) or the stored text (a raw SQLite row: the same 32 hex
    digits); the other values are taken as stored, so a raw row and the recorder's notification give the same link.
    """
    seed = _seed(previous)
    fields = b"".join([_field(position), _field(originator_id), _field(version), _field(topic), _field(state)])
    return hashlib.sha256(seed + fields).hexdigest()


def _seed(previous: str) -> bytes:
    try:
        return bytes.fromhex(previous)
    except ValueError:  # a hand-edited checkpoint: it cannot match anything anyway
        return previous.encode("utf-8", "surrogateescape")


_LENGTH: Final = struct.Struct(">Q").pack


def links(previous: str, events: Iterable[tuple[int, Any, Any, Any, Any]]) -> list[str]:
    """The links of consecutive stored events ``(position, originator_id, version, topic, state)`` after
    ``previous``: :func:`link` applied in turn, each link the previous one of the next, with the fields of a
    recorder's notification (int, UUID, int, str, bytes) encoded inline instead of through :func:`_field`."""
    seed = _seed(previous)
    links = []
    sha256 = hashlib.sha256
    for position, originator_id, version, topic, state in events:
        if (
            type(position) is int
            and type(originator_id) is uuid.UUID
            and type(version) is int
            and type(topic) is str
            and type(state) is bytes
        ):
            p = str(position).encode()
            v = str(version).encode()
            t = topic.encode("utf-8", "surrogateescape")
            digest = sha256(
                b"".join(
                    (
                        seed,
                        _LENGTH(len(p)),
                        p,
                        b"\0\0\0\0\0\0\0\x20",  # the 32 hex digits of the originator id
                        originator_id.hex.encode(),
                        _LENGTH(len(v)),
                        v,
                        _LENGTH(len(t)),
                        t,
                        _LENGTH(len(state)),
                        state,
                    )
                )
            )
        else:
            fields = (_field(position), _field(originator_id), _field(version), _field(topic), _field(state))
            digest = sha256(seed + b"".join(fields))
        seed = digest.digest()
        links.append(digest.hexdigest())
    return links
