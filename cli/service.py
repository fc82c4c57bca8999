"""``iamledger iam ...``: a command for every IAM operation the store implements, generated from botocore's model
(the single source of truth for operation and parameter names), with the aws CLI's auto-pagination."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import click

from iamledger.cli.group import Group
from iamledger.cli.pagination import marker_of, paginate
from iamledger.cli.service_operations import IMPLEMENTED

if TYPE_CHECKING:
    from botocore.model import OperationModel

# This module is imported to list and complete the commands (`iamledger iam --help`, shell completion): it imports
# neither the store nor botocore until a command is built or run.


def _simulate_custom_policy(**params: Any) -> dict[str, Any]:
    from iamledger.services.simulation import simulate_custom_policy

    return simulate_custom_policy(**params)


# Operations that need no store at all: they run even where no `iamledger init` ever happened.
STORELESS: dict[str, Callable[..., dict[str, Any]]] = {"SimulateCustomPolicy": _simulate_custom_policy}


def implemented_operations(service: str) -> dict[str, str]:
    """``{"create-user": "CreateUser", ...}``: the operations of ``service`` that the store implements, found in the
    store itself (:data:`~iamledger.cli.service_operations.IMPLEMENTED` is the same, written out)."""
    from botocore import xform_name

    from iamledger.awsmodel import service_model
    from iamledger.store import IdentityStore

    result = {}
    for operation in service_model(service).operation_names:
        if callable(getattr(IdentityStore, xform_name(operation), None)):
            result[xform_name(operation, "-")] = operation
    return dict(sorted(result.items()))


class ServiceGroup(Group):
    """The commands of one AWS service, made on demand from the service model."""

    argparse_commands = True

    def __init__(self, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return list(IMPLEMENTED[self.service])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        if cmd_name == "help":  # `iamledger iam help`, as `aws iam help`
            return _service_help_command(self.service)
        # An operation the store has gained since IMPLEMENTED was written still runs (the store is asked).
        operation = IMPLEMENTED[self.service].get(cmd_name) or implemented_operations(self.service).get(cmd_name)
        if operation is None:
            return None
        from iamledger.awsmodel import operation_model

        return _operation_command(self.service, cmd_name, operation_model(self.service, operation))


def _service_help_command(service: str) -> click.Command:
    def show() -> None:
        from iamledger.awsmodel import service_model
        from iamledger.cli.helppage import service_help

        click.echo(service_help(service_model(service), list(IMPLEMENTED[service])), nl=False)

    return click.Command("help", callback=show, help=f"The {service} commands, as `aws {service} help` lists them.")


def _operation_command(service: str, name: str, op: OperationModel) -> click.Command:
    from iamledger.awsmodel import paginator_config
    from iamledger.cli.arguments import summary

    paginated = paginator_config(service, op.name) is not None

    def callback(args: tuple[str, ...]) -> None:
        from botocore import xform_name

        from iamledger.asof import StoreAsOf, is_read_operation
        from iamledger.cli.arguments import build_parser
        from iamledger.cli.output import check_renderable
        from iamledger.cli.session import acting_in_account, emit, state

        check_renderable(state().output)  # before anything runs: a write must not happen and then fail to print
        as_of = op.name not in STORELESS and is_read_operation(xform_name(op.name))
        parser = build_parser(f"iamledger {service} {name}", op, paginated=paginated)
        if as_of:
            parser.add_argument(
                "--at",
                dest="cli_at",
                metavar="WHEN",
                help="Answer as of this moment: an ISO 8601 time (2026-11-01T09:00:00Z), a date, a duration ago "
                "(90m, 7d), epoch seconds, or position:N.",
            )
        from iamledger.cli import cli_input

        cli_input.add_input_options(parser)
        if cli_input.wants_help(parser, args):
            from iamledger.cli.helppage import operation_help

            click.echo(operation_help(name, op, parser, paginated=paginated), nl=False)
            return
        cli_input.relax_required(parser, args)
        namespace = parser.parse_args(list(args))
        if namespace.cli_skeleton in {"input", "yaml-input"}:  # printed as is, whatever --output says (as aws)
            click.echo(cli_input.input_skeleton_text(op, namespace.cli_skeleton), nl=False)
            return
        params = cli_input.operation_parameters(parser, op, namespace, paginated=paginated)
        if namespace.cli_skeleton == "output":  # the input checked out: a sample of the output, as --output says
            emit(cli_input.skeleton(op.output_shape, member_names=True) or None, title=op.name)
            return
        from iamledger.logconfig import get_logger

        # The names only: a value may be a secret (create-login-profile --password).
        get_logger(__name__).debug("calling_operation", operation=op.name, parameters=sorted(params))
        storeless = STORELESS.get(op.name)
        pages: list[dict[str, Any]] = []
        if storeless is not None:
            result = _call(service, op, storeless, params, namespace, pages, paginated=paginated)
        else:
            with acting_in_account() as (store, _):
                when = getattr(namespace, "cli_at", None)
                source: Any = store if when is None else store.at(when)
                method = getattr(source, xform_name(op.name))
                result = _call(service, op, method, params, namespace, pages, paginated=paginated)
                if isinstance(source, StoreAsOf):
                    click.echo(f"As of position {source.position} ({source.time.isoformat()})", err=True)
        emit(result or None, title=op.name, pages=pages or None)

    return click.Command(
        name,
        callback=callback,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=summary(op),
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
        add_help_option=False,
    )


def _call(
    service: str,
    op: OperationModel,
    method: Any,
    params: dict[str, Any],
    ns: Any,
    pages: list[dict[str, Any]],
    *,
    paginated: bool,
) -> Any:
    if paginated and not ns.cli_no_paginate:
        return _paginate(service, op, method, params, ns, pages)
    return method(**params)


def _decode_token(token: str) -> tuple[str | None, int]:
    try:
        data = json.loads(base64.b64decode(token.encode()))
        return data.get("Marker"), int(data.get("boto_truncate_amount", 0))
    except (binascii.Error, ValueError, AttributeError, TypeError):
        raise click.UsageError(f"Invalid --starting-token: {token}") from None


def _encode_token(marker: str | None, skip: int) -> str:
    # As botocore's paginator: the service's marker always (null before the first page), then the items to skip.
    data: dict[str, Any] = {"Marker": marker}
    if skip:
        data["boto_truncate_amount"] = skip
    return base64.b64encode(json.dumps(data).encode()).decode()


def _paginate(
    service: str, op: OperationModel, method: Any, params: dict[str, Any], ns: Any, pages: list[dict[str, Any]]
) -> dict[str, Any]:
    """Call ``method`` page after page and merge the pages, as the aws CLI does; ``--max-items`` cuts the result
    and gives a ``NextToken`` to resume from. Each page's share of the result goes to ``pages`` too, for the
    ``text`` output, which the aws CLI prints page by page."""
    from iamledger.awsmodel import paginator_config

    config = paginator_config(service, op.name) or {}
    keys = config["result_key"] if isinstance(config["result_key"], list) else [config["result_key"]]
    marker, skip = _decode_token(ns.cli_starting_token) if ns.cli_starting_token else (None, 0)

    def fetch(marker: str | None, wanted: int | None) -> dict[str, Any]:
        del wanted  # as the aws CLI: pages of --page-size items, the last one cut
        call = dict(params)
        if marker:
            call["Marker"] = marker
        if ns.cli_page_size:
            call["MaxItems"] = ns.cli_page_size
        result: dict[str, Any] = method(**call)
        return result

    found = paginate(fetch, keys, marker_of, max_items=ns.cli_max_items, marker=marker, skip=skip)
    pages.extend(found.shares)
    merged: dict[str, Any] = dict(found.items)
    if found.resume is not None:
        merged["NextToken"] = _encode_token(*found.resume)
    return _with_other_keys(merged, dict(found.responses[-1]), keys)


def _with_other_keys(merged: dict[str, Any], last: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    # In botocore's order: the result keys, the other members (GetGroup's Group), then the NextToken.
    others = {k: v for k, v in last.items() if k not in keys and k not in {"IsTruncated", "Marker"}}
    token = merged.pop("NextToken", None)
    return {**merged, **others, **({"NextToken": token} if token is not None else {})}


def service_group(service: str, help_text: str) -> ServiceGroup:
    """The click group of ``service``'s commands."""
    return ServiceGroup(service, name=service, help=help_text)


iam_group: Final = service_group("iam", "AWS IAM operations: users, groups, roles, policies, ...")
sts_group: Final = service_group("sts", "AWS STS operations: temporary credentials, role assumption, caller identity.")
