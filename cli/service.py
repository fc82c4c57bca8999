"""``iamledger iam ...``: a command for every IAM operation the store implements, generated from botocore's model
(the single source of truth for operation and parameter names), with the aws CLI's auto-pagination."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from botocore import xform_name

from iamledger.asof import StoreAsOf, is_read_operation
from iamledger.awsmodel import operation_model, paginator_config, service_model
from iamledger.cli.arguments import ArgumentError, build_parser, parameters, summary
from iamledger.cli.group import Group
from iamledger.cli.output import check_renderable
from iamledger.cli.pagination import marker_of, paginate
from iamledger.cli.session import acting_in_account, emit, state
from iamledger.services.simulation import simulate_custom_policy
from iamledger.store import IdentityStore

if TYPE_CHECKING:
    from botocore.model import OperationModel

# Operations that need no store at all: they run even where no `iamledger init` ever happened.
STORELESS: dict[str, Callable[..., dict[str, Any]]] = {"SimulateCustomPolicy": simulate_custom_policy}


def implemented_operations(service: str) -> dict[str, str]:
    """``{"create-user": "CreateUser", ...}``: the operations of ``service`` that the store implements."""
    result = {}
    for operation in service_model(service).operation_names:
        if callable(getattr(IdentityStore, xform_name(operation), None)):
            result[xform_name(operation, "-")] = operation
    return dict(sorted(result.items()))


class ServiceGroup(Group):
    """The commands of one AWS service, made on demand from the service model."""

    def __init__(self, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return list(implemented_operations(self.service))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        operation = implemented_operations(self.service).get(cmd_name)
        if operation is None:
            return None
        return _operation_command(self.service, cmd_name, operation_model(self.service, operation))


def _operation_command(service: str, name: str, op: OperationModel) -> click.Command:
    paginated = paginator_config(service, op.name) is not None
    as_of = op.name not in STORELESS and is_read_operation(xform_name(op.name))

    def callback(args: tuple[str, ...]) -> None:
        check_renderable(state().output)  # before anything runs: a write must not happen and then fail to print
        parser = build_parser(f"iamledger {service} {name}", op, paginated=paginated)
        if as_of:
            parser.add_argument(
                "--at",
                dest="cli_at",
                metavar="WHEN",
                help="Answer as of this moment: an ISO 8601 time (2026-11-01T09:00:00Z), a date, a duration ago "
                "(90m, 7d), epoch seconds, or position:N.",
            )
        namespace = parser.parse_args(list(args))
        try:
            params = parameters(op, namespace)
        except (ArgumentError, OSError) as error:
            parser.error(str(error))
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
