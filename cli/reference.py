"""The generated reference pages of the documentation: ``python -m iamledger.cli.reference iam|sts|cli|events``.

* ``iam``/``sts``: every generated ``iamledger iam``/``sts`` command with its options (``docs/iam-commands.md``,
  ``docs/sts-commands.md``);
* ``cli``: the help of every other command, exactly as ``--help`` prints it (``docs/cli-reference.md``);
* ``events``: the event catalogue, every stored event class with its fields (``docs/events.md``).

``tests/test_docs.py`` checks that each page equals what this prints, so the pages never drift from the code.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
from typing import Final

import click
from eventsourcing.domain import AggregateCreated, DomainEvent

from iamledger.awsmodel import operation_model, paginator_config
from iamledger.cli.arguments import HIDDEN_PAGING_MEMBERS, option_name, summary
from iamledger.cli.service import implemented_operations
from iamledger.projections.trail.event_names import EVENT_NAMES, PER_KIND


def render(service: str) -> str:
    """Markdown: every implemented command of ``service`` with its options (required ones in bold)."""
    lines = [
        f"# `iamledger {service}` commands",
        "",
        f"Generated from botocore's model of {service.upper()} (`python -m iamledger.cli.reference {service}`): one",
        "command per operation the store implements, with the aws CLI's options. Global options (`--db`, `--output`,",
        "`--account-id`) may come before or after the command. Paginated commands take `--max-items`,",
        "`--starting-token`, `--page-size` and `--no-paginate`, as the aws CLI's. Every command also takes",
        "`--cli-input-json`, `--cli-input-yaml` and `--generate-cli-skeleton`, and prints its whole help, laid out as",
        f"the aws CLI's, with `iamledger {service} COMMAND help` (see [the command line](cli.md#iamledger-iam)).",
        "",
    ]
    for command, operation in implemented_operations(service).items():
        op = operation_model(service, operation)
        paginated = paginator_config(service, operation) is not None
        shape = op.input_shape
        members = [] if shape is None else [m for m in shape.members if not (paginated and m in HIDDEN_PAGING_MEMBERS)]
        required = set() if shape is None else set(shape.required_members)
        options = ", ".join(f"**`{option_name(m)}`**" if m in required else f"`{option_name(m)}`" for m in members)
        lines += [f"### `iamledger {service} {command}`", "", summary(op), ""]
        if options:
            lines += [f"Options: {options}.", ""]
    return "\n".join(lines).rstrip() + "\n"


# The width help is rendered at, so the page does not depend on the terminal that generated it.
HELP_WIDTH: Final = 100
# Groups whose commands have pages of their own (generated from botocore's model, above).
GENERATED_GROUPS: Final = frozenset({"iam", "sts"})


def _help_pages(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    pages = [(path, command.get_help(ctx))]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            if not path and name in GENERATED_GROUPS:
                continue
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sub_ctx = click.Context(sub, info_name=name, parent=ctx)
                pages.extend(_help_pages(sub, sub_ctx, (*path, name)))
    return pages


def render_cli() -> str:
    """Markdown: the ``--help`` of ``iamledger`` and of every command but the generated ``iam``/``sts`` ones."""
    from iamledger.cli.main import cli

    root = click.Context(
        cli, info_name="iamledger", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH, **cli.context_settings
    )
    lines = [
        "# CLI reference",
        "",
        "Generated from the commands' own help (`python -m iamledger.cli.reference cli`): what `--help` prints for",
        "`iamledger` and each of its commands. The `iamledger iam` and `iamledger sts` commands, one per AWS",
        "operation, are listed in [iam-commands.md](iam-commands.md) and [sts-commands.md](sts-commands.md);",
        "[cli.md](cli.md) explains the commands with examples.",
        "",
    ]
    for path, text in _help_pages(cli, root, ()):
        lines += [f"## `{' '.join(('iamledger', *path))}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


# Fields every event has: eventsourcing's envelope and the audit fields of AuditedAggregate.Event.
ENVELOPE_FIELDS: Final = ("originator_id", "originator_version", "timestamp")
AUDIT_FIELDS: Final = ("actor", "access_key_id", "source_ip", "user_agent", "request_id")


def _stored_events(aggregate: type) -> list[type[DomainEvent]]:
    """The event classes of ``aggregate`` that it records: its nested events, less the bases eventsourcing
    declares for every aggregate (``Event``, and ``Created`` where another event creates the aggregate)."""
    events = [
        value
        for name, value in vars(aggregate).items()
        if inspect.isclass(value) and issubclass(value, DomainEvent) and name != "Event"
    ]
    creators = [e for e in events if issubclass(e, AggregateCreated) and e.__name__ != "Created"]
    return [e for e in events if not (creators and e.__name__ == "Created")]


# Bases that declare shared events but are never stored themselves.
ABSTRACT_AGGREGATES: Final = frozenset({"AuditedAggregate", "PermissionsHolder"})


def _aggregates() -> list[type]:
    import iamledger.domain

    found: list[type] = []
    for info in sorted(pkgutil.iter_modules(iamledger.domain.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"iamledger.domain.{info.name}")
        found.extend(
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and value.__module__ == module.__name__
            and hasattr(value, "_create")
            and value.__name__ not in ABSTRACT_AGGREGATES
        )
    return found


# Events no single API operation records, and what does.
RECORDED_BY: Final = {
    "AccountRegistry.Created": "`iamledger init` (the store's registry of accounts)",
    "Account.RootAccessKeyUsed": "a request signed with the root access key (at most once an hour per key)",
    "User.AccessKeyUsed": "a request signed with the access key (at most once an hour per key)",
    "NameIndex.Created": "any Create* operation: the name claimed for the new entity (names are unique per kind)",
    "NameIndex.Claimed": "a Create* or rename of an entity whose name was used before",
    "NameIndex.Released": "a Delete* or rename: the name is free again",
    "ManagedPolicy.Attached": "`Attach{User,Group,Role}Policy` or a boundary (the policy's side)",
    "ManagedPolicy.Detached": "`Detach{User,Group,Role}Policy` (the policy's side)",
    "SecurityIncident.Recorded": "a refused sign-in, credential or signature; a denied or failed request",
}


def _recorded_by(event: type) -> str:
    qualname = event.__qualname__
    if qualname in RECORDED_BY:
        return RECORDED_BY[qualname]
    operation = EVENT_NAMES.get(qualname)
    kind, _, name = qualname.partition(".")
    if operation is None and name in PER_KIND:
        operation = PER_KIND[name].format(kind)
    return f"`{operation}`" if operation else (_event_doc(event) or "(internal)")


def _type_name(annotation: object) -> str:
    return annotation if isinstance(annotation, str) else str(getattr(annotation, "__name__", annotation))


# A Sphinx cross-reference in a docstring (:class:`~a.b.C`), which Markdown would print as it is.
_SPHINX_ROLE: Final = re.compile(r":(?:py:)?[a-z]+:`(?P<tilde>~?)(?P<title>[^`<]+?)(?:\s*<[^`>]+>)?`")


def _markdown(doc: str) -> str:
    """A docstring's text as one Markdown line, its Sphinx roles as code, titled as Sphinx titles them
    (``:class:`~a.B``` is `` `B` ``, ``:class:`a.B``` is `` `a.B` ``)."""

    def code(match: re.Match[str]) -> str:
        title = match["title"].rsplit(".", 1)[-1] if match["tilde"] else match["title"]
        return f"`{title}`"

    return _SPHINX_ROLE.sub(code, " ".join(doc.split()))


def _event_doc(event: type) -> str:
    doc = inspect.getdoc(event) or ""
    # dataclasses write a signature as the docstring of a class that has none: not a description.
    return "" if doc.startswith(f"{event.__name__}(") else _markdown(doc)


def render_events() -> str:
    """Markdown: every event class the store records, per aggregate, with its topic and payload fields."""
    lines = [
        "# Event catalogue",
        "",
        "Generated from the domain's classes (`python -m iamledger.cli.reference events`): every event the store",
        "records, per aggregate. An event is stored under its *topic* (`module:Class.Event`), which is how it is",
        "decoded again; renaming a class or a field is a change of the stored schema.",
        "",
        "Every event has eventsourcing's envelope, "
        + ", ".join(f"`{f}`" for f in ENVELOPE_FIELDS)
        + " (UTC), and the audit fields "
        + ", ".join(f"`{f}`" for f in AUDIT_FIELDS)
        + ", taken from the request that caused it (see [audit.md](audit.md)). The tables list the other fields.",
        "Secrets never appear in events: passwords, secret access keys and session tokens are kept only in the",
        "vault ([secrets.md](secrets.md)).",
        "",
    ]
    for aggregate in _aggregates():
        summary_line = _markdown((inspect.getdoc(aggregate) or "").split("\n\n")[0])
        lines += [f"## `{aggregate.__name__}`", "", f"{summary_line} Module `{aggregate.__module__}`.", ""]
        lines += ["| event | recorded by | fields |", "|---|---|---|"]
        for event in _stored_events(aggregate):
            fields = [
                f"`{field.name}`: `{_type_name(field.type)}`"
                for field in dataclasses.fields(event)
                if field.name not in ENVELOPE_FIELDS and field.name not in AUDIT_FIELDS
            ]
            recorded_by = _recorded_by(event).replace("|", "\\|")
            lines.append(f"| `{event.__qualname__}` | {recorded_by} | {'<br>'.join(fields) or '(none)'} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


RENDERERS: Final = {"cli": render_cli, "events": render_events}


if __name__ == "__main__":
    page = sys.argv[1] if len(sys.argv) > 1 else "iam"
    sys.stdout.write(RENDERERS[page]() if page in RENDERERS else render(page))
