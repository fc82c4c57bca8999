"""A griffe extension for the documentation site: Sphinx cross-reference roles in docstrings become links.

The code's docstrings cross-reference in Sphinx's syntax (:meth:`open`, :class:`~iamledger.kernel.StoreKernel`),
which reads well in ``help()`` and editors but which mkdocstrings does not render: the page would show the role as
literal text. This extension rewrites each role, once the package is loaded, into an optional autorefs link: the
name is resolved in the scope of the object that holds the docstring, as Sphinx resolves it, and the link points at
that object where the site documents it; where it does not, the name is shown as code, without a broken link.
``mkdocs.yml`` loads it for the mkdocstrings handler (``extensions``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any, Final

from griffe import Extension, GriffeLoader, Module, NameResolutionError, Object

# :meth:`name`, :class:`~a.b.C`, :meth:`Title <a.b.C.m>`, with the optional ``py:`` domain.
ROLE: Final = re.compile(
    r":(?:py:)?(?P<role>meth|func|class|attr|data|mod|exc|obj|const):`(?P<tilde>~?)(?P<target>[^`<]+?)"
    r"(?:\s*<(?P<explicit>[^>`]+)>)?`"
)
CALLABLE_ROLES: Final = frozenset({"meth", "func"})


def _resolve(obj: Object, target: str) -> str | None:
    """The full path of ``target`` as seen from ``obj``, or ``None`` when it names nothing griffe knows."""
    if target.startswith("iamledger."):
        return target
    head, _, rest = target.partition(".")
    try:
        path = obj.resolve(head)
    except NameResolutionError:
        return None
    return f"{path}.{rest}" if rest else path


def rewrite(obj: Object, text: str) -> str:
    """``text`` with every Sphinx role replaced by an optional autorefs link (code text where nothing resolves)."""

    def replace(match: re.Match[str]) -> str:
        target = (match["explicit"] or match["target"]).strip()
        if match["explicit"]:
            title = match["target"].strip()
        else:
            title = target.rsplit(".", 1)[-1] if match["tilde"] else target
            if match["role"] in CALLABLE_ROLES:
                title += "()"
        code = f"`{title}`"
        path = _resolve(obj, target.removeprefix("~"))
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return ROLE.sub(replace, text)


def _objects(obj: Object) -> Iterator[Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


class SphinxRoles(Extension):
    """Rewrite the Sphinx roles of every docstring in a loaded package (see the module's docstring)."""

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        del loader, kwargs
        for obj in _objects(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
