"""Auto-pagination, as the aws CLI does it: an operation called page after page, the pages merged, and with a
maximum number of items (``--max-items``) the result cut and where to resume from. The commands generated from
botocore's model (``Marker`` pages), ``audit lookup-events`` (``NextToken`` pages) and ``export`` use it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Pages:
    """The merged result of :func:`paginate`."""

    items: dict[str, list[Any]] = field(default_factory=dict)
    """Each result key's items, every page's merged (every key present, in the order given)."""
    shares: list[dict[str, list[Any]]] = field(default_factory=list)
    """Each page's share of ``items`` (the aws CLI's ``text`` output prints page by page)."""
    responses: list[Mapping[str, Any]] = field(default_factory=list)
    """The responses, in the order they came."""
    resume: tuple[str | None, int] | None = None
    """Where a result cut by ``max_items`` resumes: the marker that fetches the page to read again (``None``: the
    first page) and how many of its items were given already; ``None`` when the result is complete."""


def marker_of(response: Mapping[str, Any]) -> str | None:
    """The ``Marker`` of the next page of an IAM response, ``None`` after the last (``IsTruncated`` false)."""
    marker: str | None = response.get("Marker") if response.get("IsTruncated") else None
    return marker


def paginate(
    fetch: Callable[[str | None, int | None], Mapping[str, Any]],
    keys: Sequence[str],
    next_marker: Callable[[Mapping[str, Any]], str | None],
    *,
    max_items: int | None = None,
    marker: str | None = None,
    skip: int = 0,
) -> Pages:
    """Call ``fetch(marker, wanted)`` page after page, from ``marker`` (``None``: the first page), ``wanted`` being
    how many items are still wanted (``None``: all of them); ``next_marker`` reads the marker of the next page from
    a response, ``None`` after the last. The first ``skip`` items of the first page are left out (given before).
    With ``max_items``, the result stops there: in the middle of a page, or at the end of the page that reaches it
    (and ``resume`` says where to go on)."""
    pages = Pages()
    total = 0
    while True:
        response = fetch(marker, None if max_items is None else max_items - total)
        pages.responses.append(response)
        share: dict[str, list[Any]] = {}
        pages.shares.append(share)
        for key in keys:
            items = list(response.get(key, []))[skip:]
            if max_items is not None and len(items) > max_items - total:
                room = max_items - total
                share[key] = items[:room]
                pages.items.setdefault(key, []).extend(items[:room])
                pages.resume = (marker, skip + room)
                return pages
            share[key] = items
            pages.items.setdefault(key, []).extend(items)
            total += len(items)
        skip = 0
        following = next_marker(response)
        if following is None:
            return pages
        marker = following
        if max_items is not None and total >= max_items:
            pages.resume = (marker, 0)
            return pages
