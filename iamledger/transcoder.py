"""The events' JSON transcoder: eventsourcing's, byte for byte, with json's C encoder built once."""

from __future__ import annotations

from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any, Final

from eventsourcing.persistence import JSONTranscoder

_NO_SORT_NO_SKIP_NAN: Final = (False, False, True)


class OneShotJSONTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder, byte for byte, with json's C encoder built once instead of on every
    ``encode`` (``json.JSONEncoder.encode`` builds it per call, a sizeable share of encoding a small event). Stored
    events never hold reference cycles, so the encoder does not look for them."""

    def __init__(self) -> None:
        super().__init__()
        make: Any = getattr(json_encoder, "c_make_encoder", None)
        self._encode_once: Callable[[Any, int], Any] | None = (
            None
            if make is None
            # c_make_encoder(markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
            # allow_nan), what JSONEncoder(separators=(",", ":"), ensure_ascii=False) passes, without the markers
            else make(None, self._encode_obj, json_encoder.encode_basestring, None, ":", ",", *_NO_SORT_NO_SKIP_NAN)
        )

    def encode(self, obj: Any) -> bytes:
        encode_once = self._encode_once
        if encode_once is None:  # pragma: no cover - CPython has the C encoder
            return super().encode(obj)
        return "".join(encode_once(obj, 0)).encode("utf8")
